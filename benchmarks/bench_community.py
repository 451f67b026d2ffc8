"""Upvote and comment endpoints under 20 concurrent clients, and the feed pages for signed-in readers next to
anonymous ones, in the same run, over the whole real corpus.

    python benchmarks/bench_community.py [--runs 3] [--duration 10] [--postgres postgresql+psycopg://...]
        [--workers 1] [--postgres-workers 2]

For each database it migrates a fresh one, imports the corpus (in process, as `dailypapers import` does),
makes 200 accounts with personal API tokens and browser sessions straight in the database, then runs the real
`dailypapers serve` on a free loopback port: one uvicorn worker on SQLite (its writers queue on one process's
lock; two processes meet at SQLite's own lock, whose busy handler sleeps), and one per core on PostgreSQL, as
the README deploys it (`--workers 2`). Each scenario gets a 2 s warm-up, then
`wrk -t2 -c<clients> -d<duration>s --latency` with a Lua script that picks, per request, a random account
and a random paper of the latest day:

- `POST`/`DELETE /api/papers/{id}/upvote` (a coin decides), Bearer token, 20 clients;
- `POST /api/papers/{id}/comments` (a short Markdown comment), Bearer token, 20 clients;
- `GET /api/papers/{id}/comments`, anonymous, 20 clients;
- the day page and `/api/daily_papers?date=`, 32 clients: anonymous; signed in as one of 20 readers (each
  reader's page is cached for them until the next commit); and "cold", every request from another of 2,000
  sessions, so each builds its page (what a reader meets on their first view after each write).

Rate limits stay on (their counter is one more write per request), with limits the load cannot reach.
The server and wrk run at `nice -n -5` when allowed. Tables show medians over runs; --json keeps them all.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from bench_web import dailypapers_command, get, nice_prefix, stop, wait_for, wrk_script
from common import CORPUS, free_port, fresh_postgres, fresh_sqlite, isolated_env, markdown_table, median

HERE = Path(__file__).resolve().parent
TARGET_P95_MS = 50
ACCOUNTS = 200
COLD_SESSIONS = 2000
READERS = 20
PERCENTILES = """
done = function(summary, latency, requests)
  for _, p in ipairs({50, 90, 95, 99}) do
    io.write(string.format("P%d_US %d\\n", p, latency:percentile(p)))
  end
end
"""


def prepare(database_url: str, corpus: Path) -> dict:
    """Migrate, import the corpus, make the accounts; return their tokens and sessions."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from dailypapers.importers.files import import_file
    from dailypapers.settings import Settings
    from dailypapers.store.accounts import AccountStore
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.papers import SqlStore

    settings = Settings(environment="development", database_url=database_url)
    upgrade(settings)
    store = SqlStore(make_engine(settings))
    started = time.perf_counter()
    import_file(store, corpus)
    imported = time.perf_counter() - started
    accounts = AccountStore(store)
    tokens, sessions = [], []
    for n in range(ACCOUNTS):
        person = accounts.create(
            email=f"bench{n}@example.org", username=f"bench{n}", password_hash=None, verified=True
        )
        tokens.append(accounts.create_api_token(person.id, "bench")[0])
        for _ in range(COLD_SESSIONS // ACCOUNTS):
            sessions.append(accounts.start_session(person.id, timedelta(days=1)))
    if database_url.startswith("postgresql"):
        # As autovacuum soon would (bench_web.py does the same after its import).
        with store.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    store.engine.dispose()
    return {"tokens": tokens, "sessions": sessions, "import_s": imported}


@contextmanager
def serving(database_url: str, workdir: Path, workers: int = 1):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / f"serve-{port}.log"
    env = isolated_env(
        database_url,
        DAILYPAPERS_BASE_URL=base,
        DAILYPAPERS_RATE_LIMIT_UPVOTE="1000000/1m",
        DAILYPAPERS_RATE_LIMIT_COMMENT="1000000/1m",
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *nice_prefix(),
                *dailypapers_command(),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_for(base + "/", process, 120, log)
        yield base
    finally:
        stop(process)


def _lua_list(values) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def lua_script(kind: str, papers: list[str], secrets: list[str], path: str = "") -> str:
    """A wrk script: each request picks a random secret (token or session) and paper."""
    body = json.dumps({"comment": "A **benchmark** comment: does it [hold](https://example.org)?"})
    return f"""
local papers = {_lua_list(papers)}
local secrets = {_lua_list(secrets)}
local kind = {json.dumps(kind)}
local made = 0
setup = function(thread)
  made = made + 1
  thread:set("id", made)
end
init = function(args)
  math.randomseed(os.time() + id * 7919)
end
request = function()
  local secret = secrets[math.random(#secrets)]
  local paper = papers[math.random(#papers)]
  if kind == "upvote" then
    local method = "POST"
    if math.random(2) == 1 then method = "DELETE" end
    local auth = {{["Authorization"] = "Bearer " .. secret}}
    return wrk.format(method, "/api/papers/" .. paper .. "/upvote", auth)
  elseif kind == "comment" then
    return wrk.format("POST", "/api/papers/" .. paper .. "/comments",
      {{["Authorization"] = "Bearer " .. secret, ["Content-Type"] = "application/json"}}, {json.dumps(body)})
  elseif kind == "comments" then
    return wrk.format("GET", "/api/papers/" .. paper .. "/comments")
  elseif kind == "cookie" then
    return wrk.format("GET", {json.dumps(path)}, {{["Cookie"] = "dp_session=" .. secret}})
  elseif kind == "bearer" then
    return wrk.format("GET", {json.dumps(path)}, {{["Authorization"] = "Bearer " .. secret}})
  else
    return wrk.format("GET", {json.dumps(path)})
  end
end
{PERCENTILES}
"""


def run_wrk(base: str, script: Path, duration: int, clients: int) -> dict:
    return wrk_script(base, script, duration, clients, slack=60)


def scenarios(base: str, made: dict) -> tuple[str, list[tuple[str, int, str, list[str], str]], list[str]]:
    status, body = get(base + "/index.json")
    if status != 200:
        raise SystemExit(f"/index.json answered {status}")
    index = json.loads(body)
    day = index["period"]["key"]
    papers = [item["paper"]["id"] for item in index["papers"]]
    tokens, sessions = made["tokens"], made["sessions"]
    readers = sessions[:: len(sessions) // READERS][:READERS]
    day_page, day_api = f"/papers/date/{day}", f"/api/daily_papers?date={day}"
    return (
        day,
        [
            # (label, clients, kind, secrets, path)
            ("upvote (POST/DELETE, token)", 20, "upvote", tokens, ""),
            ("comment (POST, token)", 20, "comment", tokens, ""),
            ("comments (GET, anonymous)", 20, "comments", tokens, ""),
            ("day page, anonymous", 32, "plain", tokens, day_page),
            ("day page, 20 signed-in readers", 32, "cookie", readers, day_page),
            ("day page, signed in, cold (2,000 sessions)", 32, "cookie", sessions, day_page),
            ("/api/daily_papers?date=, anonymous", 32, "plain", tokens, day_api),
            ("/api/daily_papers?date=, 20 readers' tokens", 32, "bearer", tokens[:READERS], day_api),
        ],
        papers,
    )


def bench_backend(label: str, database_url: str, args, workdir: Path, workers: int) -> dict:
    print(f"{label}: importing and making {ACCOUNTS} accounts ...", file=sys.stderr, flush=True)
    made = prepare(database_url, args.corpus)
    print(f"{label}: ready ({made['import_s']:.1f} s import)", file=sys.stderr, flush=True)
    results: dict[str, list[dict]] = {}
    with serving(database_url, workdir, workers) as base:
        day, plan, papers = scenarios(base, made)
        print(f"{label}: day {day}, {len(papers)} papers on it", file=sys.stderr, flush=True)
        for run in range(args.runs):
            for name, clients, kind, secrets, path in plan:
                script = workdir / f"{kind}.lua"
                script.write_text(lua_script(kind, papers, secrets, path))
                run_wrk(base, script, 2, clients)  # warm-up
                result = run_wrk(base, script, args.duration, clients)
                results.setdefault(name, []).append(result)
                print(
                    f"{label} run {run + 1}: {name}: {result['rps']:.0f} req/s, p95 {result['p95']:.1f} ms, "
                    f"errors {result['errors']}",
                    file=sys.stderr,
                    flush=True,
                )
    return {"day": day, "workers": workers, "results": results}


def table(label: str, outcome: dict) -> str:
    rows = []
    for name, runs in outcome["results"].items():
        p95 = median([r["p95"] for r in runs])
        target = ""
        if name.startswith(("upvote", "comment")):
            target = "met" if p95 <= TARGET_P95_MS else "**missed**"
        rows.append(
            [
                name,
                f"{median([r['rps'] for r in runs]):,.0f}",
                f"{median([r['p50'] for r in runs]):.1f}",
                f"{median([r['p90'] for r in runs]):.1f}",
                f"{p95:.1f}",
                f"{median([r['p99'] for r in runs]):.1f}",
                sum(r["errors"] for r in runs),
                ", ".join(f"{r['p95']:.1f}" for r in runs),
                target,
            ]
        )
    header = ["scenario", "req/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "errors", "p95 each run", "target"]
    workers = outcome.get("workers", 1)
    title = f"### {label} (day {outcome['day']}, {workers} worker{'s' if workers > 1 else ''})"
    return title + "\n\n" + markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throw-away database is made on it")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers on SQLite")
    parser.add_argument("--postgres-workers", type=int, default=2, help="uvicorn workers on PostgreSQL")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="papers to import (default: the corpus)")
    args = parser.parse_args()
    outcomes = {}
    with tempfile.TemporaryDirectory(prefix="dailypapers-bench-community-") as folder:
        workdir = Path(folder)
        if not args.no_sqlite:
            with fresh_sqlite() as url:
                outcomes["SQLite"] = bench_backend("SQLite", url, args, workdir, args.workers)
        if args.postgres:
            with fresh_postgres(args.postgres) as url:
                outcomes["PostgreSQL"] = bench_backend(
                    "PostgreSQL", url, args, workdir, args.postgres_workers
                )
    for label, outcome in outcomes.items():
        print(table(label, outcome) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(outcomes, indent=2))


if __name__ == "__main__":
    main()
