"""Typed settings, read from DAILYPAPERS_* environment variables and an optional TOML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import AfterValidator, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dailypapers.rates import parse_rate

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
# "COUNT/PERIOD" (10/5m): checked when settings load, so a typo fails at start-up rather than at a request.
RateLimit = Annotated[str, AfterValidator(lambda value: (parse_rate(value), value.strip())[1])]
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("dailypapers", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'dailypapers.db'}"


def config_file_path() -> Path | None:
    """The TOML file named by DAILYPAPERS_CONFIG, if any (read at settings construction, not import)."""
    import os

    value = os.environ.get("DAILYPAPERS_CONFIG")
    return Path(value) if value else None


class Settings(BaseSettings):
    """Every setting of a deployment. Each is also `DAILYPAPERS_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="DAILYPAPERS_", extra="ignore")

    environment: Literal["development", "production", "test"] = Field(
        "production",
        description="`development` allows the built-in secret key; `production` refuses it.",
    )
    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: `sqlite:///path.db` (default: in the user's data directory) "
        "or `postgresql://user@host/db`.",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000",
        description="The public URL of the site, used in feeds, links and e-mails.",
    )
    secret_key: str = Field(
        DEV_SECRET_KEY,
        description="Signs sessions and links. Must be changed outside development.",
    )
    site_name: str = Field("dailypapers", description="The name shown in page titles and feeds.")
    page_size: int = Field(50, ge=1, le=100, description="Papers per page on HTML list pages.")
    trending_half_life_hours: float = Field(
        48.0, gt=0, description="Half-life of an upvote's weight in the trending score."
    )
    trending_limit: int = Field(50, ge=1, le=100, description="Papers on the trending page and feed.")
    sqlite_busy_timeout_ms: int = Field(
        5_000,
        ge=0,
        description="How long SQLite waits for another process's lock before a write fails (503).",
    )
    sqlite_write_wait_seconds: float = Field(
        5.0,
        gt=0,
        le=600,
        description="How long a write waits behind this process's other writers before it fails (503).",
    )
    sqlite_max_waiting_writers: int = Field(
        64,
        ge=1,
        le=1000,
        description="Writes that may wait at once in one process; more fail at once (503), so the web "
        "server's threads stay free for readers.",
    )
    db_pool_size: int = Field(
        16, ge=1, description="Connections kept per web process (PostgreSQL); up to half again under load."
    )
    # Ingestion (dailypapers.ingest, docs/ingestion.md).
    arxiv_api_url: str = Field(
        "https://export.arxiv.org/api/query", description="The arXiv search API (Atom) endpoint."
    )
    arxiv_oai_url: str = Field("https://oaipmh.arxiv.org/oai", description="The arXiv OAI-PMH endpoint.")
    arxiv_rss_url: str = Field(
        "https://rss.arxiv.org", description="The arXiv daily listings: feeds are `<url>/rss/<category>`."
    )
    hf_api_url: str = Field(
        "https://huggingface.co", description="Hugging Face, for `<url>/api/daily_papers`."
    )
    arxiv_delay_seconds: float = Field(
        3.0,
        ge=0,
        description="Pause after each request to an arXiv host before the next (arXiv asks for 3 s; "
        "less is refused for arxiv.org hosts).",
    )
    hf_delay_seconds: float = Field(1.0, ge=0, description="Pause between requests to Hugging Face.")
    contact_email: str = Field(
        "", description="The deployment's contact address, sent in the User-Agent of every ingest request."
    )
    ingest_categories: str = Field(
        "",
        description="arXiv categories `ingest run` and the worker follow, comma-separated "
        "(e.g. `cs.LG,cs.CL`): their daily listings and recent submissions.",
    )
    ingest_hf: bool = Field(
        True, description="Whether `ingest run` and the worker mirror Hugging Face's daily list."
    )
    ingest_lookback_days: int = Field(
        3, ge=1, le=60, description="How many days of arXiv submissions `ingest run` asks the search API for."
    )
    ingest_max_retries: int = Field(
        5,
        ge=0,
        le=20,
        description="Retries of a failed ingest request (with exponential back-off) before the run stops.",
    )
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description="Sentence-embedding model for semantic search: `all-MiniLM-L6-v2` is the copy packaged "
        "with dailypapers (no download); any other value is a sentence-transformers name or path, fetched "
        "only when HF_HUB_OFFLINE=0 is set.",
    )
    embedding_max_tokens: int = Field(
        128, ge=16, le=8192, description="Tokens of title + abstract embedded; the rest is cut."
    )
    embedding_quantize: bool = Field(
        True,
        description="Run the embedding model with dynamic int8 quantization (several times faster on CPU).",
    )
    embedding_threads: int = Field(
        0,
        ge=0,
        le=256,
        description="CPU threads of the embedding model for batches (index build, imports, ingestion); 0: "
        "every core. A web process embeds each query on one thread (requests run side by side).",
    )
    worker_lease_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="How long the worker that runs the schedule holds it between renewals (every third of "
        "it): when it dies, another worker takes the schedule over within this plus a third.",
    )
    search_follow_seconds: float = Field(
        0.0,
        ge=0,
        le=3600,
        description="Web nodes whose search index directory is their own (several machines on one "
        "PostgreSQL): catch the keyword index up from the database every this many seconds (new papers "
        "searchable on every node within it; vectors always catch up from the embeddings table). 0: leave it "
        "to the process that writes papers, which shares the index directory on one machine.",
    )
    search_warmup: bool = Field(
        True,
        description="Load the embedding model and both search indexes, and run one query, while the web "
        "server starts, so that the first search is as quick as the rest (startup takes a few seconds more).",
    )
    background_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="How much background commands (index build, import, ingest, worker, digest send) lower "
        "their CPU priority, so that readers of a site on the same machine come first.",
    )
    embedding_inline_limit: int = Field(
        5000,
        ge=0,
        description="After an import, papers lacking embeddings are embedded at once when there are at most "
        "this many; otherwise `dailypapers index build` does it.",
    )
    # Mail (dailypapers.mail): account mail and digests.
    smtp_url: str = Field(
        "",
        description="Where mail goes: `smtp://host:25` (STARTTLS when offered), `smtp+starttls://user:pass@host:587`"
        " or `smtps://user:pass@host:465`. Empty: mail is written to `mail_dir`, or printed to the console.",
    )
    mail_from: str = Field(
        "dailypapers <noreply@localhost>", description="The From address of every mail the site sends."
    )
    mail_dir: Path | None = Field(
        None, description="Without `smtp_url`: write each outgoing mail to this directory as an .eml file."
    )
    # Digests (dailypapers.digests, docs/digests.md).
    digest_smtp_connections: int = Field(
        4, ge=1, le=10, description="SMTP connections a digest run sends over in parallel (each reused)."
    )
    digest_rate_per_second: float = Field(
        50.0, gt=0, description="Steady ceiling on digest messages handed to SMTP per second (no burst)."
    )
    digest_max_attempts: int = Field(
        4, ge=1, le=20, description="Tries of a digest answered with a 4xx before it is recorded as failed."
    )
    digest_retry_seconds: float = Field(
        60.0, ge=0, description="Wait before the first retry of a 4xx; it doubles with each further try."
    )
    digest_bounce_limit: int = Field(
        3, ge=1, description="Hard bounces (5xx) in a row after which an address is suppressed."
    )
    digest_confirm_hours: int = Field(
        48, ge=1, description="How long a confirmation link is valid; unconfirmed sign-ups are then deleted."
    )
    digest_schedule: bool = Field(
        True, description="Whether `dailypapers worker` sends the digests after the day's papers are in."
    )
    rate_limit_subscribe: RateLimit = Field(
        "10/1h", description="Digest sign-ups per client IP address (the form and the API)."
    )
    rate_limit_subscribe_address: RateLimit = Field(
        "3/1h",
        description="Digest sign-up mails to one address; beyond it requests are answered but send nothing.",
    )
    dkim_key_path: Path | None = Field(
        None, description="PEM private key to DKIM-sign digests with (unset: no signature)."
    )
    dkim_selector: str = Field(
        "dailypapers", description="The DKIM selector (`<selector>._domainkey.<domain>`)."
    )
    dkim_domain: str = Field("", description="The DKIM signing domain (default: the domain of `mail_from`).")
    index_dir: Path | None = Field(
        None,
        description="Where the derived search indexes live (rebuildable from the database). Default: next "
        "to a SQLite file (`<name>-index/`), else `<data dir>/index/<hash of the database URL>/`.",
    )
    # Accounts (dailypapers.accounts, dailypapers.web.auth).
    session_days: int = Field(
        30, ge=1, le=400, description="How long a sign-in lasts (days) before the person signs in again."
    )
    email_verification_hours: int = Field(
        48, ge=1, le=24 * 30, description="How long the link that confirms an e-mail address works (hours)."
    )
    password_reset_minutes: int = Field(
        60, ge=5, le=24 * 60, description="How long a password reset link works (minutes); it works once."
    )
    rate_limit_enabled: bool = Field(
        True, description="Enforce the rate limits below (turn off only for load tests)."
    )
    rate_limit_signup: RateLimit = Field("10/1h", description="Sign-ups per client IP address.")
    rate_limit_signin: RateLimit = Field("30/10m", description="Sign-in attempts per client IP address.")
    rate_limit_signin_account: RateLimit = Field(
        "10/10m", description="Sign-in attempts per e-mail or username typed (any case), from anywhere."
    )
    rate_limit_password_reset: RateLimit = Field(
        "10/1h", description="Password reset requests per client IP address."
    )
    rate_limit_mail: RateLimit = Field(
        "5/1h",
        description="Account mails (confirmations, resets) sent to one address, whatever asks for them.",
    )
    # Community (dailypapers.store.community, dailypapers.web.community): Hugging Face's rules by default.
    submission_max_age_days: int = Field(
        14,
        ge=0,
        le=36_500,
        description="Only papers published on arXiv within this many days can be submitted.",
    )
    submission_daily_limit: int = Field(
        5, ge=0, le=1000, description="Papers one account can submit per day (UTC)."
    )
    max_request_body_bytes: int = Field(
        65_536,
        ge=1024,
        le=1024**3,
        description="The largest request body (JSON, forms); a larger one gets 413 before it is read.",
    )
    max_request_header_bytes: int = Field(
        65_536, ge=4096, le=1024**2, description="The largest request head (request line and headers): 431."
    )
    max_request_headers: int = Field(100, ge=10, le=1000, description="The most request headers: 431.")
    forwarded_allow_ips: str = Field(
        "",
        description="Addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are "
        "believed (comma-separated, `*` for any); empty: none, the client is the peer address.",
    )
    web_jobs: bool = Field(
        True,
        description="Web processes run background jobs (fetching a submitted paper from arXiv) in a "
        "thread of their own; `false` leaves them to `dailypapers worker`.",
    )
    web_gc_freeze: bool = Field(
        True,
        description="Once a web process has started (and warmed its search), keep the objects it made so "
        "far out of the garbage collector's full collections (gc.freeze): walking them paused a request "
        "about 100 ms every dozen uncached pages.",
    )
    rate_limit_submit: RateLimit = Field("20/1h", description="Submission attempts per account.")
    rate_limit_comment: RateLimit = Field("10/1m", description="Comments written or edited per account.")
    rate_limit_upvote: RateLimit = Field("120/1m", description="Upvotes and un-upvotes per account.")
    rate_limit_collection: RateLimit = Field(
        "120/1m", description="Collection writes per account: made, changed, items added or moved, upvotes."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file_path()
        if path is not None:
            if not path.is_file():
                raise ValueError(f"DAILYPAPERS_CONFIG names {path}, which is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError(
                "DAILYPAPERS_SECRET_KEY is left at its development default; set a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) "
                "or set DAILYPAPERS_ENVIRONMENT=development"
            )
        if self.environment != "development" and len(self.secret_key) < 16:
            raise ValueError("DAILYPAPERS_SECRET_KEY must be at least 16 characters")
        self.base_url = self.base_url.rstrip("/")
        arxiv_hosts = [
            urlsplit(u).hostname or "" for u in (self.arxiv_api_url, self.arxiv_oai_url, self.arxiv_rss_url)
        ]
        if self.arxiv_delay_seconds < 3 and any(
            h == "arxiv.org" or h.endswith(".arxiv.org") for h in arxiv_hosts
        ):
            raise ValueError("DAILYPAPERS_ARXIV_DELAY_SECONDS must be at least 3 for arXiv's own hosts")
        return self

    @property
    def ingest_category_list(self) -> list[str]:
        return [c for c in self.ingest_categories.replace(",", " ").split() if c]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cookie_secure(self) -> bool:
        """Cookies only over TLS when the site is served over TLS (the scheme in any case: `HTTPS://` too)."""
        return urlsplit(self.base_url).scheme.lower() == "https"

    def rate(self, name: str) -> tuple[int, int]:
        """`rate_limit_<name>` as (count, seconds)."""
        return parse_rate(getattr(self, f"rate_limit_{name}"))
