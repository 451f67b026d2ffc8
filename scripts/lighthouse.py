"""Lighthouse on a running `dailypapers demo`: the front page, a paper page and a search, on a phone
(Lighthouse's default: a mid-range phone, throttled) and on a desktop, with Debian's Chromium; prints the four
scores of each and fails when one is below 95. docs/first-hour.md records the figures.

Lighthouse comes from the npm registry into tools/lighthouse (installed on first use; not needed by the
tests). Nothing leaves the machine: the demo is local and Chromium runs with its background networking off.
Usage: python scripts/lighthouse.py [--out DIR] [--url URL]   (--url: audit a site already running)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools" / "lighthouse"
LIGHTHOUSE = TOOLS / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
# tests/browser_support.py's flags: without the background-networking ones Chromium keeps calling Google.
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
    "--disable-component-update --disable-sync"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGET = 95


def install() -> None:
    if not LIGHTHOUSE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=TOOLS, check=True)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def start_demo(port: int, folder: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env["TMPDIR"] = str(folder)
    script = shutil.which("dailypapers")
    args = [script] if script else [sys.executable, "-c", "from dailypapers.cli import main; main()"]
    log = (folder / "demo.log").open("wb")
    process = subprocess.Popen([*args, "demo", "--port", str(port)], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 300
    while not answers(f"http://127.0.0.1:{port}/"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the demo did not start:\n{(folder / 'demo.log').read_text()}")
        time.sleep(0.2)
    return process


def pages(base: str) -> dict[str, str]:
    with urllib.request.urlopen(base + "/index.json") as response:
        top = json.load(response)["papers"][0]["paper"]["id"]
    search = base + "/search?q=diffusion+models"
    return {"front": base + "/", "paper": f"{base}/papers/{top}", "search": search}


def audit(url: str, preset: str, out: Path) -> dict[str, int]:
    report = out / f"{preset}-{url.rsplit('/', 1)[-1].split('?')[0] or 'front'}.json"
    command = [
        str(LIGHTHOUSE),
        url,
        f"--chrome-flags={CHROME_FLAGS}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--output=json",
        f"--output-path={report}",
        "--quiet",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROME})
    categories = json.loads(report.read_text())["categories"]
    return {name: round(categories[name]["score"] * 100) for name in CATEGORIES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="where the JSON reports go (default: a temporary folder)")
    parser.add_argument("--url", help="audit this running site instead of starting a demo")
    parser.add_argument("--port", type=int, default=8765)
    options = parser.parse_args()
    install()
    out = options.out or Path(tempfile.mkdtemp(prefix="lighthouse-"))
    out.mkdir(parents=True, exist_ok=True)
    demo = None
    if options.url:
        base = options.url.rstrip("/")
    else:
        demo = start_demo(options.port, out)
        base = f"http://127.0.0.1:{options.port}"
    try:
        print(f"| page | device | {' | '.join(CATEGORIES)} |\n|---|---|" + "---|" * len(CATEGORIES))
        low = []
        for name, url in pages(base).items():
            for preset in ("mobile", "desktop"):
                scores = audit(url, preset, out)
                print(f"| {name} | {preset} | " + " | ".join(str(scores[c]) for c in CATEGORIES) + " |")
                low += [f"{name} {preset} {c} {s}" for c, s in scores.items() if s < TARGET]
        print(f"Reports: {out}")
    finally:
        if demo is not None:
            demo.terminate()
            demo.wait(30)
    if low:
        print("Below target:", ", ".join(low))
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
