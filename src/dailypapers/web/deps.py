"""Request dependencies: the services of the application a request runs in, one alias each.

`create_app` builds the services once and keeps them on `app.state`; routes name what they need
(`store: StoreDep`) instead of reaching into the state. Each getter is `async` and only reads an attribute,
so it runs on the event loop: a dependency here never costs a worker-thread hand-off.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request

from dailypapers.mail import Mailer
from dailypapers.search.types import SearchService
from dailypapers.services.submissions import Submissions
from dailypapers.settings import Settings
from dailypapers.store.accounts import AccountStore
from dailypapers.store.community import CommunityStore
from dailypapers.store.papers import SqlStore


class LazySearchService(Protocol):
    """The search service, opened on first use (`web.search.LazySearch`)."""

    @property
    def ready(self) -> bool: ...

    def get(self) -> SearchService: ...


async def get_store(request: Request) -> SqlStore:
    return request.app.state.store


async def get_community(request: Request) -> CommunityStore:
    return request.app.state.community


async def get_accounts(request: Request) -> AccountStore:
    return request.app.state.accounts


async def get_search(request: Request) -> LazySearchService:
    return request.app.state.search


async def get_submissions(request: Request) -> Submissions:
    return request.app.state.submissions


async def get_mailer(request: Request) -> Mailer:
    return request.app.state.mailer


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[SqlStore, Depends(get_store)]
CommunityDep = Annotated[CommunityStore, Depends(get_community)]
AccountsDep = Annotated[AccountStore, Depends(get_accounts)]
SearchDep = Annotated[LazySearchService, Depends(get_search)]
SubmissionsDep = Annotated[Submissions, Depends(get_submissions)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
