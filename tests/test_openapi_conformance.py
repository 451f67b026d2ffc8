"""`/openapi.json` tells the truth: schemathesis drives every operation of the app, in process, over the demo
database on SQLite and on PostgreSQL, as three callers (anonymous, a personal API token, a moderator's
browser session), and runs all its response checks on every answer: no 5xx, only documented statuses,
content types and headers, bodies that match their shapes (the models forbid undescribed keys), and no
credentials ignored.

Bounded: a few dozen generated cases per operation (`EXAMPLES`), besides schemathesis's deterministic
coverage cases (edges of every declared bound and type).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import dailypapers
from conftest import EMPTY
from dailypapers.importers.files import import_file
from dailypapers.search.indexer import Indexer
from dailypapers.settings import Settings
from dailypapers.store.accounts import AccountStore
from dailypapers.store.engine import make_engine, upgrade
from dailypapers.store.papers import SqlStore
from dailypapers.web.app import create_app

# One worker fuzzes both sites: each is built once.
pytestmark = pytest.mark.xdist_group("conformance")
DEMO = Path(dailypapers.__file__).parent / "data" / "demo.jsonl.gz"
# Generated cases per operation and caller; a longer fuzz run sets more.
EXAMPLES = int(os.environ.get("DAILYPAPERS_CONFORMANCE_EXAMPLES", "10"))
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428", "429"]
# Papers, days and people of the demo slice, so that generated requests also reach what exists.
KNOWN = {
    "arxiv_id": ["2608.20336", "2608.19758", "2608.19880"],
    "day": ["2026-08-21", "2026-08-20"],
    "week": ["2026-W34"],
    "month": ["2026-08"],
    "username": ["reader", "moderator"],
    "owner": ["reader", "moderator"],
}


@schemathesis.deserializer("text/markdown")
def _markdown(ctx, response):
    return response.content.decode("utf-8")


@dataclass
class Site:
    app: object
    token: str
    session: str
    csrf: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory) -> Site:
    folder = tmp_path_factory.mktemp("conformance")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'demo.db'}"
    else:
        url = request.getfixturevalue("postgresql_templates").copy(EMPTY, folder)
    config = Settings(
        environment="test",
        secret_key="test-secret-key-0123456789",
        database_url=url,
        index_dir=folder / "index",
        web_jobs=False,  # a submission of an unknown paper queues a job; nothing asks arXiv
        arxiv_api_url="http://127.0.0.1:9/api/query",
        rate_limit_enabled=False,  # reach the writes' own answers rather than 429 after a few
    )
    upgrade(config)
    store = SqlStore(make_engine(config))
    import_file(store, DEMO)
    Indexer(store.engine, config).sync(embed_limit=-1)
    accounts = AccountStore(store)

    def member(name: str, role: str = "user"):
        return accounts.create(
            email=f"{name}@example.org", username=name, password_hash=None, role=role, verified=True
        )

    token, _ = accounts.create_api_token(member("reader").id, "conformance")
    session = accounts.start_session(member("moderator", "moderator").id, timedelta(days=1))
    csrf = accounts.session(session)[1]
    store.engine.dispose()
    return Site(create_app(config), token, session, csrf)


def _schema(site: Site, auth: dict, headers: dict | None = None):
    """The app's schema, to be driven with these credentials (schemathesis knows which scheme each is, so
    its `ignored_auth` check can try the operation without them, or with broken ones)."""
    config = schemathesis.Config.from_dict(
        {
            "dictionaries": {name: {"values": values} for name, values in KNOWN.items()},
            "parameters": {name: {"dictionary": name, "probability": 0.5} for name in KNOWN},
            "generation": {"max-examples": EXAMPLES},
            # Schema-valid is not always acceptable here: an arXiv id must name a paper's id form, a link's
            # token must carry our signature, a day must be on the calendar, `from` must not follow `to`.
            # Those answers are documented 400s; every other check runs. Among refusals of schema-invalid
            # requests, 413 and 414 too (a long generated URL is refused before any route reads it).
            "checks": {
                "positive_data_acceptance": {"enabled": False},
                "negative_data_rejection": {"expected-statuses": REFUSALS},
            },
            "auth": {"openapi": auth, "auto-signup": False} if auth else {"auto-signup": False},
            "headers": headers or {},
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", site.app, config=config)


@pytest.fixture(scope="module")
def anonymous_schema(site):
    return _schema(site, {})


@pytest.fixture(scope="module")
def token_schema(site):
    return _schema(site, {"bearer": {"bearer": site.token}})


@pytest.fixture(scope="module")
def session_schema(site):
    # A browser's session: the cookie, and the CSRF token its pages' scripts send with API writes.
    return _schema(site, {"session": {"api_key": site.session}}, {"X-CSRF-Token": site.csrf})


# Derandomized in CI: the same cases every run, so a red build means a change broke something, not that the
# generator drew a new case this time. DAILYPAPERS_CONFORMANCE_SEED=random (and more EXAMPLES) for a
# campaign that explores. (Random runs can draw `category=null`: a query string has no null, so that is the
# string "null", which the route rightly takes as a category name; schemathesis calls it accepted bad data.)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("DAILYPAPERS_CONFORMANCE_SEED") != "random",
)
anonymous = schemathesis.pytest.from_fixture("anonymous_schema")
with_token = schemathesis.pytest.from_fixture("token_schema")
with_session = schemathesis.pytest.from_fixture("session_schema")


@pytest.mark.slow
@anonymous.parametrize()
@SETTINGS
def test_anonymous_callers_get_documented_answers(case):
    case.call_and_validate()


@pytest.mark.slow
@with_token.parametrize()
@SETTINGS
def test_token_holders_get_documented_answers(case):
    case.call_and_validate()


@pytest.mark.slow
@with_session.parametrize()
@SETTINGS
def test_a_moderators_session_gets_documented_answers(case):
    case.call_and_validate()
