"""`dailypapers import` as a person runs it: a subprocess on a database migrated by `dailypapers db upgrade`,
on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from conftest import CORPUS, FIXTURES, make_settings
from dailypapers.papers import as_utc
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from dailypapers.store.schema import feed_entries, paper_versions, papers, users

KAGGLE = FIXTURES / "kaggle"
HF = FIXTURES / "hf_api"
KILL_SLICE = 6_000


# -- running the command ------------------------------------------------------------------------------------


def _command() -> list[str]:
    script = shutil.which("dailypapers") or str(Path(sys.executable).parent / "dailypapers")
    if Path(script).exists():
        return [script]
    return [sys.executable, "-c", "from dailypapers.cli import main; main()"]


INDEX_ROOT: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _index_root(tmp_path_factory):
    """Derived search indexes go to a temporary folder, not the user's data directory."""
    INDEX_ROOT[:] = [tmp_path_factory.mktemp("index")]


def cli_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env.update(
        DAILYPAPERS_DATABASE_URL=url,
        DAILYPAPERS_ENVIRONMENT="test",
        DAILYPAPERS_SECRET_KEY="test-secret-key-0123456789",
        # What this module tests is the import; semantic-search embeddings are left to `index build`.
        DAILYPAPERS_EMBEDDING_INLINE_LIMIT="0",
        DAILYPAPERS_INDEX_DIR=str(INDEX_ROOT[0] / hashlib.sha1(url.encode()).hexdigest()[:12]),
    )
    return env


def run(url: str, *args: str | Path, expect: int | None = 0) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*_command(), *map(str, args)], env=cli_env(url), capture_output=True, text=True, timeout=300
    )
    if expect is not None:
        assert result.returncode == expect, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def summary(result: subprocess.CompletedProcess) -> dict[str, int]:
    """The numbers of the last line: `Read N records ...: a new, b updated, c unchanged, d skipped as bad`."""
    text = " ".join(result.stderr.split())
    match = re.search(
        r"Read ([\d,]+) records.*?([\d,]+) new, ([\d,]+) updated, ([\d,]+) unchanged, "
        r"([\d,]+) skipped as bad; ([\d,]+) new days",
        text,
    )
    assert match, result.stderr[-2000:]
    numbers = [int(g.replace(",", "")) for g in match.groups()]
    return dict(zip(["read", "new", "updated", "unchanged", "bad", "feed_new"], numbers, strict=True))


def skipped(result: subprocess.CompletedProcess, path: Path) -> dict[int, str]:
    """The reported bad lines of `path`: {line number: reason}."""
    found = {}
    for line in result.stderr.splitlines():
        match = re.match(rf"skipped {re.escape(str(path))}:(\d+): (.+)$", line.strip())
        if match:
            found[int(match.group(1))] = match.group(2)
    return found


# -- databases ----------------------------------------------------------------------------------------------
#
# `dailypapers db upgrade` runs once per database kind and module (through the command, as an operator would);
# each test then starts from an empty copy: a copy of the SQLite file, or truncated tables on PostgreSQL (in
# a database of this module's own, so that other modules resetting theirs cannot get in the way).


@pytest.fixture(scope="module")
def postgres_module_url():
    from conftest import POSTGRES_ADMIN_URL

    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"dailypapers_cli_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated_template(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'template.db'}"
    else:
        url = request.getfixturevalue("postgres_module_url")
    result = run(url, "db", "upgrade")
    assert "revision head" in result.stderr
    return url


@pytest.fixture
def url(migrated_template, tmp_path):
    """An empty database migrated by `dailypapers db upgrade`."""
    if migrated_template.startswith("sqlite"):
        path = tmp_path / "cli.db"
        shutil.copy(make_url(migrated_template).database, path)
        return f"sqlite:///{path}"
    engine = sa.create_engine(migrated_template)
    with engine.begin() as conn:
        names = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        conn.exec_driver_sql(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    engine.dispose()
    shutil.rmtree(cli_env(migrated_template)["DAILYPAPERS_INDEX_DIR"], ignore_errors=True)
    return migrated_template


@pytest.fixture
def empty_url(tmp_path):
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def store(url):
    store = SqlStore(make_engine(make_settings(url)))
    yield store
    store.engine.dispose()


def scalar(store, query):
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one()


def table_count(store, table) -> int:
    return scalar(store, select(func.count()).select_from(table))


def corpus_lines(n: int) -> list[bytes]:
    """The first `n` lines of the committed corpus slice (tests/fixtures/corpus)."""
    with gzip.open(CORPUS, "rb") as source:
        lines = list(itertools.islice(source, n))
    assert len(lines) == n, f"{CORPUS} has {len(lines)} lines, not {n}"
    return lines


# -- JSON Lines ---------------------------------------------------------------------------------------------


def test_import_needs_a_migrated_database(empty_url, tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_bytes(corpus_lines(1)[0])
    result = run(empty_url, "import", path, expect=2)
    assert "dailypapers db upgrade" in result.stderr


def test_import_jsonl_plain_and_gzipped(url, store, tmp_path):
    lines = corpus_lines(1150)
    lines = lines[:150] + lines[1000:]  # Daily Papers rows, then arXiv listing rows
    rows = [json.loads(line) for line in lines]
    plain = tmp_path / "slice.jsonl"
    plain.write_bytes(b"".join(lines))
    gz = tmp_path / "slice.jsonl.gz"
    with gzip.open(gz, "wb") as out:
        out.write(b"".join(lines))

    first = summary(run(url, "import", plain))
    on_feed = [r for r in rows if r.get("daily_date")]
    assert first == {
        "read": 300,
        "new": 300,
        "updated": 0,
        "unchanged": 0,
        "bad": 0,
        "feed_new": len(on_feed),
    }
    second = summary(run(url, "import", gz))
    assert second == {"read": 300, "new": 0, "updated": 0, "unchanged": 300, "bad": 0, "feed_new": 0}

    assert store.count_papers() == 300
    assert table_count(store, feed_entries) == len(on_feed)
    assert table_count(store, users) == len({r["submitted_by"] for r in rows if r.get("submitted_by")})
    assert scalar(store, select(func.sum(papers.c.imported_upvotes))) == sum(
        r.get("upvotes") or 0 for r in rows
    )

    row = next(r for r in on_feed if r.get("submitted_by") and r.get("upvotes"))
    view = store.get(row["arxiv_id"])
    assert view.title == row["title"] and view.abstract == row["abstract"]
    assert view.authors == row["authors"] and view.categories == (row.get("categories") or [])
    assert view.published_at == datetime.fromisoformat(row["published_at"].replace("Z", "+00:00"))
    assert view.upvotes == row["upvotes"]
    assert view.day == date.fromisoformat(row["daily_date"])
    assert view.submitter.username == row["submitted_by"]
    assert view.github_repo == row.get("github_repo")
    listing = next(r for r in rows if not r.get("daily_date") and r.get("categories"))
    assert store.get(listing["arxiv_id"]).day is None
    assert store.get(listing["arxiv_id"]).categories == listing["categories"]


# -- Kaggle -------------------------------------------------------------------------------------------------


def test_import_kaggle_snapshot(url, store):
    head = KAGGLE / "arxiv-metadata-oai-snapshot.head200.jsonl"
    sample = KAGGLE / "arxiv-metadata-oai-snapshot.sample.jsonl"
    counts = summary(run(url, "import", head, sample))
    assert counts["read"] == 202 and counts["bad"] == 0
    assert counts["new"] == 201  # 0704.0002 is in both files
    assert store.count_papers() == 201

    old_style = store.get("hep-th/9608091")
    assert old_style.title == (
        "Excited State Destri - De Vega Equation for Sine-Gordon and Restricted Sine-Gordon Models"
    )
    # From authors_parsed (last, first, suffix, affiliation): "first last", affiliation dropped.
    assert old_style.authors == ["D. Fioravanti", "A. Mariottini", "E. Quattrini", "F. Ravanini"]
    assert old_style.version == 1
    assert old_style.categories == ["hep-th"]
    assert old_style.doi == "10.1016/S0370-2693(96)01409-8"
    assert old_style.journal_ref == "Phys.Lett.B390:243-251,1997"
    assert old_style.published_at == datetime(1996, 8, 14, 16, 31, 26, tzinfo=UTC)
    assert old_style.abstract.startswith("We derive a generalization of the Destri - De Vega equation")

    two_versions = store.get("0704.0002")
    assert two_versions.version == 2
    assert two_versions.authors == ["Ileana Streinu", "Louis Theran"]
    assert two_versions.categories == ["math.CO", "cs.CG"]
    assert two_versions.published_at == datetime(2007, 3, 31, 2, 26, 18, tzinfo=UTC)
    assert two_versions.updated_at == datetime(2008, 12, 13, 17, 26, tzinfo=UTC)
    assert two_versions.day is None  # Kaggle says nothing about Daily Papers
    with store.engine.connect() as conn:
        seen = conn.execute(
            select(paper_versions.c.version, paper_versions.c.created_at)
            .where(paper_versions.c.paper_id == two_versions.id)
            .order_by(paper_versions.c.version)
        ).all()
    assert [(n, as_utc(at)) for n, at in seen] == [
        (1, datetime(2007, 3, 31, 2, 26, 18, tzinfo=UTC)),
        (2, datetime(2008, 12, 13, 17, 26, tzinfo=UTC)),
    ]

    with head.open() as lines:
        expected = [json.loads(line) for line in lines]
    for obj in expected[:20]:
        view = store.get(obj["id"])
        assert view is not None
        assert view.version == len(obj["versions"])
        assert len(view.authors) == len(obj["authors_parsed"])
    first = store.get("0704.0001")
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert first.version == 2 and first.updated_at == datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)
    assert (
        first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )


# -- Hugging Face -------------------------------------------------------------------------------------------


def test_import_hf_daily_items(url, store):
    single = HF / "daily_item_2602.23229.json"  # one pretty-printed object
    array = HF / "daily_papers_2026-03-06_single_item.json"  # a pretty-printed array of one
    first = summary(run(url, "import", single))
    assert (first["read"], first["new"], first["feed_new"], first["bad"]) == (1, 1, 1, 0)
    view = store.get("2602.23229")
    assert view.title == "Large Multimodal Models as General In-Context Classifiers"
    assert view.authors[0] == "Marco Garosi" and len(view.authors) == 5
    assert view.upvotes == 10
    assert view.hf_comments == 1 and view.num_comments == 0  # Hugging Face's discussion, not ours
    assert view.github_repo == "https://github.com/marco-garosi/CIRCLE"
    assert view.github_stars == 9
    assert view.project_page == "https://circle-lmm.github.io/"
    assert view.organization == "Multimedia and Human Understanding Group"
    assert "in-context learning" in view.ai_keywords
    assert view.ai_summary.startswith("Large Multimodal Models demonstrate")
    assert view.published_at == datetime(2026, 2, 26, 17, 8, 18, tzinfo=UTC)
    assert view.day == date(2026, 3, 6)
    assert view.submitted_at == datetime(2026, 3, 6, 3, 55, 12, 777000, tzinfo=UTC)
    assert view.submitter.username == "marco-garosi"
    assert view.submitter.fullname == "Marco Garosi"
    assert view.submitter.avatar_url == "/avatars/0bcba885d6e0ff74e03f42faa5c86783.svg"

    # The same item from the array: the longer abstract of the same version replaces the shortened one.
    second = summary(run(url, "import", array))
    assert (second["read"], second["new"], second["feed_new"]) == (1, 0, 0)
    assert store.get("2602.23229").abstract.endswith("a flexible alternative to specialized models.")
    assert (store.count_papers(), table_count(store, feed_entries), table_count(store, users)) == (1, 1, 1)
    assert [v.arxiv_id for v in store.feed()] == ["2602.23229"]


def test_import_hf_search_results(url, store):
    files = [HF / "search_2407.21783.json", HF / "search_kazakh.json"]
    items = [item for path in files for item in json.loads(path.read_text())]
    counts = summary(run(url, "import", *files))
    assert counts["read"] == len(items) == 20
    assert counts["bad"] == 0
    assert store.count_papers() == len({item["paper"]["id"] for item in items})
    for item in items:
        view = store.get(item["paper"]["id"])
        assert view.authors == [a["name"] for a in item["paper"]["authors"]]
        assert view.upvotes >= (item["paper"].get("upvotes") or 0)


# -- bad input ----------------------------------------------------------------------------------------------


def _row(arxiv_id: str, **fields) -> dict:
    return {"arxiv_id": arxiv_id, "title": f"T {arxiv_id}", "abstract": "A.", "authors": ["X"], **fields}


def _line(obj) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def test_bad_lines_are_reported_counted_and_skipped(url, store, tmp_path):
    lines = [
        b'{"arxiv_id": "2401.00001", "title": \n',  # 1: not JSON (and the first line: still JSON Lines)
        _line(_row("2401.00002", daily_date="2026-08-20", upvotes=3, submitted_by="alice")),  # 2: good
        _line({k: v for k, v in _row("2401.00003").items() if k != "title"}),  # 3
        _line(_row("not-an-id")),  # 4
        _line(_row("2401.00005", authors="X")),  # 5: wrong type
        b"\n",  # 6: empty, not an error
        _line(_row("2401.00007", upvotes="many")),  # 7: wrong type
        _line(_row("2401.00008", abstract="x" * (10 * 1024 * 1024))),  # 8: 10 MB
        _line(_row("2401.00009", daily_date="2026-08-20", upvotes=5)),  # 9: good
        b"[1, 2, 3]\n",  # 10
        b'{"foo": 1}\n',  # 11
        _line(_row("2401.00012", upvotes=2**31)),  # 12: does not fit an integer column
        _line(_row("2401.00013", title="Nul\u0000title")),  # 13: good, NUL dropped
        _line(_row("2401.00014", published_at="0001-01-01T00:00:00+05:00")),  # 14
        b'{"arxiv_id": "2401.00015", "title": "\xff\xfe"}\n',  # 15: not UTF-8
        _line(_row("2401.00016", title=5)),  # 16: wrong type
        b"   \n",  # 17: blank
        json.dumps(_row("2401.00018")).encode(),  # 18: good, no final newline
    ]
    path = tmp_path / "bad [lines].jsonl"  # brackets: the path is no markup
    path.write_bytes(b"".join(lines))
    result = run(url, "import", path)
    reported = skipped(result, path)
    expected = {
        1: "not valid JSON",
        3: "missing title",
        4: "not an arXiv id",
        5: "authors must be a non-empty list",
        7: "upvotes must be a number",
        8: "line longer than",
        10: "expected a JSON object",
        11: "unknown format",
        12: "upvotes must be a number",
        14: "published_at is out of range",
        15: "not valid JSON",
        16: "title must be a string",
    }
    assert sorted(reported) == sorted(expected), result.stderr[-3000:]
    for number, reason in expected.items():
        assert reason in reported[number], (number, reported[number])
    counts = summary(result)
    assert counts["bad"] == len(expected)
    assert counts["read"] == 16  # every line but the blank ones
    assert counts["new"] == 4 and counts["feed_new"] == 2
    assert sorted(
        store.get(i).arxiv_id for i in ["2401.00002", "2401.00009", "2401.00013", "2401.00018"]
    ) == [
        "2401.00002",
        "2401.00009",
        "2401.00013",
        "2401.00018",
    ]
    assert store.count_papers() == 4
    assert store.get("2401.00013").title == "Nultitle"
    assert store.feed()[0].arxiv_id == "2401.00009"


def test_truncated_gzip_reports_the_line_and_keeps_what_came_before(url, store, tmp_path):
    lines = corpus_lines(3000)
    whole = gzip.compress(b"".join(lines))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    result = run(url, "import", path)
    reported = skipped(result, path)
    truncated = [n for n, reason in reported.items() if "truncated or corrupt" in reason]
    assert len(truncated) == 1, result.stderr[-2000:]
    kept = store.count_papers()
    assert 0 < kept < 3000
    assert truncated[0] > kept
    # Exactly the lines before the cut are in.
    expected = {json.loads(line)["arxiv_id"] for line in lines[:kept]}
    with store.engine.connect() as conn:
        assert set(conn.execute(select(papers.c.arxiv_id)).scalars()) == expected
    assert summary(result)["bad"] == len(reported)


def test_corrupt_gzip_is_reported_not_a_traceback(url, store, tmp_path):
    whole = bytearray(gzip.compress(b"".join(corpus_lines(500))))
    whole[len(whole) // 2 : len(whole) // 2 + 64] = bytes(64)
    path = tmp_path / "corrupt.jsonl.gz"
    path.write_bytes(bytes(whole))
    result = run(url, "import", "--show-errors", "100000", path, expect=None)
    assert result.returncode in (0, 1)
    assert "truncated or corrupt" in result.stderr or "cannot be read" in result.stderr
    counts = summary(result)
    assert counts["new"] == store.count_papers() < 500
    header_only = tmp_path / "header.gz"
    header_only.write_bytes(b"\x1f\x8b\x08\x00garbage")
    result = run(url, "import", header_only, expect=None)
    assert result.returncode in (0, 1) and str(header_only) in result.stderr


def test_missing_file_is_a_clear_error(url, store, tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_bytes(_line(_row("2401.00001")))
    missing = tmp_path / "nope.jsonl.gz"
    result = run(url, "import", missing, expect=1)
    assert f"{missing}: No such file or directory" in " ".join(result.stderr.split())
    # The other files of the run are still imported.
    result = run(url, "import", missing, good, expect=1)
    assert summary(result)["new"] == 1
    assert store.count_papers() == 1
    result = run(url, "import", tmp_path, expect=1)  # a directory
    assert str(tmp_path) in result.stderr


def test_not_json_at_all(url, store, tmp_path):
    broken_document = tmp_path / "broken.json"
    broken_document.write_text('[\n  {"paper": {"id": "2401.00001",\n')
    result = run(url, "import", broken_document, expect=1)
    assert "neither JSON Lines nor a JSON document" in " ".join(result.stderr.split())
    # Another kind of file altogether: one message, not one per line.
    csv = tmp_path / "papers.csv"
    csv.write_text("arxiv_id,title\n2401.00001,A title\n")
    binary = tmp_path / "papers.jsonl.zst"
    binary.write_bytes(bytes(range(256)) * 40)
    result = run(url, "import", csv, binary, expect=1)
    text = " ".join(result.stderr.split())
    assert f"{csv}: neither JSON Lines nor a JSON document" in text
    assert f"{binary}: neither JSON Lines nor a JSON document" in text
    assert "skipped " + str(csv) not in text and summary(result)["bad"] == 0
    assert store.count_papers() == 0


def test_byte_order_mark_and_crlf(url, store, tmp_path):
    path = tmp_path / "windows.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + _line(_row("2401.00001")).replace(b"\n", b"\r\n") + _line(_row("2401.00002"))
    )
    counts = summary(run(url, "import", path))
    assert (counts["new"], counts["bad"]) == (2, 0)


# -- kill -9 ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kill_slice(tmp_path_factory):
    """KILL_SLICE papers, gzipped, and what they should make: the rows of the committed corpus slice again
    and again, each paper under an arXiv id of its own (2501.00000 on): enough to be killed mid-way."""
    rows = [json.loads(line) for line in corpus_lines(3000)]
    path = tmp_path_factory.mktemp("kill") / "slice.jsonl.gz"
    ids, feed, submitters, votes = set(), 0, set(), 0
    with gzip.open(path, "wb", compresslevel=1) as out:
        for n in range(KILL_SLICE):
            row = {**rows[n % len(rows)], "arxiv_id": f"2501.{n:05d}"}
            out.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
            ids.add(row["arxiv_id"])
            feed += bool(row.get("daily_date") or row.get("submitted_on_daily_at"))
            if row.get("submitted_by"):
                submitters.add(row["submitted_by"])
            votes += row.get("upvotes") or 0
    return path, {"papers": len(ids), "feed": feed, "users": len(submitters), "votes": votes}


@pytest.mark.slow
def test_import_killed_with_sigkill_and_rerun_has_every_paper_once(url, store, kill_slice, tmp_path):
    path, expected = kill_slice
    log = (tmp_path / "killed.log").open("w")
    process = subprocess.Popen(
        [*_command(), "import", str(path)], env=cli_env(url), stdout=log, stderr=subprocess.STDOUT
    )
    landed = 0
    deadline = time.monotonic() + 240
    try:
        # Wait until a few batches have committed, then kill it without a chance to clean up.
        while process.poll() is None and time.monotonic() < deadline:
            try:
                landed = store.count_papers()
            except sa.exc.OperationalError:  # the table is being written to; ask again
                landed = 0
            if landed >= 3000:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        log.close()
    assert process.returncode == -signal.SIGKILL, "the import ended before it could be killed"
    at_kill = store.count_papers()
    assert landed <= at_kill < expected["papers"]

    counts = summary(run(url, "import", path))
    assert counts["new"] + counts["unchanged"] + counts["updated"] == expected["papers"]
    assert counts["unchanged"] + counts["updated"] >= at_kill

    with store.engine.connect() as conn:
        total, distinct = conn.execute(select(func.count(), func.count(papers.c.arxiv_id.distinct()))).one()
        entries = conn.execute(select(func.count()).select_from(feed_entries)).scalar_one()
        distinct_entries = conn.execute(
            select(func.count()).select_from(
                select(feed_entries.c.paper_id, feed_entries.c.day).distinct().subquery()
            )
        ).scalar_one()
        people = conn.execute(select(func.count()).select_from(users)).scalar_one()
        votes = conn.execute(select(func.sum(papers.c.imported_upvotes))).scalar_one()
    assert total == distinct == expected["papers"]
    assert entries == distinct_entries == expected["feed"]
    assert people == expected["users"]
    assert votes == expected["votes"]
