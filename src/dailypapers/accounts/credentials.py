"""Passwords (argon2id), random tokens and their hashes, and the rules for usernames (addresses follow
`dailypapers.emails`).

Pure: no web framework, no database.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD = 8
# argon2 takes any length, but hashing megabytes on every sign-in attempt is a denial of service.
MAX_PASSWORD = 1024
USERNAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,37}[A-Za-z0-9])?")
# Names that would read as the site speaking, or that shadow our own paths.
RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "root", "system", "moderator", "mod", "staff", "support", "help", "api",
     "settings", "signin", "signup", "signout", "login", "logout", "u", "user", "users", "papers",
     "static", "feeds", "search", "null", "none", "anonymous", "dailypapers", "huggingface", "hf"}
)  # fmt: skip

API_TOKEN_PREFIX = "dp_"

_hasher = PasswordHasher()  # argon2id with the library's current RFC 9106 "low memory" parameters
# Verifying against this when no account matches makes an unknown name cost as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class InvalidInput(ValueError):
    """A value a person typed that we cannot accept; the message says why, for them to read."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; an account without a password (imported) never matches."""
    if not password or len(password) > MAX_PASSWORD:
        _hasher.hash("x")  # about the cost of a verification: no timing hint that the input was refused
        return False
    if not password_hash:
        _verify_quietly(_DUMMY_HASH, password)
        return False
    return _verify_quietly(password_hash, password)


def _verify_quietly(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"The password needs at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("password", f"The password can have at most {MAX_PASSWORD} characters.")
    if "\x00" in password:
        raise InvalidInput("password", "The password cannot contain a NUL character.")
    return password


def normalize_username(value: str, *, allow_reserved: bool = False) -> str:
    """The name as typed, checked; reserved names only for the operator (`dailypapers users create`)."""
    name = value.strip()
    if not name:
        raise InvalidInput("username", "Choose a username.")
    if len(name) < 2 or len(name) > 39:
        raise InvalidInput("username", "A username has 2 to 39 characters.")
    if not USERNAME_RE.fullmatch(name):
        raise InvalidInput(
            "username",
            "A username uses only the letters A-Z, digits, '-' and '_', and starts and ends with a "
            "letter or digit.",
        )
    if name.lower() in RESERVED_USERNAMES and not allow_reserved:
        raise InvalidInput("username", "That username is reserved.")
    return name


def plain_line(value: str, limit: int) -> str:
    """Free text for a label (a token's name): control characters out, whitespace runs folded, cut."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())[:limit]


def has_control_characters(value: str) -> bool:
    """True for text no name or address has (NUL, newlines...); PostgreSQL refuses NUL outright."""
    return any(not c.isprintable() for c in value)


def new_token(prefix: str = "") -> str:
    """A random secret of 256 bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What we store instead of a token: its SHA-256. Tokens are random and long, so a fast hash is enough
    (a stolen table gives nothing that can be replayed)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
