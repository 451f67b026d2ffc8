"""Key phrases: the candidates, the scoring against the paper's own embedding, the key sentence; made at index
time by the real packaged model, kept in the store (SQLite and PostgreSQL), redone when the text changes,
served as `ai_keywords` and shown as links."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import func, select

from dailypapers.keyphrases import TokenVectors, extract
from dailypapers.keyphrases.candidates import candidates, normalize, sentences, singular
from dailypapers.search.indexer import Indexer
from dailypapers.store.keyphrases import SqlKeyPhrases
from dailypapers.store.schema import key_phrases
from search_support import PURPOSE_PAPERS, demo_records, paper, search_settings, shared_embedder

# -- candidates ------------------------------------------------------------------------------------------


def test_candidates_stop_at_function_words_and_punctuation():
    found = candidates(
        "We propose retrieval-augmented generation for large language models, and evaluate it on 3D scenes."
    )
    assert "retrieval-augmented generation" in found
    assert "large language model" in found
    assert "3d scene" in found  # one capital: lowercase, as Hugging Face writes "3d gaussian splatting"
    for key in found:
        words = key.lower().split()
        assert not {"we", "for", "and", "on", "it", "propose", "evaluate"} & set(words), key
        assert "," not in key


def test_a_phrase_never_ends_on_a_participle_or_starts_with_an_adverb():
    found = candidates("Carefully designed sparse attention kernels proposed recently")
    assert "sparse attention kernel" in found
    assert all(not k.endswith("ed") for k in found), found
    assert all(not k.startswith("carefully") for k in found), found


def test_generic_words_alone_are_no_phrase():
    found = candidates("The model improves performance on the task with a new dataset")
    assert "model" not in found and "performance" not in found and "task" not in found


@pytest.mark.parametrize(
    ("word", "expected"),
    [("models", "models"[:-1]), ("strategies", "strategy"), ("LLMs", "LLM"), ("analysis", "analysis"),
     ("approaches", "approach"), ("class", "class"), ("VLMs", "VLM"), ("gas", "gas")],
)  # fmt: skip
def test_singular(word, expected):
    assert singular(word) == expected


def test_normalized_keys_keep_acronyms_and_lowercase_the_rest():
    assert normalize(["Large", "Language", "Models"]) == "large language model"
    assert normalize(["LoRA", "Adapters"]) == "LoRA adapter"
    assert normalize(["Retrieval-Free", "Methods"]) == "retrieval-free method"
    assert normalize(["GPT-4", "Agents"]) == "GPT-4 agent"


def test_sentences_split_after_a_full_stop_and_a_capital():
    text = "First one here. Second one, e.g. this. Third!"
    assert [text[s:e] for s, e in sentences(text)] == ["First one here.", "Second one, e.g. this.", "Third!"]


# -- scoring with token vectors made by hand -------------------------------------------------------------


def _tokens(text: str, toward: dict[str, np.ndarray], dim: int = 8, seed: int = 0):
    """Whitespace tokens, each with a random vector unless `toward` names the word."""
    rng = np.random.default_rng(seed)
    offsets, rows = [(0, 0)], [np.zeros(dim)]
    for match in re.finditer(r"[A-Za-z0-9-]+", text):
        offsets.append(match.span())
        word = match.group().lower()
        rows.append(toward.get(word, rng.normal(size=dim) * 0.5))
    offsets.append((0, 0))
    rows.append(np.zeros(dim))
    return TokenVectors(np.array(rows, dtype=np.float32), offsets)


def test_the_phrase_closest_to_the_paper_comes_first_and_three_to_eight_are_kept():
    doc = np.zeros(8, dtype=np.float32)
    doc[0] = 1.0
    near = np.zeros(8)
    near[0] = 3.0
    title = "Quantum kernels"
    text = (
        f"{title}. We study photonic qubit routers for quantum kernels. Cold atoms, magnetic traps, "
        "optical lattices, neutral atoms and superconducting circuits appear as well, with trapped ions "
        "and spin chains."
    )
    tokens = _tokens(text, {"photonic": near, "qubit": near, "routers": near})
    found = extract(title, text, doc, tokens)
    assert found.phrases[0] == "photonic qubit router"
    assert 3 <= len(found.phrases) <= 8
    assert found.scores == sorted(found.scores, reverse=True) or len(found.scores) >= 3
    # No phrase is a part of another one chosen.
    for a in found.phrases:
        for b in found.phrases:
            assert a == b or f" {a} " not in f" {b} "


def test_the_key_sentence_is_the_one_closest_to_the_paper():
    doc = np.zeros(8, dtype=np.float32)
    doc[1] = 1.0
    near = np.zeros(8)
    near[1] = 3.0
    title = "A title"
    text = (
        f"{title}. Background sentences say what others did long ago. "
        "Frobnicating widgets beat every gadget we tried. A closing sentence about nothing in particular."
    )
    tokens = _tokens(text, {"frobnicating": near, "widgets": near, "gadget": near})
    found = extract(title, text, doc, tokens)
    assert found.key_sentence == "Frobnicating widgets beat every gadget we tried."


def test_text_the_model_did_not_see_gives_no_phrase():
    title = "Seen"
    text = f"{title}. Visible words here. Invisible tail words far beyond the limit."
    tokens = _tokens(text, {})
    cut = TokenVectors(tokens.vectors[:5], tokens.offsets[:5])  # only the first few tokens
    found = extract(title, text, np.ones(8, dtype=np.float32), cut)
    assert all("invisible" not in p and "tail" not in p for p in found.phrases)


def test_no_tokens_no_phrases():
    found = extract("", "", np.ones(4, dtype=np.float32), TokenVectors(np.zeros((2, 4)), [(0, 0), (0, 0)]))
    assert found.phrases == [] and found.key_sentence is None


# -- with the real model, through the indexer and the store ----------------------------------------------


@pytest.fixture
def settings_(database_url, tmp_path):
    return search_settings(database_url, tmp_path / "index")


def test_index_sync_gives_every_paper_its_phrases_in_the_same_pass(store, settings_):
    records = PURPOSE_PAPERS + demo_records(every=200)
    store.upsert(records)
    indexer = Indexer(store.engine, settings_, embedder_factory=shared_embedder(settings_))
    report = indexer.sync(embed_limit=-1)
    phrases = SqlKeyPhrases(store.engine)
    assert phrases.count_missing() == 0
    assert report.phrases_pending == 0
    with store.engine.connect() as conn:
        rows = conn.execute(select(key_phrases.c.paper_id, key_phrases.c.phrases, key_phrases.c.key_sentence))
        rows = rows.all()
    assert len(rows) == store.count_papers()
    for _pid, found, sentence in rows:
        assert 1 <= len(found) <= 8
        assert sentence is None or len(sentence) >= 25
    view = store.get("2611.90001")
    assert view.key_phrases and view.keywords == view.key_phrases
    assert any("zorblax" in p.lower() for p in view.key_phrases), view.key_phrases


def test_a_changed_abstract_redoes_the_phrases(store, settings_):
    store.upsert(PURPOSE_PAPERS[:3])
    factory = shared_embedder(settings_)
    Indexer(store.engine, settings_, embedder_factory=factory).sync(embed_limit=-1)
    first = PURPOSE_PAPERS[0]
    before = store.get(first.arxiv_id).key_phrases
    changed = paper(
        first.arxiv_id,
        "Holographic beekeeping with acoustic levitation",
        "Acoustic levitation lifts holographic honeycombs so that beekeeping robots can inspect every cell.",
        version=9,
    )
    store.upsert([changed])
    Indexer(store.engine, settings_, embedder_factory=factory).sync(embed_limit=-1)
    after = store.get(first.arxiv_id).key_phrases
    assert after != before
    assert any("levitation" in p or "beekeeping" in p or "honeycomb" in p for p in after), after


def test_an_interrupted_phrase_pass_carries_on(store, settings_):
    """Papers embedded before key phrases existed get them from the separate pass, batch by batch."""
    store.upsert(PURPOSE_PAPERS)
    factory = shared_embedder(settings_)
    indexer = Indexer(store.engine, settings_, embedder_factory=factory)
    indexer.sync(embed_limit=-1)
    with store.engine.begin() as conn:
        conn.execute(key_phrases.delete())
    phrases = SqlKeyPhrases(store.engine)
    total = phrases.count_missing()
    assert total == len(PURPOSE_PAPERS)
    calls = []

    def stop_after_first(stage, done, _total):
        calls.append(done)
        if len(calls) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        indexer.extract_missing_phrases(batch_size=2, on_progress=stop_after_first)
    assert phrases.count_missing() == total - 2  # the first batch is committed
    assert indexer.extract_missing_phrases(batch_size=2) == total - 2
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(key_phrases)).scalar_one() == total


def test_phrases_are_served_as_ai_keywords_and_linked_on_the_page(store, settings_):
    from fastapi.testclient import TestClient

    from dailypapers.web.app import create_app

    store.upsert(PURPOSE_PAPERS[:2])
    Indexer(store.engine, settings_, embedder_factory=shared_embedder(settings_)).sync(embed_limit=-1)
    view = store.get(PURPOSE_PAPERS[0].arxiv_id)
    with TestClient(create_app(settings_, store=store)) as client:
        body = client.get(f"/api/papers/{view.arxiv_id}").json()
        assert body["ai_keywords"] == view.key_phrases
        assert body["keySentence"] == view.key_sentence
        page = client.get(f"/papers/{view.arxiv_id}").text
    assert "Key phrases" in page and "extracted, not generated" in page
    for phrase in view.key_phrases:
        assert f'href="/search?q={phrase.replace(" ", "%20")}"' in page
