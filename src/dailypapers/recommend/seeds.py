"""Cold start: the arXiv ids in what a reader brings (pasted ids or URLs, a BibTeX file, a Zotero/CSL-JSON
export). Each reader of a format keeps every good entry and says, by line, what it could not use."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import bibtexparser

from dailypapers import arxiv_ids

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_SEEDS = 500  # ids taken from one upload
MAX_PROBLEMS = 20  # messages kept (the count says how many more)
_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|arxiv[:.]\s*)([a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7}|[0-9]{4}\.[0-9]{4,5})(?:v[0-9]+)?",
    re.I,
)


class UnreadableFile(ValueError):
    """Nothing could be read at all (not BibTeX, not JSON); the message says where it went wrong."""


@dataclass
class Found:
    ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0

    def add(self, arxiv_id: str) -> None:
        if arxiv_id not in self.ids and len(self.ids) < MAX_SEEDS:
            self.ids.append(arxiv_id)

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)
        else:
            self.more_problems += 1


def _id_in(value: str) -> str | None:
    """An arXiv id a field names: the id itself, an arXiv URL, `arXiv:...`, a 10.48550/arXiv.* DOI."""
    value = value.strip()
    try:
        return arxiv_ids.normalize(value)
    except arxiv_ids.InvalidArxivId:
        pass
    match = _IN_TEXT.search(value)
    if match:
        try:
            return arxiv_ids.normalize(match.group(1))
        except arxiv_ids.InvalidArxivId:
            return None
    return None


def from_text(text: str) -> Found:
    """Ids or arXiv URLs, separated by spaces, commas or new lines."""
    found = Found()
    for number, line in enumerate(text.splitlines(), start=1):
        for token in re.split(r"[\s,;]+", line):
            token = token.strip().strip("<>()[]\"'")
            if not token:
                continue
            arxiv_id = _id_in(token)
            if arxiv_id is None:
                found.problem(f"line {number}: not an arXiv id or URL: {token[:60]}")
            else:
                found.add(arxiv_id)
    return found


def from_bibtex(text: str) -> Found:
    """Entries with an `eprint`, an arXiv `url`, `doi` or `journal`/`note` mention; the others are named."""
    found = Found()
    try:
        library = bibtexparser.parse_string(text)
    except Exception as exc:  # the parser's own errors are not one class
        raise UnreadableFile(f"not BibTeX: {str(exc)[:200]}") from None
    for block in library.failed_blocks:
        lines = str(getattr(block, "error", "") or "").strip().splitlines()
        reason = lines[0][:160] if lines else "this entry could not be read (an unclosed brace or quote?)"
        found.problem(f"line {block.start_line + 1}: {reason}")
    for entry in library.entries:
        fields = {key.lower(): str(f.value) for key, f in entry.fields_dict.items()}
        arxiv_id = None
        for name in ("eprint", "arxivid", "url", "doi", "journal", "note", "howpublished"):
            if name in fields:
                arxiv_id = _id_in(fields[name])
                if arxiv_id:
                    break
        if arxiv_id is None:
            found.problem(f"line {entry.start_line + 1}: entry {entry.key[:60]} names no arXiv paper")
        else:
            found.add(arxiv_id)
    if not library.entries and not library.failed_blocks:
        raise UnreadableFile("no BibTeX entries found")
    return found


def from_csl_json(text: str) -> Found:
    """A CSL-JSON array (Zotero's export): items whose URL, DOI, `number` or `id` names an arXiv paper."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if isinstance(items, dict):
        items = items.get("items", [items])
    if not isinstance(items, list):
        raise UnreadableFile("a CSL-JSON file is an array of items")
    found = Found()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            found.problem(f"item {number}: not an object")
            continue
        arxiv_id = None
        for name in ("URL", "DOI", "number", "archive_location", "id", "note"):
            value = item.get(name)
            if isinstance(value, str | int):
                arxiv_id = _id_in(str(value))
                if arxiv_id:
                    break
        if arxiv_id is None:
            title = str(item.get("title", ""))[:60]
            found.problem(f"item {number}{f' ({title})' if title else ''}: names no arXiv paper")
        else:
            found.add(arxiv_id)
    return found


def from_upload(filename: str, data: bytes) -> Found:
    """By the file's name and content: BibTeX (`.bib`) or CSL-JSON (`.json`, or content starting with `[`)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if filename.lower().endswith(".json") or text.lstrip().startswith(("[", "{")):
        return from_csl_json(text)
    return from_bibtex(text)
