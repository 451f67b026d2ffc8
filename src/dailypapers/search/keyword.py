"""Keyword search: a tantivy index on disk (derived from the database, rebuildable at any time).

BM25 over title (weighted up), abstract and authors, with top-k pruning, so a common word costs milliseconds
at millions of papers. Queries are built term by term from `query.ParsedQuery`; user text never reaches
tantivy's query parser, so no input can make the engine fail.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import tantivy

from dailypapers import arxiv_ids
from dailypapers.search.acronyms import Acronyms
from dailypapers.search.analysis import TOPICAL_MAX_WORDS, Ranking
from dailypapers.search.query import ParsedQuery
from dailypapers.search.types import InvalidQuery, SearchFilters
from dailypapers.store.search_documents import SearchDocument

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # bump when the schema or analyzers change: a new directory is built
TITLE_BOOST = 3.0
AUTHOR_BOOST = 1.5
ARXIV_ID_BOOST = 50.0
PREFIX_BOOST = 1.0
MAX_TERMS = 24  # a pasted abstract keeps its rarest words: cost grows with terms, relevance does not
MIN_PREFIX_CHARS = 3
PREFIX_ALWAYS_WORDS = 2  # queries this short are still being typed: their last word always expands
WRITER_HEAP = 64_000_000

Q = tantivy.Query
SHOULD, MUST = tantivy.Occur.Should, tantivy.Occur.Must


def _analyzers() -> dict[str, tantivy.TextAnalyzer]:
    def build(stem: bool) -> tantivy.TextAnalyzer:
        builder = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
        )
        if stem:
            builder = builder.filter(tantivy.Filter.stemmer("english"))
        return builder.build()

    return {"dp_text": build(stem=True), "dp_words": build(stem=False)}


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("paper_id", indexed=True, fast=True)
    builder.add_text_field("arxiv_id", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("title", tokenizer_name="dp_text")  # stemmed, with positions for phrases
    builder.add_text_field("abstract", tokenizer_name="dp_text")
    builder.add_text_field("authors", tokenizer_name="dp_words")  # one value per author
    # Title and abstract unstemmed, document ids only: what a half-typed last word is matched against
    # ("attenti" is no prefix of the stem "attent").
    builder.add_text_field("words", tokenizer_name="dp_words", index_option="basic")
    builder.add_text_field("categories", tokenizer_name="raw", index_option="basic")
    builder.add_date_field("published", indexed=True, fast=True)
    builder.add_boolean_field("daily", indexed=True, fast=True)
    return builder.build()


def to_document(doc: SearchDocument) -> tantivy.Document:
    document = tantivy.Document()
    document.add_integer("paper_id", doc.paper_id)
    document.add_text("arxiv_id", doc.arxiv_id.lower())
    document.add_text("title", doc.title or "")
    document.add_text("abstract", doc.abstract or "")
    for author in doc.authors or ():
        if isinstance(author, str) and author:
            document.add_text("authors", author)
    document.add_text("words", f"{doc.title or ''}\n{doc.abstract or ''}")
    for category in doc.categories or ():
        if isinstance(category, str) and category:
            document.add_text("categories", category.lower())
    if doc.published_at is not None:
        published = doc.published_at
        document.add_date("published", published if published.tzinfo else published.replace(tzinfo=UTC))
    document.add_boolean("daily", bool(doc.daily))
    return document


@dataclass(slots=True)
class KeywordState:
    """What the index holds, kept beside it: where the next incremental sync starts."""

    index_id: str | None = None
    modified_at: datetime | None = None  # the newest papers.modified_at indexed
    feed_entry_id: int = 0  # the highest feed_entries.id seen (a paper going on the feed changes its flag)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "index_id": self.index_id,
            "modified_at": self.modified_at.isoformat() if self.modified_at else None,
            "feed_entry_id": self.feed_entry_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeywordState:
        modified = data.get("modified_at")
        return cls(
            index_id=data.get("index_id"),
            modified_at=datetime.fromisoformat(modified) if modified else None,
            feed_entry_id=int(data.get("feed_entry_id") or 0),
        )


class KeywordIndex:
    """One tantivy index directory. Readers reload when another process commits; one writer at a time."""

    def __init__(self, directory: Path) -> None:
        self.root = Path(directory)
        self.path = self.root / f"keyword-v{SCHEMA_VERSION}"
        self.state_path = self.path / "dailypapers-state.json"
        self.acronyms_path = self.path / "acronyms.json"
        self._acronyms: tuple[tuple[int, int, int] | None, Acronyms] = (None, Acronyms({}))
        self.analyzers = _analyzers()
        self._index: tantivy.Index | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    # -- opening and reloading ----------------------------------------------------------------------

    def _open(self) -> tantivy.Index:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self.path.mkdir(parents=True, exist_ok=True)
                    if tantivy.Index.exists(str(self.path)):
                        index = tantivy.Index.open(str(self.path))
                    else:
                        index = tantivy.Index(_schema(), path=str(self.path))
                    for name, analyzer in self.analyzers.items():
                        index.register_tokenizer(name, analyzer)
                    index.config_reader("manual")
                    self._stamp = self._meta_stamp()
                    index.reload()
                    self._index = index
        return self._index

    def _meta_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self.path / "meta.json")
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    @property
    def schema(self) -> tantivy.Schema:
        return self._open().schema

    def searcher(self) -> tantivy.Searcher:
        """The latest committed state: a stat of meta.json per call, a reload only when it changed."""
        index = self._open()
        stamp = self._meta_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            index.reload()
        return index.searcher()

    def exists(self) -> bool:
        # tantivy raises rather than answer "no" for a directory that is not there at all.
        return self.path.is_dir() and tantivy.Index.exists(str(self.path))

    def num_docs(self) -> int:
        return self.searcher().num_docs if self.exists() else 0

    def size_bytes(self) -> int:
        if not self.path.exists():
            return 0
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())

    # -- state ----------------------------------------------------------------------------------------

    def read_state(self) -> KeywordState:
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return KeywordState()
        if data.get("schema") != SCHEMA_VERSION:
            return KeywordState()
        return KeywordState.from_json(data)

    def write_state(self, state: KeywordState) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state.to_json()))
        os.replace(tmp, self.state_path)

    # -- acronyms learned from the corpus (written by the indexer) ---------------------------------------

    def acronyms(self) -> Acronyms:
        """The learned table; reread when the indexer has written a new one."""
        try:
            stat = os.stat(self.acronyms_path)
            stamp: tuple[int, int, int] | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if stamp != self._acronyms[0]:
            table: dict[str, str] = {}
            if stamp is not None:
                try:
                    table = dict(json.loads(self.acronyms_path.read_text())["table"])
                except (OSError, ValueError, KeyError, TypeError):
                    log.warning("acronyms file %s unreadable: search goes without it", self.acronyms_path)
            self._acronyms = (stamp, Acronyms(table))
        return self._acronyms[1]

    def write_acronyms(self, counts: dict[tuple[str, str], int], table: dict[str, str]) -> None:
        """Atomically: the learned table and the counts it came from (an incremental sync adds to them)."""
        self.path.mkdir(parents=True, exist_ok=True)
        data = {"table": table, "counts": [[s, lf, n] for (s, lf), n in sorted(counts.items())]}
        tmp = self.acronyms_path.with_name(f".{self.acronyms_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.acronyms_path)

    def read_acronym_counts(self) -> dict[tuple[str, str], int] | None:
        try:
            rows = json.loads(self.acronyms_path.read_text())["counts"]
            return {(str(s), str(lf)): int(n) for s, lf, n in rows}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # -- writing -----------------------------------------------------------------------------------------

    @contextmanager
    def writer(self, *, timeout: float = 120.0, threads: int = 1) -> Iterator[KeywordWriter]:
        """The index's single writer (waiting for another process's to finish); commits on success."""
        index = self._open()
        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = index.writer(heap_size=WRITER_HEAP * max(1, threads), num_threads=threads)
                break
            except ValueError as exc:
                if "LockBusy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        writer = KeywordWriter(raw)
        try:
            yield writer
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.wait_merging_threads()  # also releases the lock
        self.searcher()

    # -- searching ----------------------------------------------------------------------------------------

    def search(
        self,
        parsed: ParsedQuery,
        filters: SearchFilters = SearchFilters(),
        *,
        offset: int = 0,
        limit: int = 20,
        ranking: Ranking = Ranking(),
    ) -> list[tuple[int, float]]:
        """(paper_id, BM25 score), best first."""
        if not self.exists() or limit <= 0:
            return []
        searcher = self.searcher()
        try:
            query = self.build_query(parsed, searcher, ranking)
            if query is None:
                return []
            result = searcher.search(self._filtered(query, filters), limit=limit, offset=offset, count=False)
            return self._ids(searcher, result.hits)
        except (ValueError, RuntimeError, OverflowError) as exc:
            # Queries are built term by term, so this is not expected; never let it reach the user raw.
            log.warning("keyword search failed for %r: %s", parsed.text[:200], exc)
            raise InvalidQuery("This query cannot be searched; try other words.") from None

    def count(self, filters: SearchFilters) -> int:
        """How many papers pass the filters."""
        if not self.exists():
            return 0
        searcher = self.searcher()
        return searcher.search(self._filtered(Q.all_query(), filters), limit=1, count=True).count

    def ids_matching(self, filters: SearchFilters, limit: int) -> list[int]:
        """Every paper passing the filters (up to `limit`), for an exact search among few."""
        searcher = self.searcher()
        result = searcher.search(self._filtered(Q.all_query(), filters), limit=limit, count=False)
        return [pid for pid, _ in self._ids(searcher, result.hits)]

    def keep_matching(self, paper_ids: Iterable[int], filters: SearchFilters) -> set[int]:
        """The subset of `paper_ids` that passes the filters."""
        ids = list(dict.fromkeys(int(p) for p in paper_ids))
        if not ids or not self.exists():
            return set()
        searcher = self.searcher()
        query = self._filtered(Q.term_set_query(self.schema, "paper_id", ids), filters)
        result = searcher.search(query, limit=len(ids), count=False)
        return {pid for pid, _ in self._ids(searcher, result.hits)}

    @staticmethod
    def _ids(searcher: tantivy.Searcher, hits) -> list[tuple[int, float]]:
        if not hits:
            return []
        ids = searcher.fast_field_values("paper_id", [address for _, address in hits])
        return [(int(pid), float(score)) for (score, _), pid in zip(hits, ids, strict=True)]

    def _filtered(self, query: tantivy.Query, filters: SearchFilters) -> tantivy.Query:
        clauses = self.filter_clauses(filters)
        if not clauses:
            return query
        return Q.boolean_query([(MUST, query)] + [(MUST, Q.const_score_query(c, 0.0)) for c in clauses])

    def filter_clauses(self, filters: SearchFilters) -> list[tantivy.Query]:
        schema = self.schema
        clauses = []
        if filters.published_from is not None or filters.published_to is not None:
            lower = _midnight(filters.published_from) if filters.published_from else None
            upper = _midnight(filters.published_to + timedelta(days=1)) if filters.published_to else None
            clauses.append(
                Q.range_query(
                    schema, "published", tantivy.FieldType.Date, lower, upper, include_upper=upper is None
                )
            )
        categories = sorted({c.strip().lower() for c in filters.categories if c and c.strip()})
        if categories:
            clauses.append(Q.term_set_query(schema, "categories", categories))
        if filters.daily_only:
            clauses.append(Q.term_query(schema, "daily", True))
        return clauses

    # -- query building -------------------------------------------------------------------------------

    def names_author(self, parsed: ParsedQuery) -> bool:
        """Whether the bare words (2-4 of them, nothing else) are, in order, an author's name in the index."""
        if not 2 <= len(parsed.words) <= 4 or parsed.phrases or parsed.authors or not self.exists():
            return False
        tokens = [t for word in parsed.words for t in self.analyzers["dp_words"].analyze(word)]
        if len(tokens) < 2:
            return False
        searcher = self.searcher()
        query = Q.phrase_query(self.schema, "authors", tokens)
        return bool(searcher.search(query, limit=1, count=False).hits)

    def build_query(
        self, parsed: ParsedQuery, searcher: tantivy.Searcher, ranking: Ranking = Ranking()
    ) -> tantivy.Query | None:
        """BM25 over the words (title boosted), required phrases and authors, the last word as a prefix;
        for a topic, the words as a phrase and the other form of its acronyms, as optional extras."""
        schema = self.schema
        short = len(parsed.words) <= TOPICAL_MAX_WORDS
        title_boost = ranking.topical_title_boost if short else ranking.title_boost
        text, words_analyzer = self.analyzers["dp_text"], self.analyzers["dp_words"]
        should: list[tantivy.Query] = []
        must: list[tantivy.Query] = []

        terms = list(dict.fromkeys(t for word in parsed.words for t in text.analyze(word)))
        if len(terms) > MAX_TERMS:
            terms = sorted(terms, key=lambda t: searcher.doc_freq("abstract", t))[:MAX_TERMS]
        for term in terms:
            should.append(Q.boost_query(Q.term_query(schema, "title", term), title_boost))
            should.append(Q.term_query(schema, "abstract", term))
        if ranking.phrase_boost > 0 and short:
            sequence = [t for word in parsed.words for t in text.analyze(word)]
            if len(sequence) >= 2:
                should += self._weighted_phrase(
                    sequence, ranking.phrase_boost, ranking.phrase_slop, title_boost
                )
        if ranking.acronym_boost > 0 and short:
            for expansion in self.acronyms().expand(parsed.words):
                tokens = [t for word in expansion.words for t in text.analyze(word)]
                if tokens:
                    should += self._weighted_phrase(tokens, ranking.acronym_boost, 0, title_boost)
        names = list(dict.fromkeys(t for word in parsed.words for t in words_analyzer.analyze(word)))
        for name in names[:MAX_TERMS]:
            should.append(Q.boost_query(Q.term_query(schema, "authors", name), AUTHOR_BOOST))
        for word in parsed.words[:MAX_TERMS]:
            arxiv_id = _arxiv_id(word)
            if arxiv_id:
                should.append(Q.boost_query(Q.term_query(schema, "arxiv_id", arxiv_id), ARXIV_ID_BOOST))
        if parsed.prefix:
            prefix_tokens = words_analyzer.analyze(parsed.prefix)
            if prefix_tokens and _wants_prefix(prefix_tokens[-1], len(parsed.words), searcher):
                # A range over the term dictionary, capped at 50 expansions: bounded cost for any prefix.
                prefix = Q.phrase_prefix_query(schema, "words", [prefix_tokens[-1]])
                should.append(Q.boost_query(prefix, PREFIX_BOOST))

        for phrase in parsed.phrases:
            clause = self._phrase(phrase)
            if clause is not None:
                must.append(clause)
        for author in parsed.authors:
            tokens = words_analyzer.analyze(author)
            if tokens:
                must.append(Q.boost_query(_phrase_or_term(schema, "authors", tokens), AUTHOR_BOOST))

        if not should and not must:
            return None
        clauses = [(MUST, q) for q in must] + [(SHOULD, q) for q in should]
        return Q.boolean_query(clauses)

    def _weighted_phrase(
        self, tokens: list[str], boost: float, slop: int, title_boost: float
    ) -> list[tantivy.Query]:
        schema = self.schema
        if len(tokens) == 1:
            title, abstract = (
                Q.term_query(schema, "title", tokens[0]),
                Q.term_query(schema, "abstract", tokens[0]),
            )
        else:
            title = Q.phrase_query(schema, "title", tokens, slop=slop)
            abstract = Q.phrase_query(schema, "abstract", tokens, slop=slop)
        return [Q.boost_query(title, boost * title_boost), Q.boost_query(abstract, boost)]

    def _phrase(self, phrase: str) -> tantivy.Query | None:
        schema = self.schema
        stemmed = self.analyzers["dp_text"].analyze(phrase)
        plain = self.analyzers["dp_words"].analyze(phrase)
        if not stemmed and not plain:
            return None
        options = []
        if stemmed:
            stemmed = stemmed[:MAX_TERMS]
            options.append(Q.boost_query(_phrase_or_term(schema, "title", stemmed), TITLE_BOOST))
            options.append(_phrase_or_term(schema, "abstract", stemmed))
        if plain:
            options.append(Q.boost_query(_phrase_or_term(schema, "authors", plain[:MAX_TERMS]), AUTHOR_BOOST))
        return Q.boolean_query([(SHOULD, q) for q in options])


def _wants_prefix(token: str, word_count: int, searcher: tantivy.Searcher) -> bool:
    """Whether the last word is also matched as a prefix.

    Short queries always expand (type-ahead). In a longer one, a last word that is already a word of the
    corpus is taken as finished: expanding it added more than half of the engine's time at 1M papers
    (its 50 expansions OR'ed in defeat top-k pruning) for a word the other clauses already match.
    """
    if len(token) < MIN_PREFIX_CHARS:
        return False
    return word_count <= PREFIX_ALWAYS_WORDS or searcher.doc_freq("words", token) == 0


def _phrase_or_term(schema: tantivy.Schema, field: str, tokens: list[str]) -> tantivy.Query:
    if len(tokens) == 1:
        return Q.term_query(schema, field, tokens[0])
    return Q.phrase_query(schema, field, tokens)


def _arxiv_id(word: str) -> str | None:
    if not any(ch.isdigit() for ch in word) or len(word) > 120:
        return None
    try:
        return arxiv_ids.normalize(word.strip(".,;()[]")).lower()
    except arxiv_ids.InvalidArxivId:
        return None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class KeywordWriter:
    """Adds and replaces documents inside one commit."""

    def __init__(self, raw: tantivy.IndexWriter) -> None:
        self.raw = raw
        self.written = 0

    def upsert(self, docs: Iterable[SearchDocument]) -> int:
        count = 0
        for doc in docs:
            self.raw.delete_documents_by_term("paper_id", doc.paper_id)
            self.raw.add_document(to_document(doc))
            count += 1
        self.written += count
        return count

    def add(self, docs: Iterable[SearchDocument]) -> int:
        """Add without deleting first: only into an index known not to hold these papers."""
        count = 0
        for doc in docs:
            self.raw.add_document(to_document(doc))
            count += 1
        self.written += count
        return count

    def delete(self, paper_ids: Iterable[int]) -> None:
        for paper_id in paper_ids:
            self.raw.delete_documents_by_term("paper_id", int(paper_id))

    def clear(self) -> None:
        self.raw.delete_all_documents()
