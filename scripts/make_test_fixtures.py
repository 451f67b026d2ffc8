"""Rebuild tests/fixtures/ from the shared folder: the test suite needs nothing outside the repository.

- `arxiv_api/`, `hf_api/`, `kaggle/`, `oai_pmh/`, `rss/`: the recorded payloads, copied verbatim with their
  SOURCES*.txt (where each one was recorded). The parser tests run on every file of these folders.
- `corpus/papers.jsonl.gz`: the first CORPUS_LINES lines of the real corpus, verbatim (the corpus is newest
  first: about 940 Daily Papers rows, then arXiv listing rows with a Daily Papers row here and there), and a
  SOURCES.txt naming the corpus it was cut from by its SHA-256.

The output is byte-identical between rebuilds. Usage: python scripts/make_test_fixtures.py [../shared]
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures"
PAYLOADS = ("arxiv_api", "hf_api", "kaggle", "oai_pmh", "rss")
# The most any test reads of the corpus (test_import's truncated gzip); its kill -9 test repeats them.
CORPUS_LINES = 3000


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_payloads(shared: Path) -> None:
    for name in PAYLOADS:
        target = OUT / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for path in sorted((shared / "fixtures" / name).iterdir()):
            shutil.copyfile(path, target / path.name)  # not the source's read-only mode


def slice_corpus(shared: Path) -> None:
    source = shared / "data" / "papers.jsonl.gz"
    target = OUT / "corpus"
    target.mkdir(parents=True, exist_ok=True)
    with gzip.open(source, "rb") as lines:
        head = list(itertools.islice(lines, CORPUS_LINES))
    assert len(head) == CORPUS_LINES, f"{source} has only {len(head)} lines"
    # No file name and mtime 0 in the gzip header: the same bytes on every rebuild.
    with (
        (target / "papers.jsonl.gz").open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as out,
    ):
        out.writelines(head)
    (target / "SOURCES.txt").write_text(
        f"papers.jsonl.gz: the first {CORPUS_LINES:,} lines, verbatim, of the shared corpus papers.jsonl.gz\n"
        f"(81,654 papers, newest first), cut by scripts/make_test_fixtures.py.\n"
        f"sha256 of the corpus: {sha256(source)}\n"
        "The corpus' rows come from public GitHub repositories that archived these feeds:\n"
        "2404589803/hf-daily-paper-newsletter-chinese (raw Hugging Face api/daily_papers responses),\n"
        "huangboming/huggingface-daily-paper-feed (an RSS feed of Daily Papers) and\n"
        "dw-dengwei/daily-arXiv-ai-enhanced (daily arXiv listings); each row's `source` names its file\n"
        "and commit.\n"
        "arXiv metadata is CC0.\n"
    )


def main(shared: str) -> None:
    shared_dir = Path(shared).resolve()
    copy_payloads(shared_dir)
    slice_corpus(shared_dir)
    files = [p for p in OUT.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files)} files, {size / 1e6:.2f} MB -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared"))
