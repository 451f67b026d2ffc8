"""Alembic environment: the URL comes from dailypapers settings, never from an ini file."""

from alembic import context

from dailypapers.settings import Settings
from dailypapers.store.engine import make_engine
from dailypapers.store.schema import metadata

config = context.config
settings = config.attributes.get("settings") or Settings()


def run_migrations_online() -> None:
    engine = make_engine(settings)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
