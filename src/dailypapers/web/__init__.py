"""The web application: HTML pages, their JSON twins, the Hugging Face-compatible API and feeds."""
