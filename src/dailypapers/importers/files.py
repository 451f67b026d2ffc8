"""Streaming import of files into the store, in batches, each batch one transaction.

A batch is an idempotent upsert, so a run killed at any point and started again ends with every paper there
exactly once: the batches that landed are merged again as "unchanged", the rest go in.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import orjson

from dailypapers.importers.formats import BadRecord, parse
from dailypapers.records import PaperRecord
from dailypapers.store.papers import UpsertCounts

BATCH_SIZE = 1000
MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024


class PaperSink(Protocol):
    def upsert(self, records: list[PaperRecord]) -> UpsertCounts: ...


@dataclass
class ImportReport:
    read: int = 0
    bad: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    errors: list[str] = field(default_factory=list)  # the first few, for display

    def bad_record(self, where: str, reason: str) -> None:
        self.bad += 1
        if len(self.errors) < 1000:
            self.errors.append(f"{where}: {reason}")


ErrorHook = Callable[[str], None]
ProgressHook = Callable[[int], None]  # bytes consumed so far in the current file


class ImportFileError(Exception):
    """The file as a whole cannot be read (missing, not gzip, not JSON at all)."""


def _open(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """(raw file for progress, decoded byte stream)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}") from None
    head = raw.read(2)
    raw.seek(0)
    if head == b"\x1f\x8b":
        return raw, gzip.GzipFile(fileobj=raw)
    return raw, raw


def _records(
    path: Path, report: ImportReport, on_error: ErrorHook, on_progress: ProgressHook
) -> Iterator[PaperRecord]:
    raw, stream = _open(path)
    with raw:
        try:
            first = _first_significant_byte(stream)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ImportFileError(f"{path}: cannot be read ({exc})") from None
        if first == b"[" or not _looks_like_json_lines(stream):
            yield from _document_records(path, stream, report, on_error)
            on_progress(raw.tell())
            return
        line_number = 0
        while True:
            try:
                line = stream.readline(MAX_LINE_BYTES + 1)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                report.bad_record(f"{path}:{line_number + 1}", f"file is truncated or corrupt ({exc})")
                on_error(report.errors[-1])
                return
            if not line:
                break
            line_number += 1
            if len(line) > MAX_LINE_BYTES:
                _skip_rest_of_line(stream)
                _bad(report, on_error, f"{path}:{line_number}", f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            if not line.strip():
                continue
            report.read += 1
            try:
                yield parse(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                _bad(report, on_error, f"{path}:{line_number}", f"not valid JSON ({exc})")
            except BadRecord as exc:
                _bad(report, on_error, f"{path}:{line_number}", str(exc))
            if line_number % 500 == 0:
                on_progress(raw.tell())
        on_progress(raw.tell())


def _document_records(path, stream, report, on_error) -> Iterator[PaperRecord]:
    """A whole JSON document: a saved `api/daily_papers` array (or one object)."""
    data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ImportFileError(f"{path}: a single JSON document larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFileError(f"{path}: neither JSON Lines nor a JSON document ({exc})") from None
    items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items):
        report.read += 1
        try:
            yield parse(item)
        except BadRecord as exc:
            _bad(report, on_error, f"{path}[{index}]", str(exc))


def _bad(report: ImportReport, on_error: ErrorHook, where: str, reason: str) -> None:
    report.bad_record(where, reason)
    on_error(f"{where}: {reason}")


def _first_significant_byte(stream: IO[bytes]) -> bytes:
    peek = _peek(stream, 4096).lstrip()
    return peek[:1]


def _looks_like_json_lines(stream: IO[bytes]) -> bool:
    """True when the first non-empty line is a whole JSON value on its own."""
    sample = _peek(stream, MAX_LINE_BYTES)
    for line in sample.split(b"\n"):
        if line.strip():
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                # A line cut by the sample size is still JSON Lines; a pretty-printed document is not.
                return len(line) >= MAX_LINE_BYTES - 1
            return True
    return True


def _peek(stream: IO[bytes], size: int) -> bytes:
    position = stream.tell()
    data = stream.read(size)
    stream.seek(position)
    return data


def _skip_rest_of_line(stream: IO[bytes]) -> None:
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return


def import_file(
    sink: PaperSink,
    path: Path,
    *,
    report: ImportReport | None = None,
    on_error: ErrorHook = lambda message: None,
    on_progress: ProgressHook = lambda position: None,
    on_batch: Callable[[list[PaperRecord]], None] = lambda batch: None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import one file (JSON Lines, gzipped or not, or a JSON document); return what happened."""
    report = report or ImportReport()
    batch: list[PaperRecord] = []
    for record in _records(Path(path), report, on_error, on_progress):
        batch.append(record)
        if len(batch) >= batch_size:
            report.counts.add(sink.upsert(batch))
            on_batch(batch)
            batch = []
    if batch:
        report.counts.add(sink.upsert(batch))
        on_batch(batch)
    return report


def file_size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


__all__ = ["ImportReport", "ImportFileError", "import_file", "file_size"]
