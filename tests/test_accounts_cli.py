"""`dailypapers users ...` and `dailypapers tokens ...` on a real database; and the migration matches
the schema's description of the account tables."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import make_settings
from dailypapers.cli import app
from dailypapers.store.accounts import AccountStore
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from dailypapers.web.app import create_app


@pytest.fixture
def cli(database_url, monkeypatch):
    monkeypatch.setenv("DAILYPAPERS_DATABASE_URL", database_url)
    monkeypatch.setenv("DAILYPAPERS_ENVIRONMENT", "test")
    monkeypatch.setenv("DAILYPAPERS_SECRET_KEY", "test-secret-key-0123456789")
    runner = CliRunner()

    def run(*args, stdin: str | None = None):
        return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)

    return run


@pytest.fixture
def accounts(database_url):
    store = SqlStore(make_engine(make_settings(database_url)))
    yield AccountStore(store)
    store.engine.dispose()


def test_users_create_promote_and_a_token_that_works_on_the_api(cli, accounts, database_url):
    created = cli(
        "users", "create", "Admin@Example.org", "--role", "admin", "--password-stdin", stdin="s3cret pass\n"
    )
    assert created.exit_code == 0, created.output
    admin = accounts.by_email("admin@example.org")
    assert (admin.username, admin.role, admin.email_verified) == ("admin", "admin", True)
    plain = cli("users", "create", "bob.smith@example.org")
    assert plain.exit_code == 0 and "without a password" in plain.output
    bob = accounts.by_email("bob.smith@example.org")
    assert bob.username == "bob-smith" and accounts.password_hash(bob.id) is None
    promoted = cli("users", "promote", "bob.smith@example.org", "--role", "moderator")
    assert promoted.exit_code == 0 and accounts.get(bob.id).is_moderator
    assert cli("users", "promote", "bob.smith@example.org", "--role", "user").exit_code == 0
    assert not accounts.get(bob.id).is_moderator
    made = cli("tokens", "create", "admin@example.org", "--name", "ci")
    assert made.exit_code == 0
    token = made.stdout.strip().splitlines()[0]
    assert token.startswith("dp_")
    [listed] = accounts.api_tokens(admin.id)
    assert 89 <= (listed.expires_at - listed.created_at).days <= 90  # every token expires; 90 days by default
    short = cli("tokens", "create", "admin@example.org", "--days", "3")
    assert short.exit_code == 0 and "expires in 3 days" in " ".join(short.output.split())
    assert (accounts.api_tokens(admin.id)[0].expires_at - listed.created_at).days in (2, 3)
    assert cli("tokens", "create", "admin@example.org", "--days", "0").exit_code != 0
    assert cli("tokens", "create", "admin@example.org", "--days", "366").exit_code != 0
    web = create_app(make_settings(database_url), store=accounts.papers)
    with TestClient(web) as client:
        whoami = client.get("/api/whoami-v2", headers={"Authorization": f"Bearer {token}"})
        assert whoami.json()["name"] == "admin" and whoami.json()["isModerator"] is True
        # The password given on stdin signs in.
        page = client.get("/signin").text
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        signed = client.post(
            "/signin",
            data={"csrf_token": csrf, "login": "admin", "password": "s3cret pass"},
            follow_redirects=False,
        )
        assert signed.status_code == 303


@pytest.mark.parametrize(
    "args, stdin, message, code",
    [
        (("users", "create", "not-an-address"), None, "does not look like an e-mail address", 2),
        (("users", "create", "a@example.org", "--role", "root"), None, "role must be one of", 2),
        (("users", "create", "a@example.org", "--username", "<b>"), None, "username", 2),
        (("users", "create", "a@example.org", "--password-stdin"), "short\n", "at least 8", 2),
        (
            ("users", "promote", "nobody@example.org", "--role", "admin"),
            None,
            "no account has the address",
            1,
        ),
        (("tokens", "create", "nobody@example.org"), None, "no account has the address", 1),
    ],
)
def test_cli_errors_are_clear_and_without_tracebacks(cli, args, stdin, message, code):
    result = cli(*args, stdin=stdin)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


def test_cli_refuses_a_taken_name_or_address(cli):
    assert cli("users", "create", "alice@example.org").exit_code == 0
    again = cli("users", "create", "alice@example.org", "--username", "other")
    assert again.exit_code == 1 and "has an account" in again.output
    clash = cli("users", "create", "x@example.org", "--username", "ALICE")
    assert clash.exit_code == 1 and "taken" in clash.output


def test_the_account_migration_matches_the_schema(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from dailypapers.store.schema import metadata

    ours = {"users", "sessions", "api_tokens", "account_tokens", "rate_limits"}
    engine = make_engine(make_settings(database_url))
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()

    def table_of(diff) -> str | None:
        for part in diff if isinstance(diff, list) else [diff]:
            for item in part[1:] if isinstance(part, tuple) else []:
                name = getattr(item, "name", None) if not isinstance(item, str) else item
                table = getattr(getattr(item, "table", None), "name", None)
                if table in ours or name in ours:
                    return table or name
        return None

    assert [d for d in diffs if table_of(d)] == []


def test_racing_sign_ups_for_one_name_or_address_make_one_account(accounts):
    import threading

    from dailypapers.store.accounts import EmailTaken, NameTaken

    outcomes: list[str] = []
    lock = threading.Lock()

    def create(n: int, same_email: bool) -> None:
        try:
            email = "race@example.org" if same_email else f"race{n}@example.org"
            username = f"racer{n}" if same_email else ("Racer" if n % 2 else "racer")
            accounts.create(email=email, username=username, password_hash=None)
            result = "ok"
        except (NameTaken, EmailTaken) as exc:
            result = type(exc).__name__
        with lock:
            outcomes.append(result)

    for same_email in (False, True):
        outcomes.clear()
        threads = [threading.Thread(target=create, args=(n, same_email)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected = "EmailTaken" if same_email else "NameTaken"
        assert sorted(outcomes) == sorted(["ok"] + [expected] * 7), outcomes


def test_the_database_itself_refuses_two_local_names_differing_in_case(accounts):
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from dailypapers.store.engine import write_transaction
    from dailypapers.store.schema import users

    now = datetime.now(UTC)
    accounts.create(email="a@example.org", username="Alice", password_hash=None)
    with pytest.raises(IntegrityError):
        with write_transaction(accounts.engine) as conn:
            conn.execute(users.insert().values(username="alice", origin="local", type="user", created_at=now))
    with write_transaction(accounts.engine) as conn:  # an imported name may differ only in case
        conn.execute(users.insert().values(username="ALICE", origin="hf", type="user", created_at=now))


def test_the_account_migration_goes_down_and_up_keeping_upvotes_and_submitters(unmigrated_url):
    import sqlalchemy as sa
    from alembic import command

    from dailypapers.store.engine import alembic_config, upgrade

    settings = make_settings(unmigrated_url)
    upgrade(settings, "0003")
    engine = sa.create_engine(unmigrated_url)
    when = "'2026-08-21 00:00:00'"
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO users (id, username, type, origin, created_at) VALUES (7, 'alice', 'user', "
                f"'local', {when})"
            )
            conn.exec_driver_sql(
                "INSERT INTO papers (id, arxiv_id, version, title, abstract, authors, imported_upvotes, "
                "upvotes, num_comments, created_at, modified_at) "
                f"VALUES (3, '2608.00001', 1, 'T', 'A', '[]', 0, 1, 0, {when}, {when})"
            )
            conn.exec_driver_sql(f"INSERT INTO upvotes (user_id, paper_id, created_at) VALUES (7, 3, {when})")
            conn.exec_driver_sql(
                "INSERT INTO feed_entries (paper_id, day, submitted_at, submitted_by_id) "
                f"VALUES (3, '2026-08-21', {when}, 7)"
            )

        def kept() -> tuple:
            with engine.connect() as conn:
                return (
                    conn.exec_driver_sql("SELECT user_id, paper_id FROM upvotes").all(),
                    conn.exec_driver_sql("SELECT submitted_by_id FROM feed_entries").scalar_one(),
                )

        upgrade(settings, "0004")
        assert kept() == ([(7, 3)], 7)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE users SET password_hash = 'x', role = 'admin' WHERE id = 7")
        # Down: the account columns and tables go, and nothing else does (on SQLite a rebuilt `users`
        # table used to take every upvote and every submitter with it, through the foreign keys).
        command.downgrade(alembic_config(settings), "0003")
        assert kept() == ([(7, 3)], 7)
        inspector = sa.inspect(engine)
        assert "password_hash" not in {c["name"] for c in inspector.get_columns("users")}
        gone = {"sessions", "api_tokens", "account_tokens", "rate_limits"}
        assert not gone & set(inspector.get_table_names())
        upgrade(settings, "0004")
        assert kept() == ([(7, 3)], 7)
    finally:
        engine.dispose()
