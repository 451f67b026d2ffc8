"""Authors and what readers do with them: claiming a name on a paper (a moderator approves), and following
authors, organizations and arXiv categories. Called the same way by pages, the API and other use cases (the
For-you ranking reads `followed(user_id)` as likes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dailypapers import names
from dailypapers.store.authors import (
    CATEGORY,
    FOLLOW_KINDS,
    MAX_NAME_CHARS,
    AuthorStore,
    ClaimView,
    Follow,
    Followed,
    NotOnPaper,
)
from dailypapers.store.community import Actor, CommunityStore, NotFound


class BadTarget(ValueError):
    """A follow that names no known kind, or a category that is not one."""


@dataclass(frozen=True, slots=True)
class Target:
    kind: str
    key: str
    label: str


class Authorship:
    def __init__(self, authors: AuthorStore, community: CommunityStore) -> None:
        self.authors = authors
        self.community = community

    # -- claims ------------------------------------------------------------------------------------------

    def claim(self, actor: Actor, arxiv_id: str, name: str) -> ClaimView:
        """A pending claim of `name` on the paper. NotFound, NotOnPaper (400), Conflict (409)."""
        return self.authors.claim(actor, arxiv_id, name)

    def decide(self, moderator: Actor, claim_id: int, approve: bool, reason: str = "") -> ClaimView:
        """A moderator approves or rejects; an approved claimant's comments carry the "Paper author" badge
        from then on, and the paper's `isAuthorParticipating` is redone."""
        return self.authors.decide(
            moderator, claim_id, approve, reason=reason, recount=self.community.recount_discussion
        )

    def withdraw(self, actor: Actor, claim_id: int) -> None:
        self.authors.withdraw(actor, claim_id, recount=self.community.recount_discussion)

    # -- follows -----------------------------------------------------------------------------------------

    def target(self, kind: str, name: str) -> Target:
        """What `name` names as a `kind` to follow: its key, checked to exist. BadTarget, NotFound."""
        name = names.clean(name)[:MAX_NAME_CHARS]
        if kind not in FOLLOW_KINDS:
            raise BadTarget("kind must be author, org or category")
        if kind == "category":
            if not CATEGORY.fullmatch(name) or len(name) > 64:
                raise BadTarget(f"{name[:80]!r} is not an arXiv category (such as cs.CL or hep-th)")
            key = name
        elif kind == "org":
            key = names.org_key_of_slug(name)
        else:
            key = names.key(name)
        if not key or not self.authors.target_exists(kind, key):
            what = {"author": "No author", "org": "No organization", "category": "No paper in a category"}[
                kind
            ]
            raise NotFound(f"{what} named {name[:200]!r} here")
        return Target(kind, key, name)

    def follow(self, user_id: int, kind: str, name: str) -> tuple[Target, bool]:
        target = self.target(kind, name)
        return target, self.authors.follow(user_id, target.kind, target.key, target.label)

    def unfollow(self, user_id: int, kind: str, name: str) -> bool:
        """Stop following (idempotent: an unknown name is simply not followed)."""
        if kind not in FOLLOW_KINDS:
            raise BadTarget("kind must be author, org or category")
        name = names.clean(name)[:MAX_NAME_CHARS]
        key = {"author": names.key, "org": names.org_key_of_slug}.get(kind, str)(name)
        return self.authors.unfollow(user_id, kind, key)

    def follows(self, user_id: int) -> list[Follow]:
        return self.authors.follows_of(user_id)

    def is_following(self, user_id: int, kind: str, key: str) -> bool:
        return self.authors.is_following(user_id, kind, key)

    def followed(self, user_id: int) -> Followed:
        """What the user follows, by key: the For-you ranking and digests read these as likes."""
        return self.authors.followed(user_id)

    def following_ids(
        self, user_id: int, *, since: datetime | None = None, offset: int = 0, limit: int = 50
    ) -> list[int]:
        """Papers of what the user follows, newest first (internal ids)."""
        return self.authors.following_paper_ids(user_id, since=since, offset=offset, limit=limit)


__all__ = ["Authorship", "BadTarget", "NotOnPaper", "Target"]
