"""highlight: the segments of highlightedTitle / highlightedSummary, by example and by property."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from dailypapers.highlight import STOP_WORDS, excerpt, fold, parse_terms, segments


def marked(text: str, query: str) -> list[str]:
    return [s["text"] for s in segments(text, query) if s["type"] == "highlight"]


def test_word_prefixes_match_whole_words_in_any_case():
    assert marked("Transformers are all you need: Attention", "transform ATTENTION") == [
        "Transformers",
        "Attention",
    ]


def test_segments_spell_the_string_and_alternate():
    text = "KazQAD: Kazakh Open-Domain Question Answering Dataset"
    parts = segments(text, "kazakh")
    assert parts == [
        {"type": "text", "text": "KazQAD: "},
        {"type": "highlight", "text": "Kazakh"},
        {"type": "text", "text": " Open-Domain Question Answering Dataset"},
    ]


def test_hugging_faces_own_highlights_are_reproduced():
    # A real search response for "kazakh": every segment HF marked, we mark too.
    items = json.loads((FIXTURES / "hf_api" / "search_kazakh.json").read_text())
    for item in items:
        ours = segments(item["title"], "kazakh")
        assert "".join(s["text"] for s in ours) == item["title"]
        theirs = [s["text"] for s in item["highlightedTitle"] if s["type"] == "highlight"]
        assert set(theirs) <= {s["text"] for s in ours if s["type"] == "highlight"}


def test_quoted_phrases_are_one_run_and_need_their_order():
    text = "Open-domain question answering for open questions in the domain"
    assert marked(text, '"open domain"') == ["Open-domain"]
    assert marked("domain open", '"open domain"') == []


def test_stop_words_operators_and_punctuation_are_ignored():
    text = "The state of the art AND beyond: near misses"
    assert marked(text, "the AND of : near * ( )") == []
    assert marked(text, "state NEAR art") == ["state", "art"]


def test_short_words_match_only_whole_words():
    assert marked("x-ray xylophone GPT gpu", "x gp") == ["x"]
    assert marked("GPT-4 and GPT-4o", "gpt") == ["GPT", "GPT"]


def test_accents_and_case_fold():
    assert marked("Naïve Bayes über alles", "naive UBER") == ["Naïve", "über"]
    assert fold("Ångström") == "angstrom"


def test_unbalanced_quotes_read_as_words():
    assert marked('diffusion "models', '"diffusion models') == ["diffusion", "models"]


def test_non_latin_scripts():
    assert marked("大型语言模型 的 推理", "大型语言模型") == ["大型语言模型"]
    assert marked("Обучение с подкреплением", "обучение") == ["Обучение"]


def test_empty_inputs():
    assert segments("", "anything") == []
    assert segments("Some title", "") == [{"type": "text", "text": "Some title"}]
    assert parse_terms('"" ... !!! ""') == []


def test_excerpt_centres_on_the_first_match():
    text = "filler " * 100 + "Kazakh corpus " + "tail " * 100
    window = excerpt(segments(text, "kazakh"), size=200, lead=50)
    shown = "".join(s["text"] for s in window)
    assert shown.startswith("… ") and shown.endswith(" …")
    assert any(s["type"] == "highlight" and s["text"] == "Kazakh" for s in window)
    assert len(shown) <= 200 + 4
    short = segments("Short abstract", "short")
    assert excerpt(short) == short


# -- properties ----------------------------------------------------------------------------------------------

words = st.sampled_from(
    ["attention", "Transformers", "the", "AND", "NEAR", "diffusion", "x", "ß", "İstanbul", "naïve", "模型"]
    + ["🙂", "GPT-4o", "e\u0301cole"]
)
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(words, st.text(max_size=8)), max_size=40).map(" ".join),
)
queries = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(words, st.sampled_from(['"', "*", ":", "(", "-", "'"])), max_size=8).map(" ".join),
)


@settings(max_examples=400, deadline=None)
@given(text=texts, query=queries)
@example(text="ﬁne-tuning", query="fine")
@example(text="STRASSE straße", query="straße")
@example(text="e\u0301cole", query="école")
def test_segments_always_spell_the_original(text, query):
    parts = segments(text, query)
    assert "".join(p["text"] for p in parts) == text
    assert all(p["text"] for p in parts)
    assert all(p["type"] in ("text", "highlight") for p in parts)
    assert all(a["type"] != b["type"] for a, b in zip(parts, parts[1:], strict=False))


@settings(max_examples=300, deadline=None)
@given(text=texts, query=queries)
def test_every_highlight_starts_with_a_query_word(text, query):
    terms = parse_terms(query)
    firsts = {t.words[0] for t in terms}
    for part in segments(text, query):
        if part["type"] == "highlight":
            head = fold(part["text"])
            assert any(head.startswith(word) for word in firsts), (part, firsts)


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_a_query_made_of_a_texts_own_words_marks_them(text):
    words_of_text = [w for w in text.split() if w.isalpha() and len(w) >= 3 and fold(w) not in STOP_WORDS]
    if not words_of_text:
        return
    word = words_of_text[0]
    if unicodedata.normalize("NFKD", word) != word:
        return
    assert marked(text, word), (text, word)


@pytest.mark.parametrize("query", ["a" * 10_000, "attention " * 1000, '"' * 501])
def test_huge_queries_stay_linear(query):
    text = "attention " * 300
    parts = segments(text, query)
    assert "".join(p["text"] for p in parts) == text
