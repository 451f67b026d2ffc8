"""Streaming import of files into the store, in batches, each batch one transaction.

A batch is an idempotent upsert, so a run killed at any point and started again ends with every paper there
exactly once: the batches that landed are merged again as "unchanged", the rest go in.
"""

from __future__ import annotations

import gzip
import zlib
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


# What reading a damaged gzip stream raises: truncated (EOFError), bad header or CRC (BadGzipFile, an
# OSError) or a corrupt deflate stream (zlib.error, which is none of those).
_READ_ERRORS = (OSError, EOFError, zlib.error)
_BOM = b"\xef\xbb\xbf"


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


def read_records(
    path: Path, report: ImportReport, on_error: ErrorHook, on_progress: ProgressHook
) -> Iterator[PaperRecord]:
    """The records of a file of any format we read, in file order; bad ones go to `on_error`, and
    `on_progress` hears how many bytes are read."""
    raw, stream = _open(path)
    with raw:
        try:
            sample = _peek(stream, MAX_LINE_BYTES)
        except _READ_ERRORS as exc:
            raise ImportFileError(f"{path}: cannot be read ({exc})") from None
        if sample.startswith(_BOM):
            stream.read(len(_BOM))
            sample = sample[len(_BOM) :]
        if not _looks_like_json_lines(sample):
            yield from _document_records(path, stream, report, on_error)
            on_progress(raw.tell())
            return
        if not _any_json_line(sample, whole=len(sample) < MAX_LINE_BYTES):
            # One clear message for a file of another kind (CSV, a compressed format, a binary) rather than
            # one per line.
            raise ImportFileError(f"{path}: neither JSON Lines nor a JSON document (no line of it is JSON)")
        line_number = 0
        while True:
            try:
                line = stream.readline(MAX_LINE_BYTES + 1)
            except _READ_ERRORS as exc:
                _bad(report, on_error, f"{path}:{line_number + 1}", f"file is truncated or corrupt ({exc})")
                break
            if not line:
                break
            line_number += 1
            if len(line) > MAX_LINE_BYTES:
                report.read += 1
                _bad(report, on_error, f"{path}:{line_number}", f"line longer than {MAX_LINE_BYTES} bytes")
                try:
                    _skip_rest_of_line(stream)
                except _READ_ERRORS as exc:
                    _bad(report, on_error, f"{path}:{line_number}", f"file is truncated or corrupt ({exc})")
                    break
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
    try:
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
    except _READ_ERRORS as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc})") from None
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


def _looks_like_json_lines(sample: bytes) -> bool:
    """Whether the file that starts with `sample` is JSON Lines (else it is one JSON document).

    A document is an array (`[` first), or an object spread over several lines (a first line that is just
    `{`, or one that is not JSON on its own while the whole file is). A JSON Lines file whose first line is
    damaged is still JSON Lines: that line is reported and the rest imported.
    """
    stripped = sample.lstrip()
    if stripped.startswith(b"["):
        return False
    first = stripped.split(b"\n", 1)[0]
    if not first.strip():
        return True  # empty
    try:
        orjson.loads(first)
        return True
    except orjson.JSONDecodeError:
        pass
    if first.strip() == b"{":  # how a pretty-printed object opens
        return False
    if len(sample) < MAX_LINE_BYTES:  # the sample is the whole file: is it one document?
        try:
            orjson.loads(sample)
            return False
        except orjson.JSONDecodeError:
            pass
    return True


def _any_json_line(sample: bytes, *, whole: bool) -> bool:
    """Whether some line of the sample is JSON (an empty sample counts: an empty file is fine)."""
    lines = sample.split(b"\n")
    if not whole:
        lines = lines[:-1]  # the last line may be cut by the sample size
        if not lines:
            return True  # a first line longer than the sample: reported on its own
    blank = True
    for line in lines:
        if line.strip():
            blank = False
            try:
                orjson.loads(line)
                return True
            except orjson.JSONDecodeError:
                continue
    return blank


def _peek(stream: IO[bytes], size: int) -> bytes:
    """Up to `size` bytes from the current position, which is kept; a damaged gzip gives what it can."""
    position = stream.tell()
    chunks: list[bytes] = []
    wanted = size
    try:
        while wanted > 0:
            # read1: one decompression step at a time, so what came before a damaged spot is kept.
            chunk = stream.read1(min(wanted, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        if not chunks:
            raise
    stream.seek(position)
    return b"".join(chunks)


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
    for record in read_records(Path(path), report, on_error, on_progress):
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
