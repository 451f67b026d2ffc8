"""Importing papers from files: our JSONL corpus, the Kaggle arXiv snapshot, saved Hugging Face responses."""
