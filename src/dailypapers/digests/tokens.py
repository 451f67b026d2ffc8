"""Signed links of a subscription: confirm (timed), preferences and unsubscribe (long-lived).

Each link signs the subscription's random `key` with the deployment's secret and a salt per purpose, so a
link never holds the address or an id, one purpose's link cannot be used for another, and replacing the key
revokes every link at once.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

CONFIRM, PREFERENCES, UNSUBSCRIBE = "confirm", "preferences", "unsubscribe"
PURPOSES = (CONFIRM, PREFERENCES, UNSUBSCRIBE)


class InvalidToken(ValueError):
    """A link that is malformed, forged, expired, or for another purpose."""


class Tokens:
    def __init__(self, secret_key: str, *, confirm_max_age_seconds: int) -> None:
        self.max_age = confirm_max_age_seconds
        self._timed = URLSafeTimedSerializer(secret_key, salt="digest-" + CONFIRM)
        self._plain = {p: URLSafeSerializer(secret_key, salt="digest-" + p) for p in PURPOSES if p != CONFIRM}

    def make(self, purpose: str, key: str) -> str:
        if purpose == CONFIRM:
            return self._timed.dumps(key)
        return self._plain[purpose].dumps(key)

    def read(self, purpose: str, token: str) -> str:
        """The key a token signs; raises `InvalidToken`."""
        if not token or len(token) > 200:
            raise InvalidToken("This link is not valid.")
        try:
            if purpose == CONFIRM:
                key = self._timed.loads(token, max_age=self.max_age)
            else:
                key = self._plain[purpose].loads(token)
        except SignatureExpired:
            raise InvalidToken("This link has expired: subscribe again to get a new one.") from None
        except (BadSignature, KeyError, ValueError):
            raise InvalidToken("This link is not valid.") from None
        if not isinstance(key, str):
            raise InvalidToken("This link is not valid.")
        return key


def tokens_for(settings) -> Tokens:
    return Tokens(settings.secret_key, confirm_max_age_seconds=settings.digest_confirm_hours * 3600)
