"""Debian's Chromium driven by Playwright, shared by every browser test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

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
def chromium_browser() -> Iterator:
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
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
