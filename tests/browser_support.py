"""Debian's Chromium driven by Playwright, shared by every browser test; the real `dailypapers demo` command
run for them; axe-core's accessibility checks."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# scripts/install.sh installs axe-core here from the npm registry (tools/axe/package.json pins it).
AXE = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Not a timing target (that is in docs/benchmarks.md): only how long to wait before calling the demo hung.
GIVE_UP_AFTER_S = 300

# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which this
# machine's closed network refuses, many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_browser(extra_args: tuple[str, ...] = ()) -> Iterator:
    """A headless Chromium; skips the test where there is none, and fails it in CI."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = (
        os.environ.get("DAILYPAPERS_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    if not Path(executable).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI and {executable} does not exist")
        pytest.skip(f"no Chromium at {executable}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


# -- the demo ------------------------------------------------------------------------------------------------


@dataclass
class Demo:
    url: str
    process: subprocess.Popen
    startup_seconds: float
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_command() -> list[str]:
    """The installed `dailypapers` script, preferably the one next to this interpreter."""
    beside = Path(sys.executable).with_name("dailypapers")
    script = str(beside) if beside.exists() else shutil.which("dailypapers")
    if script is None:
        return [sys.executable, "-c", "from dailypapers.cli import main; main()"]
    return [script]


def isolated_env(tmp: Path) -> dict[str, str]:
    """No DAILYPAPERS_* from the caller's shell; the demo's temporary folder inside pytest's tmp."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env["TMPDIR"] = str(tmp)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_demo(tmp: Path, *args: str) -> Iterator[Demo]:
    """`dailypapers demo` on a free port, its output in `tmp/demo.log`, stopped (SIGTERM) at the end."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "demo.log"
    with log_path.open("wb") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            [*demo_command(), "demo", "--port", str(port), *args],
            env=isolated_env(tmp),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        while not answers(url + "/"):
            if process.poll() is not None:
                pytest.fail(f"`dailypapers demo` exited with {process.returncode}:\n{log_path.read_text()}")
            if time.monotonic() - started > GIVE_UP_AFTER_S:
                pytest.fail(f"`dailypapers demo` never answered on {url}:\n{log_path.read_text()}")
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        assert process.poll() is None, "something else answered on the demo's port"
        yield Demo(url=url, process=process, startup_seconds=elapsed, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


# -- accessibility -----------------------------------------------------------------------------------------

# WCAG 2.x A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SEVERE = ("serious", "critical")


def axe_source() -> str:
    """axe-core's script; skips the test where it is not installed, and fails it in CI."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is required in CI: run scripts/install.sh ({AXE} is missing)")
        pytest.skip(f"no axe-core at {AXE}: run scripts/install.sh")
    return AXE.read_text()


def axe_violations(page, source: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each.

    The script is evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
    govern (a <script> added to the page would be refused, as it should be)."""
    page.evaluate(source)
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}}
    result = page.evaluate("options => axe.run(document, options)", options)
    found = []
    for violation in result["violations"]:
        if violation["impact"] in SEVERE:
            where = [json.dumps(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{page.url}: {violation['id']} ({violation['impact']}) {violation['help']} {where}")
    return found
