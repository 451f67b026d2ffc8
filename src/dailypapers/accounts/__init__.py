"""Accounts: sign-up, sign-in, sessions, personal API tokens (the pure part; storage is in
`dailypapers.store.accounts`, the pages in `dailypapers.web.accounts`)."""

from dailypapers.accounts.model import ROLES, Account

__all__ = ["ROLES", "Account"]
