"""Typed settings, read from DAILYPAPERS_* environment variables and an optional TOML file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"


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
        "or `postgresql+psycopg://user@host/db`.",
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
    sqlite_busy_timeout_ms: int = Field(10_000, ge=0, description="How long SQLite waits for a lock.")
    db_pool_size: int = Field(8, ge=1, description="Connections per web process (PostgreSQL).")

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
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
