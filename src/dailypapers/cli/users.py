"""`dailypapers users ...` and `dailypapers tokens ...`: accounts from the command line (for the first admin,
and for operators)."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape

from dailypapers.accounts.model import ROLES
from dailypapers.cli.common import console, fail, load_settings, require_migrated

users_app = typer.Typer(help="Accounts: create them, change their role.", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)


def _accounts():
    from dailypapers.store.accounts import AccountStore
    from dailypapers.store.papers import SqlStore

    settings = load_settings()
    return AccountStore(SqlStore(require_migrated(settings), settings.trending_half_life_hours))


def _email(value: str) -> str:
    from dailypapers.emails import InvalidEmail, normalize_email

    try:
        return normalize_email(value)
    except InvalidEmail as exc:
        raise fail(f"{value!r}: {exc}") from None


def _role(value: str) -> str:
    if value not in ROLES:
        raise fail(f"the role must be one of {', '.join(ROLES)}, not {value!r}")
    return value


def _find(accounts, email: str):
    account = accounts.by_email(email)
    if account is None:
        raise fail(f"no account has the address {email}", 1)
    return account


def _default_username(email: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", email.partition("@")[0]).strip("-_")[:39]
    return name if len(name) >= 2 else f"user-{name}".rstrip("-")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
    username: Annotated[
        str | None, typer.Option(help="Default: from the address (alice@... -> alice).")
    ] = None,
    role: Annotated[str, typer.Option(help="user, moderator or admin.")] = "user",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of standard input."),
    ] = False,
) -> None:
    """Create a local account (its address counts as confirmed). Without a password, its owner sets one
    with "Forgot your password?"."""
    from dailypapers.accounts.credentials import InvalidInput, hash_password, normalize_username
    from dailypapers.store.accounts import AccountError

    address = _email(email)
    role = _role(role)
    try:
        name = normalize_username(username or _default_username(address), allow_reserved=True)
    except InvalidInput as exc:
        raise fail(f"username: {exc}") from None
    password_hash = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        try:
            password_hash = hash_password(password)
        except InvalidInput as exc:
            raise fail(f"password: {exc}") from None
    accounts = _accounts()
    try:
        account = accounts.create(
            email=address, username=name, password_hash=password_hash, role=role, verified=True
        )
    except AccountError as exc:
        raise fail(str(exc), 1) from None
    finally:
        accounts.engine.dispose()
    how = (
        "with a password" if password_hash else "without a password (use “Forgot your password?” to set one)"
    )
    console.print(
        f"Created {escape(account.username)} <{escape(address)}>, role {account.role}, {how}.",
        highlight=False,
    )


@users_app.command("promote")
def users_promote(
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
    role: Annotated[str, typer.Option(help="The new role: user, moderator or admin.")] = "moderator",
) -> None:
    """Change an account's role (`--role user` takes moderation rights away)."""
    address = _email(email)
    role = _role(role)
    accounts = _accounts()
    try:
        account = _find(accounts, address)
        accounts.set_role(account.id, role)
    finally:
        accounts.engine.dispose()
    console.print(f"{escape(account.username)} is now {role} (was {account.role}).", highlight=False)


@tokens_app.command("create")
def tokens_create(
    email: Annotated[str, typer.Argument(help="The e-mail address of the account the token acts for.")],
    name: Annotated[str, typer.Option(help="A name to tell the token apart on the settings page.")] = "cli",
    days: Annotated[int, typer.Option(min=1, max=365, help="Days until the token expires.")] = 90,
) -> None:
    """Create a personal API token and print it (on standard output, alone, so scripts can capture it)."""
    address = _email(email)
    from dailypapers.accounts.credentials import plain_line

    label = plain_line(name, 100) or "cli"
    accounts = _accounts()
    try:
        account = _find(accounts, address)
        if account.suspended:
            raise fail(f"{account.username} is suspended", 1)
        raw, _info = accounts.create_api_token(account.id, label, timedelta(days=days))
    finally:
        accounts.engine.dispose()
    print(raw)
    console.print(
        f"Token {escape(label)!r} for {escape(account.username)}: send it as `Authorization: Bearer TOKEN`. "
        f"It expires in {days} days and is not shown again.",
        highlight=False,
    )
