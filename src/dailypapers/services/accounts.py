"""Deleting an account: everything it owned goes, in one transaction, whoever asks (the settings page, an
operator). Each store that holds something of the account forgets it there, fixing its own counts."""

from __future__ import annotations

from dailypapers.store import collections, signals, subscriptions
from dailypapers.store.accounts import AccountStore
from dailypapers.store.community import CommunityStore


def delete_account(accounts: AccountStore, community: CommunityStore, user_id: int) -> None:
    """The user row, and with it (foreign keys) sessions, tokens, upvotes (papers recounted) and jobs; its
    comments with their papers' counts redone; the digest subscription it made; its collections, and its
    upvotes of others' (recounted); its For you profiles and signals. All of it or none of it."""
    accounts.delete(
        user_id,
        also=[community.forget_user, subscriptions.forget_user, collections.forget_user, signals.forget_user],
    )
