"""`dailypapers digest preview | send --dry-run | status` as a deployment runs them (real subprocesses)."""

from __future__ import annotations

import json
import subprocess
from email import message_from_bytes, policy

from digest_support import DAY, subscribe
from test_digest_kill import _command, _env


def _run(settings, sink_url, tmp_path, *args, env=None):
    env = {**_env(settings, sink_url), **(env or {})}
    env["DAILYPAPERS_INDEX_DIR"] = str(tmp_path / "no-index")
    command = _command()[: -len(("digest", "send", "--frequency", "daily", "--date", DAY.isoformat()))]
    return subprocess.run([*command, "digest", *args], env=env, capture_output=True, text=True, timeout=120)


def test_preview_dry_run_and_status(settings, demo_store, smtp_sink, tmp_path):
    subscribe(demo_store.engine, "cli@example.org", categories=["cs.CL"], max_papers=4)
    subscribe(demo_store.engine, "other@example.org")
    out = tmp_path / "preview"
    preview = _run(
        settings,
        smtp_sink.url,
        tmp_path,
        "preview",
        "--email",
        "CLI@example.org",
        "--date",
        "2026-07-01",
        "--out",
        str(out),
    )
    assert preview.returncode == 0, preview.stderr
    html = (out / "digest-daily-2026-07-01.html").read_text()
    text = (out / "digest-daily-2026-07-01.txt").read_text()
    assert "For your topics" in html and "FOR YOUR TOPICS" in text and "/unsubscribe/" in text
    message = message_from_bytes((out / "digest-daily-2026-07-01.eml").read_bytes(), policy=policy.default)
    assert message["To"] == "cli@example.org" and message["List-Unsubscribe-Post"]
    assert smtp_sink.messages == []  # a preview sends nothing

    dry = _run(
        settings, smtp_sink.url, tmp_path, "send", "--frequency", "daily", "--date", "2026-07-01", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert "2 digests would be sent" in dry.stderr and smtp_sink.messages == []

    weekend = _run(settings, smtp_sink.url, tmp_path, "send", "--frequency", "daily", "--date", "2026-07-04")
    assert weekend.returncode == 0 and "weekdays" in weekend.stderr

    sent = _run(settings, smtp_sink.url, tmp_path, "send", "--frequency", "daily", "--date", "2026-07-01")
    assert sent.returncode == 0, sent.stderr
    assert "2 sent, 0 failed, 0 suppressed, 0 skipped as empty" in sent.stderr
    assert len(smtp_sink.messages) == 2

    status = _run(settings, smtp_sink.url, tmp_path, "status", "--json")
    (run,) = json.loads(status.stdout)
    assert (run["period_key"], run["status"], run["states"]) == ("2026-07-01", "finished", {"sent": 2})
    assert "Digest runs" in _run(settings, smtp_sink.url, tmp_path, "status").stdout


def test_bad_command_lines_are_refused(settings, demo_store, smtp_sink, tmp_path):
    assert _run(settings, smtp_sink.url, tmp_path, "send", "--frequency", "hourly").returncode == 2
    assert (
        _run(
            settings, smtp_sink.url, tmp_path, "send", "--frequency", "daily", "--date", "2026-13-01"
        ).returncode
        == 2
    )
    assert _run(settings, smtp_sink.url, tmp_path, "preview", "--email", "nope").returncode == 2


def test_bad_dates_paths_and_mail_settings_are_clear_messages(settings, demo_store, smtp_sink, tmp_path):
    subscribe(demo_store.engine, "cli@example.org")
    saturday = _run(
        settings, smtp_sink.url, tmp_path, "preview", "--email", "cli@example.org", "--date", "2026-07-04"
    )
    assert saturday.returncode == 2 and "weekdays" in saturday.stderr and "Traceback" not in saturday.stderr
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    unwritable = _run(
        settings,
        smtp_sink.url,
        tmp_path,
        *("preview", "--email", "cli@example.org", "--date", "2026-07-01", "--out", str(blocked / "x")),
    )
    assert unwritable.returncode == 2 and "cannot write there" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr
    bad_url = _run(
        settings, "http://nowhere", tmp_path, "send", "--frequency", "daily", "--date", "2026-07-01"
    )
    assert bad_url.returncode == 1 and "DAILYPAPERS_SMTP_URL" in bad_url.stderr
    assert "Traceback" not in bad_url.stderr
    env_key = {"DAILYPAPERS_DKIM_KEY_PATH": str(tmp_path / "missing.pem")}
    no_key = _run(
        settings, smtp_sink.url, tmp_path, "send", "--frequency", "daily", "--date", "2026-07-01", env=env_key
    )
    assert no_key.returncode == 1 and "DKIM key" in no_key.stderr and "Traceback" not in no_key.stderr
    assert smtp_sink.messages == []
