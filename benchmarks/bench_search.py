"""Search latency and memory at 100k and 1M papers, measured through the HTTP API with wrk.

    python benchmarks/bench_search.py --vectors-from sqlite:////tmp/dp-quality/quality.db \\
        [--sizes 100000,1000000] [--workdir /tmp/dailypapers-bench-search] [--duration 15] [--runs 3] \\
        [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres]

For each size N it builds (once; later runs reuse what is built, so an interrupted build carries on):

1. a corpus: the 81,654 real papers plus N - 81,654 synthetic ones made from them (benchmarks/synthetic.py);
2. a database (SQLite in --workdir; with --postgres also a throw-away PostgreSQL database), filled with the
   real commands: `dailypapers db upgrade`, `dailypapers import`;
3. embeddings, written straight into the `embeddings` table: the real vectors of the papers --vectors-from
   has embedded (the indexer's own output, same model and settings), and for every other paper a vector
   derived from real ones (two real papers' vectors mixed, plus noise, renormalized: see synthetic.py);
4. the indexes, by `dailypapers index build` (keyword index rebuilt, nothing to embed, vector index built).

Then `dailypapers serve` (one uvicorn worker) answers `GET /api/papers/search?q=...&mode=...&limit=20`, and
`wrk` measures it for --duration seconds per run, on loopback, rotating through a few thousand distinct
queries (each thread from its own offset, so no two requests in a run ask the same thing and the hybrid
figures include embedding every query). Concurrency 1 gives the latency of one request at a time;
concurrency 4 (2 wrk threads) a loaded server. The serving process's RSS (VmRSS, and the peak VmHWM) is read
from /proc after the runs. Tables show medians over --runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from common import CORPUS, free_port, fresh_postgres, isolated_env, markdown_table, median
from synthetic import derived_vector, make_papers, read_real

HERE = Path(__file__).resolve().parent
MODEL = "all-MiniLM-L6-v2"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
QUERY_COUNT = 4000
CONCURRENCY = ((1, 1), (2, 4))  # (wrk threads, connections)
NICE: list[str] = []  # e.g. ["nice", "-n", "-10"]: the server and wrk ahead of other work on a shared machine

LUA = r"""
-- Rotates through the request paths below; each wrk thread starts at its own offset.
local paths = {%s}
local next_id = 0
setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
init = function(args)
  counter = (id or 0) * 1499
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  for _, p in ipairs({50, 90, 95, 99}) do
    io.write(string.format("P%%d_US %%d\n", p, latency:percentile(p)))
  end
  io.write(string.format("REQUESTS %%d\nERRORS %%d\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
    summary.errors.timeout))
end
"""


def dailypapers_command() -> list[str]:
    beside = Path(sys.executable).with_name("dailypapers")
    return (
        [str(beside)]
        if beside.exists()
        else [sys.executable, "-c", "from dailypapers.cli import main; main()"]
    )


def run(args: list[str], env: dict, timeout: float = 7200) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [*dailypapers_command(), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise SystemExit(
            f"dailypapers {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        )
    return time.perf_counter() - started, result.stdout + result.stderr


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- building ------------------------------------------------------------------------------------------------


def build_corpus(folder: Path, size: int, real: list[dict]) -> tuple[Path, Path]:
    """The corpus file (real papers first) and the sources of its synthetic papers (base, donor indexes)."""
    corpus = folder / f"corpus-{size}.jsonl.gz"
    sources = folder / f"corpus-{size}-sources.npz"
    if corpus.exists() and sources.exists():
        return corpus, sources
    started = time.perf_counter()
    count = max(0, size - len(real))
    ids, bases, donors = [], np.zeros(count, np.int32), np.zeros(count, np.int32)
    partial = corpus.with_suffix(".partial")
    with gzip.open(partial, "wt", encoding="utf-8", compresslevel=3) as out:
        for row in real[:size]:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        for k, (record, base, donor) in enumerate(make_papers(real, count, seed=size)):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            ids.append(record["arxiv_id"])
            bases[k], donors[k] = base, donor
    np.savez(sources, ids=np.array(ids), bases=bases, donors=donors)
    partial.rename(corpus)
    log(f"corpus of {size:,} ({count:,} synthetic) written in {time.perf_counter() - started:.0f} s")
    return corpus, sources


def real_vectors(source_url: str, real: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """A vector for each real paper, and whether it is a real embedding (else derived, see synthetic.py)."""
    import sqlalchemy as sa

    engine = sa.create_engine(source_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT p.arxiv_id, e.vector FROM embeddings e JOIN papers p ON p.id = e.paper_id "
                "WHERE e.model = :model"
            ),
            {"model": MODEL},
        ).all()
    engine.dispose()
    found = {a: np.frombuffer(v, dtype="<f2").astype(np.float32) for a, v in rows}
    if not found:
        raise SystemExit(
            f"no embeddings by {MODEL} in {source_url}: run `dailypapers index build` there first"
        )
    dimension = len(next(iter(found.values())))
    vectors = np.zeros((len(real), dimension), np.float32)
    is_real = np.zeros(len(real), bool)
    by_category: dict[str, list[int]] = {}
    for i, row in enumerate(real):
        if row["arxiv_id"] in found:
            vectors[i] = found[row["arxiv_id"]]
            is_real[i] = True
            by_category.setdefault((row.get("categories") or ["none"])[0], []).append(i)
    pool = np.flatnonzero(is_real)
    rng = np.random.default_rng(0)
    for i, row in enumerate(real):
        if not is_real[i]:
            group = by_category.get((row.get("categories") or ["none"])[0]) or pool
            a, b = rng.choice(group, 2)
            vectors[i] = derived_vector(vectors[a], vectors[b], rng)
    log(
        f"{int(is_real.sum()):,} real embeddings, {int((~is_real).sum()):,} derived for the other real papers"
    )
    return vectors, is_real


def write_embeddings(
    database_url: str, index_dir: Path, sources: Path, real: list[dict], vectors: np.ndarray
):
    """Every paper's embedding into the table, as the indexer writes them (text hash included)."""
    from sqlalchemy import func, select

    from dailypapers.search.embedder import document_text
    from dailypapers.search.indexer import Indexer
    from dailypapers.settings import Settings
    from dailypapers.store.engine import make_engine
    from dailypapers.store.schema import embeddings, papers

    settings = Settings(environment="development", database_url=database_url, index_dir=index_dir)
    engine = make_engine(settings)
    indexer = Indexer(engine, settings)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(embeddings)).scalar_one()
        total = conn.execute(select(func.count()).select_from(papers)).scalar_one()
    if stored >= total:
        engine.dispose()
        return
    started = time.perf_counter()
    data = np.load(sources)
    synthetic = {a: k for k, a in enumerate(data["ids"].tolist())}
    bases, donors = data["bases"], data["donors"]
    real_index = {row["arxiv_id"]: i for i, row in enumerate(real)}
    rng = np.random.default_rng(1)
    last = 0
    done = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract)
                .where(papers.c.id > last)
                .order_by(papers.c.id)
                .limit(5000)
            ).all()
        if not rows:
            break
        out = np.zeros((len(rows), vectors.shape[1]), np.float32)
        for j, row in enumerate(rows):
            if row.arxiv_id in real_index:
                out[j] = vectors[real_index[row.arxiv_id]]
            else:
                k = synthetic[row.arxiv_id]
                out[j] = derived_vector(vectors[bases[k]], vectors[donors[k]], rng)
        texts = [document_text(r.title, r.abstract) for r in rows]
        indexer.store_embeddings(MODEL, [r.id for r in rows], texts, out)
        last = rows[-1].id
        done += len(rows)
        if done % 100_000 < 5000:
            log(f"  {done:,} embeddings written")
    engine.dispose()
    log(f"embeddings written in {time.perf_counter() - started:.0f} s")


def kept_postgres(server_url: str, name: str) -> str:
    """The URL of database `name` on that server, created if it does not exist yet."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def build_database(folder: Path, database_url: str, size: int, real, vectors, corpus, sources) -> dict:
    """Migrate, import, embed (derived), index; each step skipped when a marker says it is done."""
    env = isolated_env(database_url, DAILYPAPERS_INDEX_DIR=str(folder / "index"))
    figures: dict = (
        json.loads((folder / "build.json").read_text()) if (folder / "build.json").exists() else {}
    )

    def step(name: str, action) -> None:
        if name in figures:
            return
        log(f"{name} ({size:,})")
        figures[name] = round(action(), 1)
        (folder / "build.json").write_text(json.dumps(figures, indent=2))
        log(f"{name}: {figures[name]} s")

    step("upgrade_s", lambda: run(["db", "upgrade"], env)[0])
    step("import_s", lambda: run(["import", str(corpus)], env)[0])

    def embed() -> float:
        started = time.perf_counter()
        write_embeddings(database_url, folder / "index", sources, real, vectors)
        return time.perf_counter() - started

    step("embeddings_s", embed)
    step("index_build_s", lambda: run(["index", "build"], env)[0])
    figures["index_bytes"] = sum(f.stat().st_size for f in (folder / "index").rglob("*") if f.is_file())
    return figures


# -- measuring -----------------------------------------------------------------------------------------------


def queries(real: list[dict], count: int) -> list[str]:
    """Distinct queries of the kinds search_quality.py evaluates, made from the real corpus."""
    sys.path.insert(0, str(HERE))
    from search_quality import KINDS, Paper, build_queries

    papers = [
        Paper(r["arxiv_id"], r["title"], r["abstract"], r.get("authors") or [], bool(r.get("daily_date")))
        for r in real[:20000]
    ]
    share = count // len(KINDS) + 1
    sizes = {"long": share, "aside": share, "author": share, "id": share}
    made = [q.text for q in build_queries(papers, KINDS, 11, sizes)][:count]
    return list(dict.fromkeys(made))


def lua_script(folder: Path, texts: list[str], mode: str) -> Path:
    paths = [
        "/api/papers/search?" + urllib.parse.urlencode({"q": text, "mode": mode, "limit": 20})
        for text in texts
    ]
    path = folder / f"rotate-{mode}.lua"
    path.write_text(LUA % ",\n".join(json.dumps(p) for p in paths))
    return path


def get(url: str, timeout: float = 60) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


@contextmanager
def serving(database_url: str, folder: Path):
    port = free_port()
    env = isolated_env(database_url, DAILYPAPERS_INDEX_DIR=str(folder / "index"))
    log_file = folder / "serve.log"
    with open(log_file, "w") as out:
        process = subprocess.Popen(
            [*NICE, *dailypapers_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while get(base + "/", timeout=2) != 200:
            if process.poll() is not None:
                raise SystemExit(f"the server exited:\n{log_file.read_text()[-3000:]}")
            if time.monotonic() - started > 120:
                raise SystemExit("the server did not start in 120 s")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(20)


def rss_mb(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {k: int(v.split()[0]) / 1024 for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(.+)$", status, re.M)}
    return values["VmRSS"], values["VmHWM"]


def wrk(base: str, script: Path, threads: int, connections: int, duration: int) -> dict:
    result = subprocess.run(
        [
            *NICE,
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    )
    out = result.stdout
    figures = {f"p{p}": int(v) / 1000 for p, v in re.findall(r"^P(\d+)_US (\d+)$", out, re.M)}
    figures["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    figures["requests"] = int(re.search(r"^REQUESTS (\d+)$", out, re.M).group(1))
    figures["errors"] = int(re.search(r"^ERRORS (\d+)$", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non2xx"] = int(bad.group(1)) if bad else 0
    return figures


def measure(database_url: str, folder: Path, texts: list[str], duration: int, runs: int) -> dict:
    scripts = {mode: lua_script(folder, texts, mode) for mode in ("keyword", "hybrid", "semantic")}
    results: dict = {}
    with serving(database_url, folder) as (base, pid):
        results["rss_idle_mb"] = rss_mb(pid)[0]
        started = time.perf_counter()
        assert get(base + "/api/papers/search?q=warm+up&mode=keyword") == 200
        results["first_keyword_s"] = time.perf_counter() - started
        started = time.perf_counter()
        assert get(base + "/api/papers/search?q=warm+up+the+model&mode=hybrid") == 200
        results["first_hybrid_s"] = time.perf_counter() - started
        for mode in ("keyword", "hybrid", "semantic"):
            for threads, connections in CONCURRENCY:
                key = f"{mode}/c{connections}"
                samples = []
                for _ in range(runs):
                    samples.append(wrk(base, scripts[mode], threads, connections, duration))
                    log(f"  {key}: p95 {samples[-1]['p95']:.1f} ms, {samples[-1]['rps']:.0f} req/s")
                results[key] = {k: median([s[k] for s in samples]) for k in samples[0]}
                results[key]["runs"] = samples
        results["rss_mb"], results["rss_peak_mb"] = rss_mb(pid)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000", help="comma-separated corpus sizes")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "dailypapers-bench-search"
    )
    parser.add_argument(
        "--vectors-from", required=True, help="database URL whose embeddings seed the vectors"
    )
    parser.add_argument("--postgres", help="also measure on a throw-away database on this PostgreSQL server")
    parser.add_argument("--skip-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument(
        "--keep-postgres",
        action="store_true",
        help="build into databases named dailypapers_search_<size> that are kept (and reused) between runs",
    )
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument(
        "--build-only", action="store_true", help="build the corpora and indexes, measure nothing"
    )
    parser.add_argument(
        "--nice",
        type=int,
        help="run the server and wrk at this niceness (negative needs root): on a shared machine, the "
        "measured processes then get the CPU first, as on a dedicated one",
    )
    args = parser.parse_args()
    if args.nice is not None:
        NICE[:] = ["nice", "-n", str(args.nice)]

    args.workdir.mkdir(parents=True, exist_ok=True)
    real = read_real(CORPUS)
    vectors, _ = real_vectors(args.vectors_from, real)
    cached = args.workdir / "queries.json"
    if not cached.exists():
        cached.write_text(json.dumps(queries(real, QUERY_COUNT)))
    texts = json.loads(cached.read_text())
    log(f"{len(texts):,} distinct queries")
    report: dict = {
        "machine": {"nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()},
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "nice": args.nice,
        "load_before": Path("/proc/loadavg").read_text().split()[:3],
        "sizes": {},
    }
    for size in [int(s) for s in args.sizes.split(",")]:
        folder = args.workdir / str(size)
        folder.mkdir(exist_ok=True)
        corpus, sources = build_corpus(args.workdir, size, real)
        targets = [("sqlite", None)] if not args.skip_sqlite else []
        targets += [("postgresql", args.postgres)] if args.postgres else []
        for backend, server in targets:
            where = folder / backend
            where.mkdir(exist_ok=True)
            if backend == "sqlite":
                url = f"sqlite:///{where / 'bench.db'}"
                build = build_database(where, url, size, real, vectors, corpus, sources)
                build["database_bytes"] = (where / "bench.db").stat().st_size
                if args.build_only:
                    continue
                measured = measure(url, where, texts, args.duration, args.runs)
            elif args.keep_postgres:
                # A named database that outlives the run: build once (resumably), measure later.
                url = kept_postgres(server, f"dailypapers_search_{size}")
                build = build_database(where, url, size, real, vectors, corpus, sources)
                if args.build_only:
                    continue
                measured = measure(url, where, texts, args.duration, args.runs)
            else:
                with fresh_postgres(server, prefix=f"dailypapers_search_{size}") as url:
                    for stale in ("build.json",):
                        (where / stale).unlink(missing_ok=True)
                    build = build_database(where, url, size, real, vectors, corpus, sources)
                    if args.build_only:
                        continue
                    measured = measure(url, where, texts, args.duration, args.runs)
            report["sizes"].setdefault(str(size), {})[backend] = {"build": build, "measured": measured}
            log(json.dumps({"size": size, "backend": backend, "build": build}))
            if args.json:
                args.json.write_text(json.dumps(report, indent=2))
    rows = []
    for size, backends in report["sizes"].items():
        for backend, figures in backends.items():
            m = figures["measured"]
            for key in ("keyword/c1", "keyword/c4", "hybrid/c1", "hybrid/c4", "semantic/c1"):
                r = m[key]
                rows.append(
                    [
                        f"{int(size):,}",
                        backend,
                        key,
                        f"{r['p50']:.1f}",
                        f"{r['p95']:.1f}",
                        f"{r['p99']:.1f}",
                        f"{r['rps']:.0f}",
                        r["non2xx"] + r["errors"],
                    ]
                )
    print(
        markdown_table(
            ["papers", "database", "mode/connections", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors"], rows
        )
    )
    rows = []
    for size, backends in report["sizes"].items():
        for backend, figures in backends.items():
            b, m = figures["build"], figures["measured"]
            rows.append(
                [
                    f"{int(size):,}",
                    backend,
                    b.get("import_s"),
                    b.get("embeddings_s"),
                    b.get("index_build_s"),
                    f"{b['index_bytes'] / 1e6:,.0f}",
                    f"{m['rss_idle_mb']:,.0f}",
                    f"{m['rss_mb']:,.0f}",
                    f"{m['rss_peak_mb']:,.0f}",
                    f"{m['first_hybrid_s']:.1f}",
                ]
            )
    print()
    print(
        markdown_table(
            [
                "papers",
                "database",
                "import s",
                "embeddings written s",
                "index build s",
                "index MB",
                "RSS idle MB",
                "RSS after MB",
                "RSS peak MB",
                "first hybrid s",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
