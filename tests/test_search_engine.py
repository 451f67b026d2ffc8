"""The search engine: keyword ranking, semantic search, hybrid fusion, filters, similar papers and bad input,
on SQLite and PostgreSQL, with the real packaged model and real demo papers."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from conftest import default_template
from dailypapers.papers import as_utc
from dailypapers.search import query as query_text
from dailypapers.search import service as service_module
from dailypapers.search.embedder import EmbeddingModelUnavailable
from dailypapers.search.indexer import Indexer
from dailypapers.search.service import Search
from dailypapers.search.types import MAX_QUERY_CHARS, InvalidQuery, SearchFilters
from dailypapers.store.schema import feed_entries, papers
from search_support import (
    PURPOSE_CORPUS,
    PURPOSE_PAPERS,
    ids_by_arxiv,
    paper,
    search_settings,
    shared_embedder,
)

MODES = ("keyword", "semantic", "hybrid")

# A paraphrase of the abstract of 2608.20336 (WithEveryone), sharing almost none of its words.
PARAPHRASE = (
    "making pictures of a crowd where every person keeps the face from their own reference photo, "
    "so that many individuals stay recognisable in one generated picture"
)
PARAPHRASED = "2608.20336"


@pytest.fixture
def index_dir(tmp_path):
    """The derived indexes of one test (never the user's data directory)."""
    return tmp_path / "index"


@pytest.fixture
def database_template(request):
    """The tests of `engine_search` start from a copy of PURPOSE_CORPUS, its indexes in `index_dir`."""
    return PURPOSE_CORPUS if "engine_search" in request.fixturenames else default_template(request)


@pytest.fixture
def engine_search(store, database_url, index_dir):
    """A Search over the purpose-written papers plus every 10th paper of the demo slice (~320 papers)."""
    settings = search_settings(database_url, index_dir)
    search = Search(store.engine, settings, embedder_factory=shared_embedder(settings), refresh_interval=0.0)
    search.ids = ids_by_arxiv(store)
    yield search
    search.close()


def arxiv_ids_of(search, hits) -> list[str]:
    by_id = {v: k for k, v in search.ids.items()}
    return [by_id[h.paper_id] for h in hits]


# -- reading the query ------------------------------------------------------------------------------------


def test_query_is_read_into_words_phrases_authors_and_a_prefix():
    parsed = query_text.parse('graph "message passing" author:"Ada Example" au:Quill AND transfo')
    assert parsed.words == ["graph", "transfo"]
    assert parsed.phrases == ["message passing"]
    assert parsed.authors == ["Ada Example", "Quill"]
    assert parsed.prefix == "transfo"


def test_unbalanced_quotes_and_operators_are_just_text():
    parsed = query_text.parse('NEAR/3 "unclosed words OR here')
    assert parsed.phrases == []
    assert parsed.words == ["unclosed", "words", "here"]
    assert query_text.parse("AND").words == ["AND"]  # only operators: search for them as words


def test_long_queries_are_cut_not_refused():
    assert len(query_text.parse("word " * 5000).text) <= MAX_QUERY_CHARS


@pytest.mark.parametrize("text", ["", "   ", "!!!", '"', "((( )))", "\x00\x01", "🚀🔥"])
def test_queries_without_words_are_invalid(text):
    with pytest.raises(InvalidQuery):
        query_text.parse(text)


# -- keyword ranking --------------------------------------------------------------------------------------


def test_a_title_match_outranks_an_abstract_match(engine_search):
    hits = engine_search.search("zorblax", mode="keyword")
    assert arxiv_ids_of(engine_search, hits)[:2] == ["2611.90001", "2611.90002"]
    assert hits[0].score > hits[1].score
    assert [h.keyword_rank for h in hits[:2]] == [1, 2]


def test_a_quoted_phrase_must_match_as_a_phrase(engine_search):
    found = arxiv_ids_of(engine_search, engine_search.search('"quantum flux capacitor"', mode="keyword"))
    assert found == ["2611.90003"]  # 2611.90004 has the words, not the phrase
    loose = arxiv_ids_of(engine_search, engine_search.search("quantum flux capacitor", mode="keyword"))
    assert {"2611.90003", "2611.90004"} <= set(loose)


def test_author_search(engine_search):
    for text in ("author:Quillfeather", 'author:"Xenophon Quillfeather"', "quillfeather"):
        assert arxiv_ids_of(engine_search, engine_search.search(text, mode="keyword"))[:1] == [
            "2611.90005"
        ], text
    assert engine_search.search("author:Zzyzxnobody", mode="keyword") == []
    # Accents fold both ways.
    assert "2611.90007" in arxiv_ids_of(engine_search, engine_search.search("author:muller", mode="keyword"))


def test_the_last_word_matches_as_a_prefix(engine_search):
    assert arxiv_ids_of(engine_search, engine_search.search("transmogri", mode="keyword")) == ["2611.90006"]
    # A prefix that runs past the word's stem still matches: prefixes are matched against unstemmed words.
    assert "2611.90006" in arxiv_ids_of(
        engine_search, engine_search.search("sequence transmogrifie", mode="keyword")
    )
    # Only the last word is a prefix.
    assert engine_search.search("transmogri zzzz", mode="keyword") == []
    # In a longer query a half-typed last word still expands ...
    assert "2611.90006" in arxiv_ids_of(
        engine_search, engine_search.search("zzzz yyyy transmogri", mode="keyword")
    )


def test_a_finished_last_word_in_a_long_query_is_not_expanded(engine_search):
    from dailypapers.search.keyword import _wants_prefix

    searcher = engine_search.keyword.searcher()
    # "sequence" is a word of the corpus: in a 3-word query it is matched as a word, not as a prefix.
    assert _wants_prefix("sequence", 1, searcher) and _wants_prefix("sequence", 2, searcher)
    assert not _wants_prefix("sequence", 3, searcher)
    assert _wants_prefix("transmogri", 3, searcher)
    assert not _wants_prefix("tr", 1, searcher)


def test_stemming_matches_other_forms(engine_search):
    assert "2611.90005" in arxiv_ids_of(engine_search, engine_search.search("weighted terms", mode="keyword"))


def test_an_arxiv_id_finds_its_paper_first(engine_search):
    for text in (PARAPHRASED, f"arXiv:{PARAPHRASED}v2"):
        for mode in ("keyword", "hybrid"):
            assert arxiv_ids_of(engine_search, engine_search.search(text, mode=mode))[:1] == [PARAPHRASED]


# -- semantic and hybrid ------------------------------------------------------------------------------------


def test_semantic_search_finds_a_paper_by_a_paraphrase(engine_search):
    semantic = arxiv_ids_of(engine_search, engine_search.search(PARAPHRASE, mode="semantic", limit=3))
    assert PARAPHRASED in semantic
    hits = engine_search.search(PARAPHRASE, mode="semantic", limit=3)
    assert all(h.semantic_rank == i + 1 and h.keyword_rank is None for i, h in enumerate(hits))
    assert hits[0].score >= hits[-1].score


def test_hybrid_fuses_both_rankings(engine_search):
    from dailypapers.search.service import MAX_LIMIT, fuse

    # At the largest limit both lists and the fusion cover the whole small test corpus.
    text = "identity preserving group image generation"
    keyword = engine_search.search(text, mode="keyword", limit=MAX_LIMIT)
    semantic = engine_search.search(text, mode="semantic", limit=MAX_LIMIT)
    hybrid = engine_search.search(text, mode="hybrid", limit=MAX_LIMIT)
    fused = {h.paper_id: h for h in hybrid}
    assert keyword[0].paper_id in fused and semantic[0].paper_id in fused
    keyword_ranks = {h.paper_id: h.keyword_rank for h in keyword}
    semantic_ranks = {h.paper_id: h.semantic_rank for h in semantic}
    expected = {
        h.paper_id: h.score
        for h in fuse(
            [(h.paper_id, h.score) for h in keyword],
            [(h.paper_id, h.score) for h in semantic],
            engine_search.ranking.keyword_weight("long"),  # five words: a long query
        )
    }
    for hit in hybrid:
        assert hit.keyword_rank == keyword_ranks.get(hit.paper_id)
        assert hit.semantic_rank == semantic_ranks.get(hit.paper_id)
        assert hit.score == pytest.approx(expected[hit.paper_id])
    assert any(h.keyword_rank and h.semantic_rank for h in hybrid)
    assert any(h.semantic_rank and not h.keyword_rank for h in hybrid)
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)


@pytest.mark.parametrize("mode", MODES)
def test_pagination(engine_search, mode):
    whole = [h.paper_id for h in engine_search.search("language models for reasoning", mode=mode, limit=12)]
    pages = [
        h.paper_id
        for offset in (0, 4, 8)
        for h in engine_search.search("language models for reasoning", mode=mode, offset=offset, limit=4)
    ]
    assert len(whole) == 12
    assert pages == whole


def test_similar_papers(engine_search):
    pid = engine_search.ids[PARAPHRASED]
    hits = engine_search.similar(pid, limit=5)
    assert len(hits) == 5
    assert pid not in {h.paper_id for h in hits}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.semantic_rank for h in hits] == [1, 2, 3, 4, 5]
    assert engine_search.similar(10**9) == []


def test_similar_works_for_a_paper_not_embedded_yet(engine_search, store):
    store.upsert(
        [paper("2611.90100", "Crowd image generation with identities", "Group photos of many people.")]
    )
    pid = ids_by_arxiv(store)["2611.90100"]
    hits = engine_search.similar(pid, limit=3)
    assert len(hits) == 3 and pid not in {h.paper_id for h in hits}


# -- short topical queries (issue 17) ----------------------------------------------------------------------

TOPICAL = [
    # The words apart, and more often: plain BM25 puts this one first.
    paper(
        "2611.90301",
        "Quorble methods",
        "Quorble and flimsy: a flimsy quorble is rare, and flimsy data make quorble hard; flimsy again.",
    ),
    # The words as a unit, once.
    paper("2611.90302", "Notes on sampling", "We study quorble flimsy estimation for small samples."),
    # Four papers define an acronym, so the index learns it.
    *[
        paper(f"2611.9031{i}", f"Zentral quux study {i}", f"Zentral quux models (ZQMs) are used here ({i}).")
        for i in range(4)
    ],
    paper("2611.90320", "A short note", "We train a ZQM on toy data."),  # only the acronym
    paper("2611.90321", "Another note", "We train a zentral quux model on toy data."),  # only the long form
]


def _with_topical_papers(engine_search, store) -> None:
    store.upsert(TOPICAL)
    engine_search.sync(embed_limit=-1)
    engine_search.ids = ids_by_arxiv(store)


def test_a_topic_is_matched_as_a_phrase(engine_search, store):
    from dailypapers.search.analysis import RANKINGS

    _with_topical_papers(engine_search, store)
    now = arxiv_ids_of(engine_search, engine_search.search("quorble flimsy", mode="keyword", limit=2))
    assert now == ["2611.90302", "2611.90301"]
    engine_search.ranking = RANKINGS["before"]
    before = arxiv_ids_of(engine_search, engine_search.search("quorble flimsy", mode="keyword", limit=2))
    assert before == ["2611.90301", "2611.90302"]


def test_acronyms_are_learned_from_the_corpus_and_expand_queries(engine_search, store):
    from dailypapers.search.analysis import RANKINGS

    _with_topical_papers(engine_search, store)
    assert engine_search.keyword.acronyms().long_of["zqm"] == "zentral quux model"
    short = engine_search.search("ZQM", mode="keyword", limit=20)
    assert "2611.90321" in arxiv_ids_of(engine_search, short)  # says "zentral quux model" only
    assert all(h.extra["expansions"] == [("ZQM", "zentral quux model")] for h in short)
    # The long form finds the paper that says "ZQM" only, through the expansion alone (it shares no word with
    # the query; "model" puts some 30 papers above it, and in hybrid its rank is the semantic list's to give).
    long = arxiv_ids_of(engine_search, engine_search.search("zentral quux model", mode="keyword", limit=100))
    assert "2611.90320" in long
    engine_search.ranking = RANKINGS["before"]
    plain = engine_search.search("ZQM", mode="keyword", limit=20)
    assert "2611.90321" not in arxiv_ids_of(engine_search, plain)
    assert all("expansions" not in h.extra for h in plain)
    unexpanded = engine_search.search("zentral quux model", mode="keyword", limit=100)
    assert "2611.90320" not in arxiv_ids_of(engine_search, unexpanded)


def test_a_name_in_the_index_is_an_author_query(engine_search):
    assert engine_search.keyword.names_author(query_text.parse("Xenophon Quillfeather"))
    assert engine_search.keyword.names_author(query_text.parse("xenophon quillfeather"))
    assert not engine_search.keyword.names_author(query_text.parse("Quillfeather Xenophon"))
    assert not engine_search.keyword.names_author(query_text.parse("graph reasoning"))
    assert not engine_search.keyword.names_author(query_text.parse("Quillfeather"))  # one word: a topic too


def test_each_kind_of_query_is_fused_with_its_weight(engine_search):
    from dataclasses import replace

    ranking = engine_search.ranking
    # Keyword only for topics: no hit comes from the semantic list.
    engine_search.ranking = replace(ranking.with_weight("topical", 1.0), prf_docs=0)
    hits = engine_search.search("graph reasoning", mode="hybrid", limit=50)
    assert hits and all(h.semantic_rank is None for h in hits)
    # A long query is fused as before.
    long = engine_search.search(
        "reasoning over graphs with message passing networks", mode="hybrid", limit=50
    )
    assert any(h.semantic_rank is not None for h in long)
    # An author's name weighs as its kind says.
    engine_search.ranking = ranking.with_weight("author", 1.0)
    named = engine_search.search("Xenophon Quillfeather", mode="hybrid", limit=50)
    assert arxiv_ids_of(engine_search, named)[:1] == ["2611.90005"]
    assert all(h.semantic_rank is None for h in named)


def test_feedback_from_keyword_hits_steers_the_semantic_query(engine_search):
    from dataclasses import replace

    base = replace(engine_search.ranking, prf_docs=0, prf_weight=0.0).with_weight("topical", 0.5)
    engine_search.ranking = base
    plain = engine_search._semantic("zorblax", SearchFilters(), 10)
    feedback = [engine_search.ids["2611.90001"]]
    assert engine_search.ids["2611.90001"] not in [pid for pid, _ in plain][:1]
    engine_search.ranking = replace(base, prf_docs=1, prf_weight=2.0)
    steered = engine_search._semantic("zorblax", SearchFilters(), 10, feedback)
    assert [pid for pid, _ in steered][:1] == [engine_search.ids["2611.90001"]]
    hybrid = engine_search.search("zorblax", mode="hybrid", limit=10)
    assert hybrid[0].semantic_rank == 1 and hybrid[0].keyword_rank == 1


# -- filters ----------------------------------------------------------------------------------------------


def _facts(store, paper_ids):
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(papers.c.id, papers.c.categories, papers.c.published_at).where(papers.c.id.in_(paper_ids))
        ).all()
        daily = set(
            conn.execute(
                select(feed_entries.c.paper_id).where(feed_entries.c.paper_id.in_(paper_ids))
            ).scalars()
        )
    return {r.id: (set(r.categories or []), as_utc(r.published_at), r.id in daily) for r in rows}


FILTERS = [
    SearchFilters(categories=("cs.CL",)),
    SearchFilters(categories=("cs.cv", "quant-ph")),
    SearchFilters(published_from=date(2026, 8, 1), published_to=date(2026, 8, 10)),
    SearchFilters(published_to=date(2025, 12, 31)),
    SearchFilters(daily_only=True),
    SearchFilters(daily_only=True, categories=("cs.CV",), published_from=date(2026, 1, 1)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "exact_max", [20_000, 0]
)  # exact among the passing papers, or over-sampling the graph
def test_filters_hold_in_every_mode(engine_search, store, monkeypatch, mode, exact_max):
    monkeypatch.setattr(service_module, "EXACT_FILTER_MAX", exact_max)
    for filters in FILTERS:
        hits = engine_search.search("vision language models", mode=mode, filters=filters, limit=30)
        facts = _facts(store, [h.paper_id for h in hits])
        for hit in hits:
            categories, published, daily = facts[hit.paper_id]
            if filters.categories:
                assert {c.lower() for c in categories} & {c.lower() for c in filters.categories}
            if filters.published_from:
                assert published.date() >= filters.published_from
            if filters.published_to:
                assert published.date() <= filters.published_to
            if filters.daily_only:
                assert daily
    assert engine_search.search("vision", mode=mode, filters=SearchFilters(categories=("cs.CV",)))
    assert engine_search.search("vision", mode=mode, filters=SearchFilters(categories=("nope.XX",))) == []


def test_filters_find_the_right_purpose_papers(engine_search):
    only_quantum = SearchFilters(categories=("quant-ph",))
    assert arxiv_ids_of(
        engine_search, engine_search.search("capacitor", mode="keyword", filters=only_quantum)
    ) == ["2611.90003"]
    early = SearchFilters(published_from=date(2025, 1, 15), published_to=date(2025, 1, 15))
    assert arxiv_ids_of(engine_search, engine_search.search("capacitor", mode="keyword", filters=early)) == [
        "2611.90003"
    ]
    daily = SearchFilters(daily_only=True)
    assert arxiv_ids_of(engine_search, engine_search.search("term weighting", mode="keyword", filters=daily))[
        :1
    ] == ["2611.90005"]


# -- bad input --------------------------------------------------------------------------------------------

HOSTILE = [
    "AND",
    "OR NOT",
    "attention AND transformers",
    "NEAR/3 attention",
    "NEAR(attention, models)",
    "*",
    "attention*",
    "*ttention",
    '"',
    '"unbalanced quote',
    'a "b',
    '""""',
    ":",
    "title:",
    "author:",
    'author:"',
    'author:"unclosed name',
    "a:b:c",
    "x" * 10_000,
    "attention " * 2000,
    "🚀🔥",
    "🚀 rocket models",
    "注意力机制 attention",
    "Трансформер модели",
    "عربي transformer",
    "SELECT * FROM papers; DROP TABLE papers; --",
    "' OR 1=1 --",
    "Robert'); DROP TABLE students;--",
    "!!!",
    "...",
    "",
    "   ",
    "\x00\x01\x02",
    "(a OR b) AND c",
    "+a -b",
    "~fuzzy^2",
    "[1 TO 5]",
    "{a}",
    "\\",
    "/regex.*/",
    "title:attention^10",
    "2608.20336v99",
    "hep-th/9901001",
    "\u202e\u200b\ufeff",
    "a" * 300,
]


@pytest.mark.parametrize("mode", MODES)
def test_hostile_queries_give_results_or_invalid_query(engine_search, mode):
    for text in HOSTILE:
        try:
            hits = engine_search.search(text, mode=mode, limit=5)
        except InvalidQuery as exc:
            assert str(exc)
            assert not any(ch.isalnum() for ch in text.strip()[:MAX_QUERY_CHARS]) or text.strip() == "", text
            continue
        assert isinstance(hits, list), text
    for text in ("", "   ", "!!!", "...", '"', '""""', "*", ":", "🚀🔥"):
        with pytest.raises(InvalidQuery):
            engine_search.search(text, mode=mode)


def test_bad_modes_and_limits(engine_search):
    with pytest.raises(InvalidQuery):
        engine_search.search("attention", mode="fulltext")  # type: ignore[arg-type]
    assert engine_search.search("attention", limit=0) == []
    assert engine_search.search("attention", mode="keyword", offset=10**9) == []


def test_an_unavailable_model_leaves_keyword_search_working(store, database_url, index_dir):
    model = "no-such-org/no-such-model"  # not packaged, not cached, and downloads are off
    settings = search_settings(database_url, index_dir, embedding_model=model)
    store.upsert(PURPOSE_PAPERS)
    ids = sorted(ids_by_arxiv(store).values())
    vectors = np.random.default_rng(0).standard_normal((len(ids), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    indexer = Indexer(store.engine, settings)
    indexer.store_embeddings(model, ids, [f"text {i}" for i in ids], vectors)  # as if made elsewhere
    indexer.sync_keyword()
    search = Search(store.engine, settings)
    hits = search.search("zorblax", mode="hybrid")
    assert [h.semantic_rank for h in hits] == [None, None] and hits[0].keyword_rank == 1
    with pytest.raises(EmbeddingModelUnavailable):
        search.search("zorblax", mode="semantic")
    assert len(search.similar(ids[0], limit=3)) == 3  # stored vectors need no model


def test_fuse_weights_normalized_scores_and_keeps_both_ranks():
    from dailypapers.search.service import fuse

    keyword = [(1, 10.0), (2, 5.0)]
    semantic = [(2, 0.9), (3, 0.5), (1, 0.1)]
    hits = {h.paper_id: h for h in fuse(keyword, semantic, 0.8)}
    assert hits[1].score == pytest.approx(0.8 * 1.0 + 0.2 * 0.0)
    assert hits[2].score == pytest.approx(0.8 * 0.5 + 0.2 * 1.0)
    assert hits[3].score == pytest.approx(0.2 * 0.5)
    assert (hits[2].keyword_rank, hits[2].semantic_rank) == (2, 1)
    assert hits[3].keyword_rank is None and hits[3].semantic_rank == 2
    # A paper the query's words name stays first over a semantic near-miss.
    assert max(hits.values(), key=lambda h: h.score).paper_id == 1


# -- several nodes ------------------------------------------------------------------------------------------


def test_a_node_with_its_own_index_catches_up_from_the_database(store, database_url, index_dir, tmp_path):
    """Two web nodes on one database, each with its own index directory: papers that one node's worker
    indexes become searchable on the other by its follower, without re-embedding anything there."""
    settings = search_settings(database_url, tmp_path / "node-b", search_follow_seconds=1.0)
    node_b = Search(store.engine, settings, embedder_factory=shared_embedder(settings), refresh_interval=0.0)
    try:
        # A new node: its first refresh builds its keyword index from the database.
        assert node_b.search("Quokka", mode="keyword", limit=5) == []
        store.upsert([paper("2612.00001", "Quokka locomotion on rough terrain", "We study quokkas hopping.")])
        assert node_b.search("Quokka", mode="keyword", limit=5) == []  # within the period: not yet
        time.sleep(1.1)
        hits = node_b.search("Quokka", mode="keyword", limit=5)  # the period is over: caught up
        assert [h.paper_id for h in hits] == [ids_by_arxiv(store)["2612.00001"]]
    finally:
        node_b.close()


def test_without_following_a_node_leaves_indexing_to_the_writer(store, database_url, tmp_path):
    settings = search_settings(database_url, tmp_path / "node-c")  # search_follow_seconds = 0
    node = Search(store.engine, settings, embedder_factory=shared_embedder(settings), refresh_interval=0.0)
    try:
        store.upsert([paper("2612.00002", "Wombat burrow acoustics", "Wombats dig burrows.")])
        node.refresh()
        assert not (tmp_path / "node-c").exists() or not any((tmp_path / "node-c").iterdir())
    finally:
        node.close()
