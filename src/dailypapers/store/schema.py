"""Tables. Alembic migrations in dailypapers/migrations create them; this is their single description."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UtcDateTime = DateTime(timezone=True)

papers = Table(
    "papers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("arxiv_id", String(64), nullable=False, unique=True),
    Column("version", Integer, nullable=False, default=0),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("authors", JSON, nullable=False),  # ordered list of names
    Column("categories", JSON),  # ordered list, primary first
    Column("primary_category", String(64)),
    Column("published_at", UtcDateTime),
    Column("updated_at", UtcDateTime),
    Column("comment", Text),
    Column("doi", String(255)),
    Column("journal_ref", Text),
    Column("github_repo", String(500)),
    Column("github_stars", Integer),
    Column("project_page", String(500)),
    Column("organization", String(255)),
    Column("ai_summary", Text),
    Column("ai_keywords", JSON),
    Column("withdrawn_at", UtcDateTime),
    Column("source", String(500)),
    # Upvotes: those imported from Hugging Face (no voter known) plus our own rows in `upvotes`.
    Column("imported_upvotes", Integer, nullable=False, default=0),
    Column("upvotes", Integer, nullable=False, default=0),
    Column("num_comments", Integer, nullable=False, default=0),
    Column("trend_key", Float),  # see dailypapers.trending
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Index("ix_papers_trend_key", "trend_key"),
    Index("ix_papers_published_at", "published_at"),
    Index("ix_papers_modified_at", "modified_at"),  # incremental search indexing reads by it
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("fullname", String(255)),
    Column("email", String(320), unique=True),
    Column("avatar_url", String(500)),
    Column("type", String(16), nullable=False, default="user"),
    Column("origin", String(16), nullable=False, default="local"),  # "local" or "hf" (an imported name)
    Column("created_at", UtcDateTime, nullable=False),
)

feed_entries = Table(
    "feed_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("submitted_by_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("comment", Text),
    Column("removed_at", UtcDateTime),
    UniqueConstraint("paper_id", "day", name="uq_feed_entries_paper_day"),
    Index("ix_feed_entries_day", "day"),
    Index("ix_feed_entries_submitted_by_id", "submitted_by_id"),
)

upvotes = Table(
    "upvotes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_upvotes_paper_id", "paper_id"),
)

paper_versions = Table(
    "paper_versions",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),  # when we first saw this version
    Column("created_at", UtcDateTime),  # when arXiv says it was submitted, where a source tells
)

# Ingestion (dailypapers.ingest): one row per run of a source, and the position of unfinished harvests.
ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("harvest_key", String(200), nullable=False),
    Column("args", JSON, nullable=False),
    Column("worker", String(255)),  # host:pid, to tell a live run from one that was killed
    Column("status", String(16), nullable=False),  # running, ok, failed, interrupted
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("pages", Integer, nullable=False, default=0),
    Column("fetched", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("skipped_reasons", JSON),  # {reason: count}
    Column("errors", JSON),  # the first few messages
    Column("resumed_from", JSON),  # the checkpoint this run started from
    Index("ix_ingest_runs_started_at", "started_at"),
    Index("ix_ingest_runs_harvest_key", "harvest_key"),
)

# Written in the same transaction as the papers of the page it follows: a harvest killed at any moment
# resumes from the last page that landed. Deleted when the harvest completes.
ingest_checkpoints = Table(
    "ingest_checkpoints",
    metadata,
    Column("harvest_key", String(200), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("args", JSON, nullable=False),
    Column("position", JSON, nullable=False),
    Column("run_id", Integer),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Search (dailypapers.search). Embeddings are the source of truth for semantic search; the vector index on
# disk is derived from them. `id` only grows (AUTOINCREMENT on SQLite too), so an index file records the
# highest id it holds and catches up with `id > watermark`.
embeddings = Table(
    "embeddings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("model", String(255), nullable=False),
    Column("vector", LargeBinary, nullable=False),  # little-endian float16, L2-normalized
    Column("text_hash", String(32), nullable=False),  # of the embedded text: a changed abstract re-embeds
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("model", "paper_id", name="uq_embeddings_model_paper_id"),
    Index("ix_embeddings_paper_id", "paper_id"),
    sqlite_autoincrement=True,
)

search_state = Table(
    "search_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
