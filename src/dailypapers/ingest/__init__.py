"""Ingestion: arXiv (search API, OAI-PMH, daily listings), Hugging Face's daily list and files as sources.

- `pages`: the Source protocol every source implements, and what a page of results is.
- `polite`: the HTTP client every source shares: pacing per host, User-Agent, retries with back-off.
- `safexml`: the one way XML is parsed (no DTDs, no entities, no network).
- `arxiv_api`, `oai`, `rss`, `hf`, `files`: the sources, each a pure parser plus a paging loop.
- `runs`: the runs log and the checkpoints, written in the same transaction as the papers.
- `harvest`: runs one source to its end (or to a clean stop), resuming from its checkpoint.
- `schedule`: when the worker runs what.
"""
