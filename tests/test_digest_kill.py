"""`dailypapers digest send` killed with SIGKILL at random points, then run again: every subscriber ends with
exactly one digest (a message in flight at the kill may arrive twice, with the same Message-ID); a finished
run sends nothing more. A real subprocess and a real SMTP server; SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from digest_support import DAY, subscribe

SUBSCRIBERS = 60
CONNECTIONS = 2


def _command() -> list[str]:
    beside = Path(sys.executable).with_name("dailypapers")
    script = (
        [str(beside)]
        if beside.exists()
        else [sys.executable, "-c", "from dailypapers.cli import main; main()"]
    )
    return [*script, "digest", "send", "--frequency", "daily", "--date", DAY.isoformat()]


def _env(settings, sink_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env.update(
        DAILYPAPERS_ENVIRONMENT="test",
        DAILYPAPERS_SECRET_KEY=settings.secret_key,
        DAILYPAPERS_DATABASE_URL=settings.database_url,
        DAILYPAPERS_SMTP_URL=sink_url,
        DAILYPAPERS_BASE_URL="https://papers.example.org",
        DAILYPAPERS_DIGEST_RATE_PER_SECOND="40",
        DAILYPAPERS_DIGEST_SMTP_CONNECTIONS=str(CONNECTIONS),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume(settings, demo_store, smtp_sink, tmp_path):
    engine = demo_store.engine
    emails = [f"reader{i:02d}@example.org" for i in range(SUBSCRIBERS)]
    for i, email in enumerate(emails):
        subscribe(engine, email, categories=["cs.CL"] if i % 2 else [], max_papers=1 + i % 5)
    env = _env(settings, smtp_sink.url)
    env["DAILYPAPERS_INDEX_DIR"] = str(tmp_path / "no-index")
    rng = random.Random(6)
    kills = 0
    for _ in range(4):
        before = len(smtp_sink.messages)
        process = subprocess.Popen(_command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Kill at a random moment: sometimes before anything is sent, mostly in the middle of sending.
        target = before + rng.randint(-2, 12)
        deadline = time.monotonic() + 60
        while process.poll() is None and len(smtp_sink.messages) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(30)
    final = subprocess.run(_command(), env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stdout + final.stderr
    assert f"{SUBSCRIBERS} sent" in final.stdout + final.stderr

    by_recipient: dict[str, list[str]] = defaultdict(list)
    for message in smtp_sink.messages:
        assert len(message.recipients) == 1
        by_recipient[message.recipients[0]].append(message.message["Message-ID"])
    assert sorted(by_recipient) == emails  # nobody skipped
    assert all(len(set(ids)) == 1 for ids in by_recipient.values())  # one digest each, one Message-ID
    duplicates = len(smtp_sink.messages) - SUBSCRIBERS
    print(f"{kills} kills, {duplicates} messages sent twice")
    assert duplicates <= kills * CONNECTIONS, (duplicates, kills)

    sent = len(smtp_sink.messages)
    again = subprocess.run(_command(), env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already finished" in again.stdout + again.stderr
    assert len(smtp_sink.messages) == sent
