"""The `dailypapers` command: one module per command group, the shared pieces in `cli.common`."""

from __future__ import annotations

import sys

import typer

from dailypapers.cli.db import backup_command, db_app, restore_command
from dailypapers.cli.digest import digest_app
from dailypapers.cli.importing import import_command
from dailypapers.cli.ingest import ingest_app
from dailypapers.cli.maps import map_app
from dailypapers.cli.search import index_app, search_command
from dailypapers.cli.serving import demo, serve
from dailypapers.cli.users import tokens_app, users_app
from dailypapers.cli.worker import worker_command

app = typer.Typer(
    help="dailypapers: a self-hostable Daily Papers.", no_args_is_help=True, add_completion=False
)
app.add_typer(db_app, name="db")
app.command("import")(import_command)
app.command("serve")(serve)
app.command("demo")(demo)
app.add_typer(ingest_app, name="ingest")
app.command("worker")(worker_command)
app.add_typer(index_app, name="index")
app.command("search")(search_command)
app.add_typer(digest_app, name="digest")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.add_typer(map_app, name="map")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
