"""Files as a source: the importer's reader (JSONL, Kaggle snapshot, saved HF responses) in pages.

The position is the number of records read, so a killed import resumes after the last page that landed
(re-reading, not re-storing, what came before).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dailypapers.importers import files as importer
from dailypapers.ingest.pages import HarvestError, Page, Position, Skip

PAGE_SIZE = importer.BATCH_SIZE


class FileSource:
    name = "files"

    def __init__(self, paths: list[Path], page_size: int = PAGE_SIZE) -> None:
        self.paths = [Path(p) for p in paths]
        self.page_size = page_size

    def args(self) -> dict[str, Any]:
        return {"paths": [str(p.resolve()) for p in self.paths]}

    def fetch(self, position: Position | None) -> Iterator[Page]:
        position = position or {}
        first = int(position.get("file", 0))
        for index in range(first, len(self.paths)):
            yield from self._file(index, int(position.get("records", 0)) if index == first else 0)

    def _file(self, index: int, skip: int) -> Iterator[Page]:
        path = self.paths[index]
        report = importer.ImportReport()
        skipped: list[Skip] = []

        def on_error(message: str) -> None:
            where, _, reason = message.partition(": ")
            reason, _, detail = reason.partition(": ")
            skipped.append(Skip(where, reason, detail))

        batch, read = [], 0
        last = index + 1 == len(self.paths)
        try:
            records = importer.read_records(path, report, on_error, lambda position: None)
            for record in records:
                read += 1
                if read <= skip:  # landed before the interruption
                    skipped.clear()
                    continue
                batch.append(record)
                if len(batch) >= self.page_size:
                    yield self._page(batch, skipped, {"file": index, "records": read}, path, read)
                    batch, skipped = [], []  # on_error appends to the new list (a closure)
        except importer.ImportFileError as exc:
            raise HarvestError(str(exc)) from None
        after = None if last else {"file": index + 1, "records": 0}
        yield self._page(batch, skipped, after, path, read)

    def _page(self, batch, skipped, position, path, read) -> Page:
        return Page(
            records=list(batch),
            position=position,
            fetched=len(batch) + len(skipped),
            skipped=list(skipped),
            label=f"{path.name} {read:,}",
        )
