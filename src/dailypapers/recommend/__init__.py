"""For you: a personal ranking of new papers from a reader's likes and dislikes (docs/foryou.md).

Pure: numbers and text in, ranked indices with reasons out; no database, no web framework, no clock.
"""
