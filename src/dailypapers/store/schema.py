"""Tables. Alembic migrations in dailypapers/migrations create them; this is their single description."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
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
    func,
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
    Column("organization_key", String(255)),  # dailypapers.names.key(organization), kept by SqlStore.upsert
    Column("ai_summary", Text),
    Column("ai_keywords", JSON),
    Column("withdrawn_at", UtcDateTime),
    Column("source", String(500)),
    # Upvotes: those imported from Hugging Face (no voter known) plus our own rows in `upvotes`.
    Column("imported_upvotes", Integer, nullable=False, default=0),
    Column("upvotes", Integer, nullable=False, default=0),
    Column("num_comments", Integer, nullable=False, default=0),  # our own comments that anyone can see
    # Comments on Hugging Face's page of the paper, as imported: their own number, never mixed with ours.
    Column("hf_comments", Integer, nullable=False, default=0),
    # Whether one of the paper's authors comments on it (dailypapers.community), kept with num_comments.
    Column("author_participating", Boolean, nullable=False, default=False),
    Column("trend_key", Float),  # see dailypapers.trending
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Index("ix_papers_trend_key", "trend_key"),
    Index("ix_papers_published_at", "published_at"),
    Index("ix_papers_modified_at", "modified_at"),  # incremental search indexing reads by it
    # Covering: the list of organizations (key, spelling, count) reads the index alone.
    Index("ix_papers_organization_key", "organization_key", "organization"),
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
    # Accounts (dailypapers.accounts): only local users have a password; imported names never sign in.
    Column("password_hash", String(255)),
    Column("email_verified_at", UtcDateTime),
    Column("role", String(16), nullable=False, default="user", server_default="user"),
    Column("suspended_at", UtcDateTime),
    Column("password_changed_at", UtcDateTime),
)
# One local account per name whatever its case ("Alice" and "alice" are the same person to readers).
Index(
    "ix_users_local_username_lower",
    func.lower(users.c.username),
    unique=True,
    sqlite_where=users.c.origin == "local",
    postgresql_where=users.c.origin == "local",
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


# Accounts (dailypapers.accounts, dailypapers.web.auth). Secrets are stored as SHA-256 hashes only.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_sessions_user_id", "user_id"),
    Index("ix_sessions_expires_at", "expires_at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # the first characters, so its owner can tell tokens apart
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("expires_at", UtcDateTime, nullable=False),  # every token expires: a forgotten one stops working
    Index("ix_api_tokens_user_id", "user_id"),
)

# Single-purpose, single-use links sent by mail: "verify" an address, "reset" a password.
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("email", String(320), nullable=False),  # the address it was sent to (verify confirms that one)
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_account_tokens_user_id", "user_id"),
)

# Fixed-window counters shared by every web process: (bucket, key) -> hits in the window starting at
# `window_start` (seconds since the epoch). Keys are hashed: no addresses stored in the clear.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("bucket", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("window_start", Integer, nullable=False),
    Column("hits", Integer, nullable=False),
    Index("ix_rate_limits_window_start", "window_start"),
)

# Digests (dailypapers.digests, docs/digests.md). A subscription is an address with its preferences; `key` is
# a random secret that signed links carry (never the address or the id), replaced to revoke every old link.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # lower-cased
    Column("key", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # pending, active, unsubscribed, suppressed
    Column("frequency", String(8), nullable=False),  # daily (weekdays) or weekly
    Column("max_papers", Integer, nullable=False, default=5),
    Column("categories", JSON, nullable=False),  # arXiv categories
    Column("searches", JSON, nullable=False),  # [{"q": ..., "mode": "keyword" | "semantic"}]
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("bounces", Integer, nullable=False, default=0),  # hard bounces in a row
    Column("created_at", UtcDateTime, nullable=False),
    Column("confirm_sent_at", UtcDateTime),
    Column("confirmed_at", UtcDateTime),
    Column("unsubscribed_at", UtcDateTime),
    Column("last_sent_at", UtcDateTime),
    Index("ix_subscriptions_status_frequency", "status", "frequency"),
)

# One row per scheduled digest (frequency + period): re-running the same command finds it again.
digest_runs = Table(
    "digest_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("frequency", String(8), nullable=False),
    Column("period_key", String(32), nullable=False),  # 2026-11-27 or 2026-W48
    Column("status", String(16), nullable=False),  # running, finished
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("subscribers", Integer, nullable=False, default=0),
    Column("suppressed", Integer, nullable=False, default=0),  # suppressed addresses left out at the start
    UniqueConstraint("frequency", "period_key", name="uq_digest_runs_frequency_period"),
)

# One row per (run, subscriber): pending -> sending -> sent | failed | empty, or retry (a 4xx) -> sending.
digest_deliveries = Table(
    "digest_deliveries",
    metadata,
    Column("run_id", Integer, ForeignKey("digest_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("subscription_id", Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime),
    Column("claimed_by", String(255)),  # host:pid of the sender holding it
    Column("claimed_at", UtcDateTime),
    Column("sent_at", UtcDateTime),
    Column("code", Integer),  # the last SMTP reply code of a failure
    Column("error", Text),
    Index("ix_digest_deliveries_run_id_state", "run_id", "state"),
)

# Semantic saved searches, embedded once per (model, query): a digest run scores the period's papers against
# these without loading the embedding model.
digest_query_vectors = Table(
    "digest_query_vectors",
    metadata,
    Column("model", String(255), primary_key=True),
    Column("query", String(255), primary_key=True),
    Column("vector", LargeBinary, nullable=False),  # little-endian float16, L2-normalized
    Column("created_at", UtcDateTime, nullable=False),
)

# Every paper a subscriber has received in a digest: none is ever sent to them twice.
digest_received = Table(
    "digest_received",
    metadata,
    Column("subscription_id", Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("run_id", Integer, nullable=False),
)


# Community (dailypapers.store.community): comments with one level of replies, and the moderation log.
# Submissions are `feed_entries` rows with a `submitted_by_id`; upvotes are the `upvotes` table above.
comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # Replies hang off a top-level comment (never off a reply): one level, as on Hugging Face.
    Column("parent_id", Integer, ForeignKey("comments.id", ondelete="CASCADE")),
    Column("body", Text, nullable=False),  # the Markdown as written; emptied when its author deletes it
    Column("html", Text, nullable=False),  # rendered and sanitized once, when written
    Column("created_at", UtcDateTime, nullable=False),
    Column("edited_at", UtcDateTime),
    Column("deleted_at", UtcDateTime),  # by its author: the text is gone, the replies stay
    Column("hidden_at", UtcDateTime),  # by a moderator: kept, shown to moderators only
    Column("hidden_by_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Index("ix_comments_paper_id_id", "paper_id", "id"),
    Index("ix_comments_parent_id", "parent_id"),
    Index("ix_comments_user_id", "user_id"),
)

# Every moderation action. Plain ids, no foreign keys: the log outlives what it names.
moderation_log = Table(
    "moderation_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("moderator_id", Integer),
    Column("moderator", String(64), nullable=False),  # the moderator's username at the time
    Column("action", String(32), nullable=False),  # hide_comment, unhide_comment, remove_entry, ...
    Column("target_type", String(16), nullable=False),  # comment, feed_entry, user
    Column("target_id", Integer, nullable=False),
    Column("paper_id", Integer),
    Column("subject_user_id", Integer),  # whose comment, submission or account
    Column("reason", Text),
    Column("details", JSON),
    Index("ix_moderation_log_at", "at"),
)

# Background jobs (dailypapers.store.jobs): work a web request asks for but must not wait on, such as fetching
# a submitted paper from arXiv. Claimed with a lease, so any process (a web node, a worker) may run them and a
# job whose runner died is taken over when its lease ends.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),  # who asked: they may watch it
    Column("status", String(16), nullable=False),  # queued, running, done, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("run_after", UtcDateTime, nullable=False),
    Column("claimed_by", String(255)),
    Column("claimed_until", UtcDateTime),
    Column("result", JSON),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Index("ix_jobs_status_run_after", "status", "run_after"),
    Index("ix_jobs_user_id", "user_id"),
)

# Several workers, possibly on several machines (dailypapers.store.leases): the one that holds the "scheduler"
# lease runs the schedule; each scheduled run is claimed once by (job, slot), so a handover never runs a slot
# twice. Times are seconds since the epoch by the database's clock (PostgreSQL)
# or this machine's (SQLite, which one machine serves).
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("expires_at", Float, nullable=False),
)

schedule_runs = Table(
    "schedule_runs",
    metadata,
    Column("job", String(64), primary_key=True),
    Column("slot", String(32), primary_key=True),  # the run's planned moment, ISO 8601 UTC
    Column("holder", String(255), nullable=False),
    Column("claimed_at", Float, nullable=False),
)

# arXiv's one request every 3 s, held across every process and machine of a PostgreSQL deployment
# (dailypapers.store.pacing): the end of the last request per pacing key, by the database's clock.
pacing = Table(
    "pacing",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("last_end", Float, nullable=False),
)


# Collections (dailypapers.curation, dailypapers.store.collections): ordered papers with notes that a reader
# curates, public or private, addressed by Hugging Face-style slugs `<owner>/<title words>-<public_id>`.
collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(24), nullable=False, unique=True),  # random hex: the slug's tail
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(100), nullable=False),
    Column("description", Text),
    Column("private", Boolean, nullable=False, default=False),
    Column("theme", String(16), nullable=False),
    Column("position", Integer, nullable=False, default=0),  # among its owner's collections
    Column("upvotes", Integer, nullable=False, default=0),  # rows in collection_upvotes, kept exact
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),  # Hugging Face's `lastUpdated`
    UniqueConstraint("owner_id", "title", name="uq_collections_owner_title"),
    Index("ix_collections_updated_at", "updated_at"),
    Index("ix_collections_upvotes", "upvotes"),
)

collection_items = Table(
    "collection_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),  # 0, 1, 2, ... within the collection
    Column("note", Text),  # plain text, at most 500 characters
    Column("added_at", UtcDateTime, nullable=False),
    UniqueConstraint("collection_id", "paper_id", name="uq_collection_items_collection_paper"),
    Index("ix_collection_items_paper_id", "paper_id"),
)

collection_upvotes = Table(
    "collection_upvotes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_collection_upvotes_collection_id_created_at", "collection_id", "created_at"),
)


# Authors, organizations, claims and follows (dailypapers.store.authors). `paper_authors` and
# `paper_categories` are derived from `papers.authors` / `papers.categories`, kept in the transaction that
# writes a paper (SqlStore.upsert): one row per name as arXiv writes it, with its folded key
# (dailypapers.names), so an author's papers are one index range.
paper_authors = Table(
    "paper_authors",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),  # 0-based, in the paper's order
    Column("name", Text, nullable=False),
    Column("key", String(255), nullable=False),
    Index("ix_paper_authors_key_paper_id", "key", "paper_id"),
)

paper_categories = Table(
    "paper_categories",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
    Index("ix_paper_categories_category_paper_id", "category", "paper_id"),
)

# An account says it is one of a paper's authors (the name at `position`); a moderator approves or rejects.
# A name has at most one live claim (pending or approved), and an account one per paper.
author_claims = Table(
    "author_claims",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),  # the name as the paper writes it
    Column("key", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # pending, approved, rejected
    Column("created_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime),
    Column("decided_by_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Index("ix_author_claims_paper_id", "paper_id"),
    Index("ix_author_claims_user_id", "user_id"),
    Index("ix_author_claims_status", "status"),
)
Index(
    "uq_author_claims_live_name",
    author_claims.c.paper_id,
    author_claims.c.position,
    unique=True,
    sqlite_where=author_claims.c.status != "rejected",
    postgresql_where=author_claims.c.status != "rejected",
)
Index(
    "uq_author_claims_live_user",
    author_claims.c.paper_id,
    author_claims.c.user_id,
    unique=True,
    sqlite_where=author_claims.c.status != "rejected",
    postgresql_where=author_claims.c.status != "rejected",
)

# What a reader follows: an author (by key), an organization (by key) or an arXiv category.
follows = Table(
    "follows",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # author, org, category
    Column("key", String(255), primary_key=True),
    Column("label", String(500), nullable=False),  # the name as the reader followed it
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_follows_kind_key", "kind", "key"),
)


# Key phrases (dailypapers.keyphrases): 3 to 8 phrases and the key sentence of each paper, extracted at index
# time with the embedding model named here, from the text whose hash is kept (a changed abstract redoes them).
key_phrases = Table(
    "key_phrases",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("phrases", JSON, nullable=False),  # ordered list of normalized phrases, best first
    Column("key_sentence", Text),  # a sentence of the abstract, as written (extracted, never generated)
    Column("model", String(255), nullable=False),
    Column("text_hash", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_key_phrases_created_at", "created_at"),
)


# For you (dailypapers.recommend, docs/foryou.md): a reader's named interests and their private signals.
# Every reader has one default profile (made on first use); a like in two profiles is two rows. `feed_key` is
# the random secret of the profile's personal RSS/Atom address, replaced to revoke it, NULL when none.
reader_profiles = Table(
    "reader_profiles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(60), nullable=False),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("musts", JSON, nullable=False),  # keywords a paper must mention (any of them)
    Column("excludes", JSON, nullable=False),  # keywords a paper must not mention
    Column("categories", JSON, nullable=False),  # arXiv categories; empty: all
    Column("feed_key", String(64), unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("user_id", "name", name="uq_reader_profiles_user_id_name"),
)

reader_signals = Table(
    "reader_signals",
    metadata,
    Column("profile_id", Integer, ForeignKey("reader_profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("signal", String(8), nullable=False),  # like, dislike
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_reader_signals_user_id_paper_id", "user_id", "paper_id"),
    Index("ix_reader_signals_paper_id", "paper_id"),
)
