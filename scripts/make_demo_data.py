"""Rebuild src/dailypapers/data/demo.jsonl.gz from the shared corpus.

The slice: the last two months of Daily Papers (with their upvotes, days and submitters) and the arXiv
listing papers of the same days. Usage: python scripts/make_demo_data.py ../shared/data/papers.jsonl.gz
"""

from __future__ import annotations

import gzip
import json
import sys
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "dailypapers" / "data" / "demo.jsonl.gz"
DAYS = 61


def main(source: str) -> None:
    rows = [json.loads(line) for line in gzip.open(source, "rt", encoding="utf-8")]
    last_day = max(date.fromisoformat(r["daily_date"]) for r in rows if r.get("daily_date"))
    first_day = last_day - timedelta(days=DAYS - 1)

    def in_window(row: dict) -> bool:
        day = row.get("daily_date") or row["published_at"][:10]
        return first_day <= date.fromisoformat(day) <= last_day

    chosen = [r for r in rows if in_window(r)]
    # mtime=0 keeps the file byte-identical between rebuilds.
    with gzip.GzipFile(OUT, "wb", compresslevel=9, mtime=0) as out:
        for row in chosen:
            out.write((json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode())
    daily = sum(1 for r in chosen if r.get("daily_date"))
    print(
        f"{len(chosen)} papers ({daily} on Daily Papers, {first_day} to {last_day}) -> {OUT} "
        f"({OUT.stat().st_size / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/papers.jsonl.gz")
