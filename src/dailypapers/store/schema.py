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
    Column("seen_at", UtcDateTime, nullable=False),
)
