"""Snapshots of a node's search indexes, so that a new web node starts from files instead of the database.

`publish(index_dir, root)` copies a consistent state of both indexes into `root/<name>/` (the keyword index
while its writer lock is held, so no merge deletes a segment mid-copy; each vector model's manifest and the
file it names, which are never rewritten), writes the SHA-256 of every file into `SNAPSHOT.json`, and then
switches `root/CURRENT` to it with an atomic rename. `bootstrap(root, index_dir)` verifies every checksum of
the current snapshot, copies it beside `index_dir` and renames it into place. The keyword index carries its
watermark and the vector manifests theirs, so a bootstrapped node catches up from the database from there
(`DAILYPAPERS_SEARCH_FOLLOW_SECONDS`; vectors by themselves) and never serves an index older than the
snapshot plus one follow period. `root` is a directory: a shared mount, or one synced to object storage.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dailypapers.search.keyword import KeywordIndex

SNAPSHOT_FILE = "SNAPSHOT.json"
CURRENT = "CURRENT"
KEEP = 2  # snapshots kept: the current one and the one before it (a node may still be copying it)
_SKIP = {".tantivy-meta.lock", ".tantivy-writer.lock"}


class SnapshotError(Exception):
    """No usable snapshot: missing, damaged, or a target that would be overwritten."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    files: int
    bytes: int
    seconds: float


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _vector_files(directory: Path) -> list[Path]:
    """Each model's manifest and the file it names (older files may be mid-deletion: left out)."""
    files = []
    for manifest in sorted(directory.glob("*.json")):
        try:
            named = json.loads(manifest.read_text())["file"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (directory / named).is_file():
            files += [manifest, directory / named]
    return files


def publish(index_dir: Path, root: Path) -> Snapshot:
    started = time.perf_counter()
    index_dir, root = Path(index_dir), Path(root)
    keyword = KeywordIndex(index_dir)
    if not keyword.exists():
        raise SnapshotError(f"no search index in {index_dir}: run `dailypapers index build` first")
    root.mkdir(parents=True, exist_ok=True)
    # Names sort by time (to the microsecond): pruning keeps the newest.
    name = datetime.now(UTC).strftime("snap-%Y%m%dT%H%M%S%fZ-") + uuid.uuid4().hex[:8]
    staging = root / f".{name}.partial"
    staging.mkdir()
    checksums: dict[str, str] = {}
    try:
        # Vectors first: a snapshot's vectors may then be older than its keyword index, never newer than the
        # embeddings table; a node catches up on both from their watermarks.
        vectors = index_dir / "vectors"
        for path in _vector_files(vectors) if vectors.is_dir() else []:
            relative = path.relative_to(index_dir)
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, staging / relative)
        with keyword.writer():  # held: no segment merges away while we copy
            for path in sorted(keyword.path.iterdir()):
                if path.is_file() and path.name not in _SKIP:
                    relative = path.relative_to(index_dir)
                    (staging / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, staging / relative)
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            checksums[str(path.relative_to(staging))] = _sha256(path)
        size = sum((staging / f).stat().st_size for f in checksums)
        (staging / SNAPSHOT_FILE).write_text(json.dumps({"name": name, "files": checksums}, indent=1))
        os.replace(staging, root / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    pointer = root / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    pointer.write_text(name + "\n")
    os.replace(pointer, root / CURRENT)  # the switch: readers see the old name or the new, never half
    _prune(root, name)
    return Snapshot(name, len(checksums), size, time.perf_counter() - started)


def _prune(root: Path, current: str) -> None:
    snapshots = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("snap-"))
    for old in snapshots[:-KEEP]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def current(root: Path) -> Path:
    try:
        name = (Path(root) / CURRENT).read_text().strip()
    except OSError:
        raise SnapshotError(f"no snapshot published in {root}") from None
    if not name.startswith("snap-") or "/" in name or not (Path(root) / name).is_dir():
        raise SnapshotError(f"{root}/{CURRENT} names no snapshot ({name!r})")
    return Path(root) / name


def bootstrap(root: Path, index_dir: Path, *, replace: bool = False) -> Snapshot:
    """Install the current snapshot as `index_dir` after checking every file against its checksum."""
    started = time.perf_counter()
    source = current(root)
    try:
        listed: dict[str, str] = json.loads((source / SNAPSHOT_FILE).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"{source.name}: unreadable {SNAPSHOT_FILE} ({exc})") from None
    index_dir = Path(index_dir)
    if index_dir.exists() and any(index_dir.iterdir()) and not replace:
        raise SnapshotError(f"{index_dir} holds an index already: pass --replace to put the snapshot instead")
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = index_dir.parent / f".{index_dir.name}.bootstrap-{uuid.uuid4().hex[:8]}"
    try:
        for relative, digest in listed.items():
            if relative.startswith("/") or ".." in Path(relative).parts:
                raise SnapshotError(f"{source.name}: a file outside the snapshot ({relative})")
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / relative, target)
            if _sha256(target) != digest:
                raise SnapshotError(f"{source.name}: {relative} does not match its checksum; not installed")
        size = sum((staging / f).stat().st_size for f in listed)
        if index_dir.exists():
            aside = index_dir.parent / f".{index_dir.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(index_dir, aside)
            os.replace(staging, index_dir)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(staging, index_dir)
    except FileNotFoundError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SnapshotError(f"{source.name}: a listed file is missing ({exc.filename})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Snapshot(source.name, len(listed), size, time.perf_counter() - started)
