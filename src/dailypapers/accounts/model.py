"""What the rest of the code knows about a signed-in person (pure: no web framework, no driver)."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("user", "moderator", "admin")


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    email: str | None
    role: str  # "user" | "moderator" | "admin"
    email_verified: bool
    suspended: bool
    # As others see the account (comments show them): carried along so a write need not look them up again.
    fullname: str | None = None
    avatar_url: str | None = None

    @property
    def is_moderator(self) -> bool:
        """Moderators and admins may moderate."""
        return self.role in ("moderator", "admin")
