"""A mixed load like a busy day's, over the whole real corpus: 70 % reads, 20 % upvote toggles, 10 % comments,
by 50 signed-in readers on 50 connections, through the real `dailypapers serve`.

    python benchmarks/bench_mixed.py [--runs 3] [--duration 30] [--postgres postgresql+psycopg://...]
        [--soak 30] [--during-index-build] [--prepared /path/full.db]

Reads are, in equal shares: the latest day's page, paper pages spread over 1,000 papers, `/api/daily_papers`
for the day, and a hybrid search for one of 500 real title fragments. Reads carry the reader's session cookie
(their pages are their own: upvote marks), writes their personal API token. Rate limits are off (the load
would pass them: it is one machine's worth of people). One uvicorn worker on SQLite; two on PostgreSQL, as the
README deploys it.

The corpus needs its embeddings for hybrid search: `--prepared` names a SQLite database that holds the corpus
and its embeddings (default: made once, by `dailypapers import` and `dailypapers index build`, in
~/.cache/dailypapers-bench/, about 15 minutes on 2 cores). Each backend starts from a copy of it.

- `--soak MINUTES`: the same load for that long on SQLite: the server's RSS every 30 s (growth from the first
  minute's sample to the last), errors, and afterwards every paper's upvote and comment counts checked
  against the rows.
- `--during-index-build`: hybrid search alone (8 clients) while the machine is quiet, then while
  `dailypapers index build` embeds 5,000 papers whose embeddings were dropped (a nightly ingestion's share),
  p95 compared.

wrk and the server run at `nice -n -5` when allowed (root). Figures: medians over runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from bench_web import dailypapers_command, get, nice_prefix, stop, wait_for
from bench_web import wrk_script as wrk
from common import CORPUS, free_port, fresh_postgres, isolated_env, markdown_table, median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dailypapers-bench"
USERS = 50
CONNECTIONS = 50
PAPER_PAGES = 1000
QUERIES = 500
TARGET_P95_MS = 150
TARGET_RPS = 300
PERCENTILES = """
done = function(summary, latency, requests)
  for _, p in ipairs({50, 90, 95, 99}) do
    io.write(string.format("P%d_US %d\\n", p, latency:percentile(p)))
  end
end
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepared_database(path: Path | None) -> Path:
    """A SQLite file with the whole corpus and its embeddings: `path`, or the cached one (made if missing)."""
    if path is not None:
        return path
    target = CACHE / "full.db"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{target}"
    env = isolated_env(
        url, DAILYPAPERS_INDEX_DIR=str(CACHE / "full-index"), DAILYPAPERS_EMBEDDING_INLINE_LIMIT="0"
    )
    log(f"preparing {target}: import and index build (once; about 15 minutes on 2 cores)")
    for args in (["db", "upgrade"], ["import", str(CORPUS)], ["index", "build"]):
        subprocess.run([*dailypapers_command(), *args], env=env, check=True)
    return target


def copy_sqlite(prepared: Path, folder: Path) -> str:
    """A private copy (SQLite's backup API: consistent even with a WAL beside it)."""
    from dailypapers.store.backup import backup

    target = folder / "site.db"
    backup(f"sqlite:///{prepared}", target)
    return f"sqlite:///{target}"


def copy_to_postgres(prepared: Path, url: str) -> None:
    """The corpus imported into PostgreSQL, and the prepared embeddings copied in (no re-embedding)."""
    import sqlalchemy as sa

    from dailypapers.importers.files import import_file
    from dailypapers.settings import Settings
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.papers import SqlStore
    from dailypapers.store.schema import embeddings, papers

    settings = Settings(environment="development", database_url=url)
    upgrade(settings)
    store = SqlStore(make_engine(settings))
    import_file(store, CORPUS)
    source = sa.create_engine(f"sqlite:///{prepared}")
    with source.connect() as read, store.engine.begin() as write:
        ids = dict(write.execute(sa.select(papers.c.arxiv_id, papers.c.id)).all())
        rows = read.execute(
            sa.select(papers.c.arxiv_id, *[c for c in embeddings.c if c.name not in ("id", "paper_id")]).join(
                papers, papers.c.id == embeddings.c.paper_id
            )
        ).mappings()
        batch = []
        for row in rows:
            item = {k: v for k, v in row.items() if k != "arxiv_id"}
            item["paper_id"] = ids[row["arxiv_id"]]
            batch.append(item)
            if len(batch) == 5000:
                write.execute(embeddings.insert(), batch)
                batch = []
        if batch:
            write.execute(embeddings.insert(), batch)
    with store.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    source.dispose()
    store.engine.dispose()


def make_readers(database_url: str) -> tuple[list[str], list[str]]:
    """USERS accounts, each with a browser session and an API token."""
    from dailypapers.settings import Settings
    from dailypapers.store.accounts import AccountStore
    from dailypapers.store.engine import make_engine
    from dailypapers.store.papers import SqlStore

    store = SqlStore(make_engine(Settings(environment="development", database_url=database_url)))
    accounts = AccountStore(store)
    sessions, tokens = [], []
    for n in range(USERS):
        person = accounts.create(
            email=f"mixed{n}@example.org", username=f"mixed{n}", password_hash=None, verified=True
        )
        sessions.append(accounts.start_session(person.id, timedelta(days=2)))
        tokens.append(accounts.create_api_token(person.id, "bench")[0])
    store.engine.dispose()
    return sessions, tokens


def sample_queries(count: int, seed: int = 11) -> list[str]:
    """Short fragments of real titles (three to five words), as people type them."""
    rng = random.Random(seed)
    titles = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            if n % 97 == 0:
                titles.append(json.loads(line)["title"])
    picked = []
    for title in rng.sample(titles, min(count, len(titles))):
        words = [w for w in title.replace(":", " ").split() if w.isalpha()]
        if len(words) >= 3:
            start = rng.randrange(0, max(1, len(words) - 3))
            picked.append(" ".join(words[start : start + rng.randint(3, 5)]))
    return picked


def _lua(values) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def mixed_script(day: str, papers: list[str], day_papers: list[str], queries, sessions, tokens) -> str:
    comment = json.dumps({"comment": "A *mixed-load* comment: does it [hold](https://example.org)?"})
    return f"""
local papers = {_lua(papers)}
local day_papers = {_lua(day_papers)}
local queries = {_lua(queries)}
local sessions = {_lua(sessions)}
local tokens = {_lua(tokens)}
local day = {json.dumps(day)}
local made = 0
setup = function(thread)
  made = made + 1
  thread:set("id", made)
end
init = function(args)
  math.randomseed(os.time() + id * 7919)
end
local function escape(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
request = function()
  local user = math.random(#sessions)
  local roll = math.random()
  if roll < 0.7 then
    local cookie = {{["Cookie"] = "dp_session=" .. sessions[user]}}
    local which = math.random(4)
    if which == 1 then
      return wrk.format("GET", "/papers/date/" .. day, cookie)
    elseif which == 2 then
      return wrk.format("GET", "/papers/" .. papers[math.random(#papers)], cookie)
    elseif which == 3 then
      return wrk.format("GET", "/api/daily_papers?date=" .. day, cookie)
    else
      local q = escape(queries[math.random(#queries)])
      return wrk.format("GET", "/api/papers/search?limit=20&q=" .. q, cookie)
    end
  end
  local auth = {{["Authorization"] = "Bearer " .. tokens[user], ["Content-Type"] = "application/json"}}
  local paper = day_papers[math.random(#day_papers)]
  if roll < 0.9 then
    local method = "POST"
    if math.random(2) == 1 then method = "DELETE" end
    return wrk.format(method, "/api/papers/" .. paper .. "/upvote", auth)
  end
  return wrk.format("POST", "/api/papers/" .. paper .. "/comments", auth, {json.dumps(comment)})
end
{PERCENTILES}
"""


def search_script(queries: list[str]) -> str:
    return f"""
local queries = {_lua(queries)}
init = function(args) math.randomseed(os.time()) end
local function escape(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
request = function()
  return wrk.format("GET", "/api/papers/search?limit=20&q=" .. escape(queries[math.random(#queries)]))
end
{PERCENTILES}
"""


class Server:
    def __init__(self, database_url: str, folder: Path, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"serve-{self.port}.log"
        self.env = isolated_env(
            database_url,
            DAILYPAPERS_BASE_URL=self.base,
            DAILYPAPERS_INDEX_DIR=str(folder / "index"),
            DAILYPAPERS_RATE_LIMIT_ENABLED="false",
        )
        self.workers = workers

    def index(self) -> None:
        """The search indexes of this copy, built from its database (its embeddings are there)."""
        subprocess.run(
            [*dailypapers_command(), "index", "build"], env=self.env, check=True, capture_output=True
        )

    def __enter__(self) -> Server:
        command = [*nice_prefix(), *dailypapers_command(), "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        wait_for(self.base + "/", self.process, 180, self.log)
        return self

    def __exit__(self, *exc) -> None:
        stop(self.process)

    def rss_mb(self) -> float:
        """The server's resident memory, its worker processes included."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        total = 0.0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        return total


def plan(server: Server, sessions, tokens, folder: Path) -> tuple[Path, str]:
    status, body = get(server.base + "/index.json")
    if status != 200:
        raise SystemExit(f"/index.json answered {status}")
    index = json.loads(body)
    day = index["period"]["key"]
    day_papers = [item["paper"]["id"] for item in index["papers"]]
    status, body = get(server.base + "/api/daily_papers?limit=100&p=0&sort=trending")
    rng = random.Random(5)
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        ids = [json.loads(line)["arxiv_id"] for n, line in enumerate(lines) if n % 50 == 0]
    papers = rng.sample(ids, min(PAPER_PAGES, len(ids)))
    script = folder / "mixed.lua"
    script.write_text(mixed_script(day, papers, day_papers, sample_queries(QUERIES), sessions, tokens))
    return script, day


def counts_exact(database_url: str) -> tuple[int, int]:
    """Papers whose stored upvote or comment count differs from their rows (both should be 0)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        votes = conn.exec_driver_sql(
            "SELECT count(*) FROM papers p WHERE p.upvotes != p.imported_upvotes + "
            "(SELECT count(*) FROM upvotes u WHERE u.paper_id = p.id)"
        ).scalar_one()
        comments = conn.exec_driver_sql(
            "SELECT count(*) FROM papers p WHERE p.num_comments != (SELECT count(*) FROM comments c "
            "WHERE c.paper_id = p.id AND c.deleted_at IS NULL AND c.hidden_at IS NULL)"
        ).scalar_one()
    engine.dispose()
    return votes, comments


def bench(label: str, database_url: str, folder: Path, args, workers: int) -> dict:
    sessions, tokens = make_readers(database_url)
    server = Server(database_url, folder, workers)
    log(f"{label}: building the search indexes of the copy")
    server.index()
    runs = []
    with server:
        script, day = plan(server, sessions, tokens, folder)
        log(f"{label}: day {day}; warming up")
        wrk(server.base, script, 5, CONNECTIONS)
        for n in range(args.runs):
            result = wrk(server.base, script, args.duration, CONNECTIONS)
            result["rss_mb"] = server.rss_mb()
            runs.append(result)
            log(
                f"{label} run {n + 1}: {result['rps']:.0f} req/s, p95 {result['p95']:.1f} ms, "
                f"p99 {result['p99']:.1f} ms, errors {result['errors']}, RSS {result['rss_mb']:.0f} MB"
            )
    return {"workers": workers, "day": day, "runs": runs, "inexact": counts_exact(database_url)}


def soak(database_url: str, folder: Path, minutes: float) -> dict:
    sessions, tokens = make_readers(database_url)
    server = Server(database_url, folder, 1)
    server.index()
    samples: list[tuple[float, float]] = []
    with server:
        script, _day = plan(server, sessions, tokens, folder)
        wrk(server.base, script, 5, CONNECTIONS)
        stop_sampling = threading.Event()

        def sample() -> None:
            started = time.monotonic()
            while not stop_sampling.wait(30):
                samples.append((time.monotonic() - started, server.rss_mb()))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = wrk(server.base, script, int(minutes * 60), CONNECTIONS)
        stop_sampling.set()
        sampler.join()
    first = next((rss for at, rss in samples if at >= 60), samples[0][1])
    last = samples[-1][1]
    return {
        "minutes": minutes,
        "result": result,
        "rss": samples,
        "growth": (last - first) / first,
        "inexact": counts_exact(database_url),
    }


def during_index_build(database_url: str, folder: Path, duration: int) -> dict:
    import sqlalchemy as sa

    server = Server(database_url, folder, 1)
    server.index()
    script = folder / "search.lua"
    script.write_text(search_script(sample_queries(QUERIES, seed=3)))
    with server:
        wrk(server.base, script, 5, 8)
        quiet = wrk(server.base, script, duration, 8)
        log(f"search alone, quiet: p95 {quiet['p95']:.1f} ms, {quiet['rps']:.0f} req/s")
        engine = sa.create_engine(database_url)
        with engine.begin() as conn:  # what a nightly ingestion brings: papers without embeddings
            conn.exec_driver_sql(
                "DELETE FROM embeddings WHERE id IN (SELECT id FROM embeddings ORDER BY random() LIMIT 5000)"
            )
        engine.dispose()
        build = subprocess.Popen(
            [*dailypapers_command(), "index", "build"],
            env=server.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(15)  # past the keyword rebuild, into the embedding
        busy = wrk(server.base, script, duration, 8)
        still_building = build.poll() is None
        build.wait()
        log(f"search during index build: p95 {busy['p95']:.1f} ms (building till the end: {still_building})")
    return {"quiet": quiet, "busy": busy, "ratio": busy["p95"] / quiet["p95"], "covered": still_building}


def table(outcomes: dict) -> str:
    rows = []
    for label, outcome in outcomes.items():
        runs = outcome["runs"]
        p95 = median([r["p95"] for r in runs])
        rps = median([r["rps"] for r in runs])
        errors = sum(r["errors"] for r in runs)
        met = p95 <= TARGET_P95_MS and rps >= TARGET_RPS and errors == 0
        rows.append(
            [
                f"{label}, {outcome['workers']} worker(s)",
                f"{rps:,.0f}",
                f"{median([r['p50'] for r in runs]):.1f}",
                f"{p95:.1f}",
                f"{median([r['p99'] for r in runs]):.1f}",
                errors,
                ", ".join(f"{r['p95']:.0f}" for r in runs),
                f"{outcome['inexact'][0]} / {outcome['inexact'][1]}",
                "met" if met else "**missed**",
            ]
        )
    header = [
        "backend",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "p95 each run",
        "counts off",
        "target",
    ]
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throw-away database is made on it")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--postgres-workers", type=int, default=2)
    parser.add_argument("--prepared", type=Path, help="a SQLite database with the corpus and its embeddings")
    parser.add_argument("--soak", type=float, help="minutes of soak on SQLite")
    parser.add_argument("--during-index-build", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    prepared = prepared_database(args.prepared)
    outcomes: dict = {}
    with tempfile.TemporaryDirectory(prefix="dailypapers-bench-mixed-") as name:
        folder = Path(name)
        if not args.no_sqlite:
            (folder / "sqlite").mkdir()
            outcomes["SQLite"] = bench(
                "SQLite", copy_sqlite(prepared, folder / "sqlite"), folder / "sqlite", args, 1
            )
        if args.postgres:
            (folder / "pg").mkdir()
            with fresh_postgres(args.postgres) as url:
                log("PostgreSQL: importing the corpus and copying its embeddings")
                copy_to_postgres(prepared, url)
                outcomes["PostgreSQL"] = bench("PostgreSQL", url, folder / "pg", args, args.postgres_workers)
        extra: dict = {}
        if args.soak:
            (folder / "soak").mkdir()
            extra["soak"] = soak(copy_sqlite(prepared, folder / "soak"), folder / "soak", args.soak)
        if args.during_index_build:
            (folder / "build").mkdir()
            extra["during_index_build"] = during_index_build(
                copy_sqlite(prepared, folder / "build"), folder / "build", args.duration
            )
    if outcomes:
        print(table(outcomes) + "\n")
    if "soak" in extra:
        s = extra["soak"]
        r = s["result"]
        print(
            f"Soak {s['minutes']:g} min: {r['rps']:.0f} req/s, p95 {r['p95']:.1f} ms, errors {r['errors']}, "
            f"RSS {s['rss'][0][1]:.0f} -> {s['rss'][-1][1]:.0f} MB (growth after the first minute "
            f"{s['growth'] * 100:+.1f} %), counts off {s['inexact']}"
        )
    if "during_index_build" in extra:
        d = extra["during_index_build"]
        print(
            f"Search p95 quiet {d['quiet']['p95']:.1f} ms, during index build {d['busy']['p95']:.1f} ms "
            f"({d['ratio']:.2f}x; build running throughout: {d['covered']})"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**outcomes, **extra}, indent=2))


if __name__ == "__main__":
    main()
