"""Accounts in the database: users with passwords, sessions, personal API tokens and mailed tokens.

Every secret (session id, API token, link token) is stored as its SHA-256 only. Writes go through
`write_transaction` (BEGIN IMMEDIATE on SQLite).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from dailypapers.accounts.credentials import API_TOKEN_PREFIX, new_token, token_hash
from dailypapers.accounts.model import ROLES, Account
from dailypapers.papers import PaperView, as_utc
from dailypapers.store.engine import read_connection, write_transaction
from dailypapers.store.papers import SqlStore
from dailypapers.store.schema import (
    account_tokens,
    api_tokens,
    feed_entries,
    sessions,
    upvotes,
    users,
)

PURPOSES = ("verify", "reset")
# Personal API tokens expire (a token forgotten in an old script or a leaked log stops working): the owner
# picks one of these lifetimes on the settings page; the CLI takes any number of days up to the longest.
API_TOKEN_DAYS = (7, 30, 90, 365)
DEFAULT_API_TOKEN_DAYS = 90


class AccountError(Exception):
    """A request about accounts that cannot be done; the message is for the person who asked."""


class NameTaken(AccountError):
    pass


class EmailTaken(AccountError):
    pass


class NoSuchAccount(AccountError):
    pass


@dataclass(frozen=True)
class ApiTokenInfo:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime

    @property
    def expired(self) -> bool:
        return self.expires_at <= _now()


@dataclass(frozen=True)
class Profile:
    id: int
    username: str
    fullname: str | None
    avatar_url: str | None
    origin: str
    created_at: datetime
    submitted: list[PaperView]
    upvoted: list[PaperView]


def _now() -> datetime:
    return datetime.now(UTC)


_ACCOUNT_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.email,
    users.c.role,
    users.c.email_verified_at,
    users.c.suspended_at,
    users.c.fullname,
    users.c.avatar_url,
)


# The lookups behind every signed-in request, built once (building and hashing a statement per request cost
# about as much as running it).
_SESSION_LOOKUP = (
    select(*_ACCOUNT_COLUMNS, sessions.c.csrf_token, sessions.c.expires_at)
    .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
    .where(sessions.c.id_hash == bindparam("digest"))
)
_TOKEN_LOOKUP = (
    select(
        *_ACCOUNT_COLUMNS,
        api_tokens.c.id.label("token_id"),
        api_tokens.c.last_used_at,
        api_tokens.c.expires_at,
    )
    .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
    .where(api_tokens.c.token_hash == bindparam("digest"))
)


def _account(row) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        email=row.email,
        role=row.role or "user",
        email_verified=row.email_verified_at is not None,
        suspended=row.suspended_at is not None,
        fullname=row.fullname,
        avatar_url=row.avatar_url,
    )


class AccountStore:
    """Local accounts on top of the paper store's engine (deleting an account recounts its upvotes)."""

    def __init__(self, papers: SqlStore) -> None:
        self.papers = papers
        self.engine: Engine = papers.engine

    # -- accounts -----------------------------------------------------------------------------------

    def create(
        self,
        *,
        email: str,
        username: str,
        password_hash: str | None,
        role: str = "user",
        verified: bool = False,
    ) -> Account:
        """A new local account. `email` and `username` must already be normalized (see credentials).

        Raises NameTaken when the name is anyone's (an imported Hugging Face submitter's too, whatever the
        case), EmailTaken when the address is.
        """
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        now = _now()
        try:
            with write_transaction(self.engine) as conn:
                if conn.execute(
                    select(users.c.id).where(func.lower(users.c.username) == username.lower()).limit(1)
                ).first():
                    raise NameTaken(f"The username {username} is taken.")
                if conn.execute(select(users.c.id).where(users.c.email == email).limit(1)).first():
                    raise EmailTaken("That e-mail address has an account.")
                user_id = conn.execute(
                    users.insert()
                    .values(
                        username=username,
                        email=email,
                        type="user",
                        origin="local",
                        created_at=now,
                        password_hash=password_hash,
                        password_changed_at=now if password_hash else None,
                        role=role,
                        email_verified_at=now if verified else None,
                    )
                    .returning(users.c.id)
                ).scalar_one()
        except IntegrityError:
            # A concurrent sign-up took the name or the address between our check and our insert.
            if self.by_email(email) is not None:
                raise EmailTaken("That e-mail address has an account.") from None
            raise NameTaken(f"The username {username} is taken.") from None
        return Account(user_id, username, email, role, verified, False)

    def get(self, user_id: int) -> Account | None:
        return self._one(users.c.id == user_id)

    def by_email(self, email: str) -> Account | None:
        return self._one(users.c.email == email)

    def by_username(self, username: str) -> Account | None:
        """A local account by name, whatever the case."""
        return self._one(func.lower(users.c.username) == username.lower(), users.c.origin == "local")

    def by_login(self, login: str) -> tuple[Account, str | None] | None:
        """The local account an e-mail address or username names, with its password hash."""
        where = (
            users.c.email == login.lower() if "@" in login else func.lower(users.c.username) == login.lower()
        )
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_ACCOUNT_COLUMNS, users.c.password_hash).where(where, users.c.origin == "local")
            ).first()
        return (_account(row), row.password_hash) if row else None

    def password_hash(self, user_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar()

    def _one(self, *where) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_ACCOUNT_COLUMNS).where(*where)).first()
        return _account(row) if row else None

    def set_role(self, user_id: int, role: str) -> None:
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        with write_transaction(self.engine) as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(role=role))

    def set_suspended(self, user_id: int, suspended: bool) -> None:
        """Suspend (or lift it): a suspended account can read but not act, and its API tokens stop working."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(users).where(users.c.id == user_id).values(suspended_at=_now() if suspended else None)
            )

    def set_password(self, user_id: int, password_hash: str, *, keep_session: str | None = None) -> None:
        """A new password; every session but `keep_session` (a raw session id) ends, and so do reset links."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(password_hash=password_hash, password_changed_at=_now())
            )
            ended = delete(sessions).where(sessions.c.user_id == user_id)
            if keep_session:
                ended = ended.where(sessions.c.id_hash != token_hash(keep_session))
            conn.execute(ended)
            conn.execute(
                delete(account_tokens).where(
                    account_tokens.c.user_id == user_id, account_tokens.c.purpose == "reset"
                )
            )

    def rehash_password(self, user_id: int, password_hash: str) -> None:
        """The same password under new hashing parameters: nothing else changes."""
        with write_transaction(self.engine) as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))

    def mark_verified(self, user_id: int, email: str) -> bool:
        """Confirm `email` for the account, if that is still its address."""
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                update(users)
                .where(users.c.id == user_id, users.c.email == email)
                .values(email_verified_at=func.coalesce(users.c.email_verified_at, _now()))
            )
            return result.rowcount == 1

    def delete(self, user_id: int, *, also: Sequence[Callable[[Any, int], None]] = ()) -> None:
        """Delete the account for good: its row, and through the foreign keys its sessions, tokens and
        upvotes (the papers' counts are recounted); papers it submitted stay, without a submitter.

        Each `also(conn, user_id)` runs first in the same transaction: other parts (comments) forget the
        user and fix their own counts, so that everything changes together or nothing does."""
        with write_transaction(self.engine) as conn:
            for forget in also:
                forget(conn, user_id)
            voted = set(
                conn.execute(select(upvotes.c.paper_id).where(upvotes.c.user_id == user_id)).scalars()
            )
            conn.execute(delete(upvotes).where(upvotes.c.user_id == user_id))
            self.papers.refresh_votes(conn, voted)
            conn.execute(delete(users).where(users.c.id == user_id))

    # -- sessions -----------------------------------------------------------------------------------

    def start_session(self, user_id: int, lifetime: timedelta, *, replacing: str | None = None) -> str:
        """A new session for the account: returns its raw id (for the cookie). `replacing` (the browser's
        previous session id, if any) ends, so an id set before sign-in is never the signed-in one."""
        raw = new_token()
        now = _now()
        with write_transaction(self.engine) as conn:
            if replacing:
                conn.execute(delete(sessions).where(sessions.c.id_hash == token_hash(replacing)))
            conn.execute(
                sessions.insert().values(
                    id_hash=token_hash(raw),
                    user_id=user_id,
                    csrf_token=new_token(),
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
            # Expired sessions go at sign-ins (an index range on expires_at): no sweeper job needed.
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
        return raw

    def session(self, raw: str) -> tuple[Account, str] | None:
        """The account and CSRF token of a live session, or None."""
        with read_connection(self.engine) as conn:
            row = conn.execute(_SESSION_LOOKUP, {"digest": token_hash(raw)}).first()
        if row is None or as_utc(row.expires_at) <= _now():
            return None
        return _account(row), row.csrf_token

    def end_session(self, raw: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(delete(sessions).where(sessions.c.id_hash == token_hash(raw)))

    def session_count(self, user_id: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(sessions).where(sessions.c.user_id == user_id)
            ).scalar_one()

    # -- personal API tokens ------------------------------------------------------------------------

    def create_api_token(
        self, user_id: int, name: str, lifetime: timedelta = timedelta(days=DEFAULT_API_TOKEN_DAYS)
    ) -> tuple[str, ApiTokenInfo]:
        """A new token valid for `lifetime`: the raw value (shown once, never stored) and what is kept."""
        raw = new_token(API_TOKEN_PREFIX)
        now = _now()
        prefix = raw[:10]
        expires_at = now + lifetime
        with write_transaction(self.engine) as conn:
            token_id = conn.execute(
                api_tokens.insert()
                .values(
                    user_id=user_id,
                    name=name,
                    token_hash=token_hash(raw),
                    prefix=prefix,
                    created_at=now,
                    expires_at=expires_at,
                )
                .returning(api_tokens.c.id)
            ).scalar_one()
        return raw, ApiTokenInfo(token_id, name, prefix, now, None, expires_at)

    def api_tokens(self, user_id: int) -> list[ApiTokenInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id.desc())
            )
            return [
                ApiTokenInfo(
                    r.id, r.name, r.prefix, as_utc(r.created_at), as_utc(r.last_used_at), as_utc(r.expires_at)
                )
                for r in rows
            ]

    def revoke_api_token(self, user_id: int, token_id: int) -> bool:
        """Delete the token if it is this account's; False when there is no such token of theirs."""
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                delete(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id)
            )
            return result.rowcount == 1

    def token_account(self, raw: str) -> Account | None:
        """The account a personal API token belongs to, or None."""
        if not raw.startswith(API_TOKEN_PREFIX) or len(raw) > 100:
            return None
        digest = token_hash(raw)
        with read_connection(self.engine) as conn:
            row = conn.execute(_TOKEN_LOOKUP, {"digest": digest}).first()
        now = _now()
        if row is None or as_utc(row.expires_at) <= now:
            return None
        last = as_utc(row.last_used_at)
        # Noted at most hourly: an API client must not turn every read into a write.
        if last is None or now - last > timedelta(hours=1):
            with write_transaction(self.engine) as conn:
                conn.execute(
                    update(api_tokens).where(api_tokens.c.id == row.token_id).values(last_used_at=now)
                )
        return _account(row)

    # -- mailed single-purpose tokens ---------------------------------------------------------------

    def issue_token(self, user_id: int, purpose: str, email: str, lifetime: timedelta) -> str:
        """A link token for one purpose ("verify" or "reset"); earlier ones of that purpose stop working."""
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}")
        raw = new_token()
        now = _now()
        with write_transaction(self.engine) as conn:
            conn.execute(
                delete(account_tokens).where(
                    account_tokens.c.user_id == user_id,
                    or_(account_tokens.c.purpose == purpose, account_tokens.c.expires_at < now),
                )
            )
            conn.execute(
                account_tokens.insert().values(
                    token_hash=token_hash(raw),
                    user_id=user_id,
                    purpose=purpose,
                    email=email,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return raw

    def peek_token(self, raw: str, purpose: str) -> Account | None:
        """The account a live token of this purpose is for, without using it up."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_ACCOUNT_COLUMNS)
                .select_from(account_tokens.join(users, users.c.id == account_tokens.c.user_id))
                .where(
                    account_tokens.c.token_hash == token_hash(raw),
                    account_tokens.c.purpose == purpose,
                    account_tokens.c.expires_at > _now(),
                )
            ).first()
        return _account(row) if row else None

    def consume_token(self, raw: str, purpose: str, conn=None) -> tuple[int, str] | None:
        """Use a token up: (user id, e-mail it was sent to), or None if it is unknown, of another purpose,
        expired or already used. Deleting it is what makes it single-use, even against two racing uses."""
        statement = (
            delete(account_tokens)
            .where(account_tokens.c.token_hash == token_hash(raw), account_tokens.c.purpose == purpose)
            .returning(account_tokens.c.user_id, account_tokens.c.email, account_tokens.c.expires_at)
        )
        if conn is None:
            with write_transaction(self.engine) as own:
                row = own.execute(statement).first()
        else:
            row = conn.execute(statement).first()
        if row is None or as_utc(row.expires_at) <= _now():
            return None
        return row.user_id, row.email

    def reset_password(self, raw: str, password_hash: str) -> Account | None:
        """Use a reset token and set the password in one transaction; every session of the account ends."""
        with write_transaction(self.engine) as conn:
            used = self.consume_token(raw, "reset", conn)
            if used is None:
                return None
            user_id, email = used
            now = _now()
            confirmed_before = conn.execute(
                select(users.c.email_verified_at).where(users.c.id == user_id, users.c.email == email)
            ).first()
            if confirmed_before is None:
                return None
            values: dict[str, Any] = {"password_hash": password_hash, "password_changed_at": now}
            # The mail reached its owner, so the address is confirmed too.
            values["email_verified_at"] = func.coalesce(users.c.email_verified_at, now)
            changed = conn.execute(
                update(users).where(users.c.id == user_id, users.c.email == email).values(**values)
            )
            if changed.rowcount != 1:
                return None
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            if confirmed_before.email_verified_at is None:
                # Until now nobody had shown they own this address: whoever signed up with it (perhaps not
                # its owner, waiting for them to take the account over by a reset) may have made tokens.
                conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user_id))
            conn.execute(
                delete(account_tokens).where(
                    account_tokens.c.user_id == user_id, account_tokens.c.purpose == "reset"
                )
            )
        return self.get(user_id)

    # -- profiles -----------------------------------------------------------------------------------

    def profile(self, username: str, *, limit: int = 100) -> Profile | None:
        """A user's public page: papers they submitted and papers they upvoted, newest first."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
            if row is None:
                row = conn.execute(
                    select(users).where(func.lower(users.c.username) == username.lower()).order_by(users.c.id)
                ).first()
            if row is None:
                return None
            submitted_ids = list(
                conn.execute(
                    select(feed_entries.c.paper_id)
                    .where(feed_entries.c.submitted_by_id == row.id, feed_entries.c.removed_at.is_(None))
                    .order_by(feed_entries.c.submitted_at.desc(), feed_entries.c.id.desc())
                    .limit(limit)
                ).scalars()
            )
            upvoted_ids = list(
                conn.execute(
                    select(upvotes.c.paper_id)
                    .where(upvotes.c.user_id == row.id)
                    .order_by(upvotes.c.created_at.desc(), upvotes.c.paper_id.desc())
                    .limit(limit)
                ).scalars()
            )
        return Profile(
            id=row.id,
            username=row.username,
            fullname=row.fullname,
            avatar_url=row.avatar_url,
            origin=row.origin,
            created_at=as_utc(row.created_at),
            submitted=self.papers.get_many(submitted_ids),
            upvoted=self.papers.get_many(upvoted_ids),
        )

    def usernames(self, ids: Sequence[int]) -> dict[int, str]:
        with self.engine.connect() as conn:
            return dict(
                conn.execute(select(users.c.id, users.c.username).where(users.c.id.in_(list(ids)))).all()
            )
