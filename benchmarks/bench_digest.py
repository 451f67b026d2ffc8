"""Digest speed: composing, and a whole run handed to a fast local SMTP sink, at 10k and 100k subscribers.

    python benchmarks/bench_digest.py [--subscribers 10000 100000] [--connections 4] [--rate 100000]

For each size: a fresh SQLite database with the bundled demo slice and its search indexes, that many active
subscribers with varied preferences (1-20 papers, 0-3 arXiv categories, 0-2 saved searches, keyword or
semantic; the semantic ones embedded once, as the web app does when they are saved), then, each in its own
process:

- compose: every subscriber's digest composed to message bytes (choosing papers, rendering, stamping the
  links and headers), no sending; digests per CPU-second of that process, and its peak RSS;
- send: `send_run` (what `dailypapers digest send` runs: claiming rows, composing, SMTP, recording each
  outcome) to a minimal asyncio SMTP sink in another process that accepts everything at once; messages/s
  over the whole run, time to the first message, connections the sink saw, the sender's peak RSS.

aiosmtpd (the tests' server) manages only 100-200 messages/s itself, so it is not the sink here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import resource
import secrets
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from common import ROOT, markdown_table

DAY = date(2026, 7, 1)
DEMO = ROOT / "src" / "dailypapers" / "data" / "demo.jsonl.gz"
CATEGORIES = ["cs.CL", "cs.LG", "cs.CV", "cs.AI", "cs.RO", "cs.IR", "stat.ML", "cs.SE", "eess.AS", "cs.GR"]
QUERIES = [
    "speculative decoding",
    "reinforcement learning from human feedback",
    "diffusion models for video",
    "mixture of experts",
    "retrieval augmented generation",
    "agents that use tools",
    "vision language models",
    "robot manipulation",
    "code generation benchmarks",
    "long context",
    "reasoning with chain of thought",
    "3d reconstruction",
    "speech synthesis",
    "graph neural networks",
    "quantization of large models",
    "making language models faster at inference",
    "evaluating hallucinations",
    "world models",
]


# -- a fast SMTP sink (benchmark only) -----------------------------------------------------------------


class _SinkProtocol(asyncio.Protocol):
    def __init__(self, stats) -> None:
        self.stats = stats
        self.buffer = b""
        self.in_data = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        with self.stats["connections"].get_lock():
            self.stats["connections"].value += 1
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    if len(self.buffer) > 8:  # keep only what could start the terminator
                        self.buffer = self.buffer[-8:]
                    return
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                with self.stats["messages"].get_lock():
                    self.stats["messages"].value += 1
                    if self.stats["first"].value == 0:
                        self.stats["first"].value = time.time()
                self.transport.write(b"250 OK queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.transport.write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n")
            elif verb == b"DATA":
                self.in_data = True
                self.buffer = b"\r\n" + self.buffer  # so a message that is only ".\r\n" still ends
                self.transport.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 bye\r\n")
                self.transport.close()
            else:  # MAIL, RCPT, RSET, NOOP
                self.transport.write(b"250 OK\r\n")


def _serve_sink(port: int, stats, ready) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _SinkProtocol(stats), "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- the data ----------------------------------------------------------------------------------------


def prepare(database_url: str, index_dir: Path, subscribers: int, seed: int = 6) -> None:
    from sqlalchemy import insert

    from dailypapers.importers.files import import_file
    from dailypapers.services.search_sync import sync_search
    from dailypapers.settings import Settings
    from dailypapers.store.engine import make_engine, upgrade, write_transaction
    from dailypapers.store.papers import SqlStore
    from dailypapers.store.schema import subscriptions

    settings = Settings(environment="development", database_url=database_url, index_dir=index_dir)
    upgrade(settings)
    store = SqlStore(make_engine(settings))
    import_file(store, DEMO)
    sync_search(settings, store.engine, embed_limit=-1)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows = []
    for i in range(subscribers):
        searches = [
            {"q": rng.choice(QUERIES), "mode": rng.choice(["keyword", "semantic"])}
            for _ in range(rng.choice([0, 0, 1, 2]))
        ]
        rows.append(
            {
                "email": f"reader{i:06d}@example.org",
                "key": secrets.token_urlsafe(24),
                "status": "active",
                "frequency": "daily",
                "max_papers": rng.randint(1, 20),
                "categories": rng.sample(CATEGORIES, rng.choice([0, 1, 1, 2, 3])),
                "searches": searches,
                "bounces": 0,
                "created_at": now,
                "confirmed_at": now,
            }
        )
        if len(rows) == 5000:
            with write_transaction(store.engine) as conn:
                conn.execute(insert(subscriptions), rows)
            rows = []
    if rows:
        with write_transaction(store.engine) as conn:
            conn.execute(insert(subscriptions), rows)
    # What the web app does when a reader saves a semantic search: embed it once, store the vector.
    from dailypapers.digests.candidates import ensure_query_vectors

    ensure_query_vectors(settings, store.engine, set(QUERIES))
    store.engine.dispose()


def _settings(database_url: str, index_dir: Path, **extra):
    from dailypapers.settings import Settings

    return Settings(
        environment="development",
        database_url=database_url,
        index_dir=index_dir,
        base_url="https://papers.example.org",
        mail_from="dailypapers <digest@papers.example.org>",
        **extra,
    )


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; `ru_maxrss` would include the parent's, carried over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compose_all(database_url: str, index_dir: str, out) -> None:
    """Every digest composed to bytes, as `send_run` composes them; nothing sent or recorded."""
    from sqlalchemy import select

    from dailypapers.digests import compose, delivery
    from dailypapers.store.digest_runs import Claimed
    from dailypapers.store.engine import make_engine
    from dailypapers.store.schema import subscriptions
    from dailypapers.store.subscriptions import Preferences

    settings = _settings(database_url, Path(index_dir))
    engine = make_engine(settings)
    period = compose.period_for("daily", DAY)
    wall, cpu = time.perf_counter(), time.process_time()
    composer = delivery.make_composer(settings, engine, period, run_id=1)
    setup_cpu = time.process_time() - cpu
    store = delivery.run_store(engine)
    last, messages, empty, size = 0, 0, 0, 0
    cpu = time.process_time()
    wall_compose = time.perf_counter()
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(subscriptions).where(subscriptions.c.id > last).order_by(subscriptions.c.id).limit(100)
            ).all()
        if not rows:
            break
        last = rows[-1].id
        already = store.received([r.id for r in rows], set(composer.pool.papers))
        for row in rows:
            prefs = Preferences(row.frequency, row.max_papers, list(row.categories), list(row.searches))
            claimed = Claimed(row.id, row.email, row.key, prefs, 0)
            outgoing = composer.message(claimed, already[row.id])
            if outgoing is None:
                empty += 1
            else:
                messages += 1
                size += len(outgoing.data)
    cpu_s = time.process_time() - cpu
    out.put(
        {
            "digests": messages,
            "empty": empty,
            "cpu_s": cpu_s,
            "wall_s": time.perf_counter() - wall_compose,
            "setup_cpu_s": setup_cpu,
            "per_cpu_s": messages / cpu_s,
            "mean_bytes": size / max(messages, 1),
            "peak_rss_mb": _peak_rss_mb(),
            "total_wall_s": time.perf_counter() - wall,
        }
    )
    composer.matcher.close()
    engine.dispose()


def send_all(database_url: str, index_dir: str, sink_url: str, connections: int, rate: float, out) -> None:
    from dailypapers.digests import compose, delivery
    from dailypapers.mail.smtp import SmtpMailer
    from dailypapers.store.engine import make_engine

    settings = _settings(
        database_url, Path(index_dir), digest_smtp_connections=connections, digest_rate_per_second=rate
    )
    engine = make_engine(settings)
    started = time.time()
    cpu = time.process_time()

    async def run():
        mailer = SmtpMailer(sink_url, max_connections=connections)
        try:
            return await delivery.send_run(settings, engine, mailer, compose.period_for("daily", DAY))
        finally:
            await mailer.aclose()

    report = asyncio.run(run())
    out.put(
        {
            "started": started,
            "elapsed_s": report.elapsed,
            "sent": report.sent,
            "empty": report.empty,
            "failed": report.failed,
            "status": report.status,
            "first_message_s": report.first_message_seconds,
            "cpu_s": time.process_time() - cpu,
            "peak_rss_mb": _peak_rss_mb(),
        }
    )
    engine.dispose()


def _in_child(target, *args):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def one_size(subscribers: int, connections: int, rate: float) -> dict:
    from common import free_port

    with tempfile.TemporaryDirectory(prefix="dailypapers-bench-digest-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        index_dir = Path(folder) / "index"
        started = time.perf_counter()
        prepare(url, index_dir, subscribers)
        print(f"{subscribers:,} subscribers ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
        composed = _in_child(compose_all, url, str(index_dir))
        print(f"compose: {json.dumps(composed)}", file=sys.stderr)

        context = multiprocessing.get_context("spawn")
        stats = {
            "messages": context.Value("q", 0),
            "connections": context.Value("q", 0),
            "first": context.Value("d", 0.0),
        }
        ready = context.Event()
        port = free_port()
        sink = context.Process(target=_serve_sink, args=(port, stats, ready), daemon=True)
        sink.start()
        ready.wait(10)
        try:
            sent = _in_child(send_all, url, str(index_dir), f"smtp://127.0.0.1:{port}", connections, rate)
        finally:
            sink.terminate()
            sink.join(5)
        sent["sink_messages"] = stats["messages"].value
        sent["sink_connections"] = stats["connections"].value
        sent["sink_first_s"] = stats["first"].value - sent["started"] if stats["first"].value else None
        sent["per_s"] = sent["sent"] / sent["elapsed_s"]
        print(f"send: {json.dumps(sent)}", file=sys.stderr)
        return {"subscribers": subscribers, "compose": composed, "send": sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rate", type=float, default=100_000.0, help="digest_rate_per_second for the run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, {os.cpu_count()} cpus",
        file=sys.stderr,
    )
    results = [one_size(n, args.connections, args.rate) for n in args.subscribers]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    rows = []
    for r in results:
        c, s = r["compose"], r["send"]
        rows.append(
            [
                f"{r['subscribers']:,}",
                f"{c['per_cpu_s']:,.0f}/CPU-s ({c['digests']:,} digests, {c['empty']:,} empty, "
                f"{c['mean_bytes'] / 1024:.0f} KB mean)",
                f"{c['peak_rss_mb']:.0f} MB",
                f"{s['per_s']:,.0f}/s ({s['sent']:,} in {s['elapsed_s']:.0f}s, "
                f"{s['sink_messages']:,} at the sink)",
                f"{s['sink_connections']}",
                f"{s['first_message_s']:.2f}s" if s["first_message_s"] is not None else "-",
                f"{s['peak_rss_mb']:.0f} MB",
            ]
        )
    print(
        markdown_table(
            [
                "subscribers",
                "compose",
                "compose peak RSS",
                "send to sink",
                "connections",
                "first message",
                "send peak RSS",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
