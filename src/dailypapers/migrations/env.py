"""Alembic environment: the URL comes from dailypapers settings, never from an ini file."""

from alembic import context

from dailypapers.settings import Settings
from dailypapers.store.changes import install_change_triggers
from dailypapers.store.engine import make_engine
from dailypapers.store.schema import metadata

config = context.config
settings = config.attributes.get("settings") or Settings()


def run_migrations_online() -> None:
    engine = make_engine(settings)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one; with foreign keys on, that drop
            # cascades and deletes every row that points at the table (upvotes, feed entries...). The pragma
            # only takes effect outside a transaction, so it goes to the driver before Alembic's BEGIN.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
            # PostgreSQL: every table, those the migrations just added included, tells the page caches.
            install_change_triggers(connection)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    engine.dispose()


run_migrations_online()
