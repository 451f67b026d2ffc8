"""The pure parts of topical search: query kinds, fusion weights, feedback, acronyms, why a result matched."""

from __future__ import annotations

import numpy as np
import pytest

from dailypapers.search import explain
from dailypapers.search.acronyms import Acronyms, Learner, choose, definitions, long_form, short_key
from dailypapers.search.analysis import RANKINGS, Ranking, classify, mix_feedback
from dailypapers.search.query import parse


def kind(text: str, *, arxiv_id: bool = False, author: bool = False) -> str:
    return classify(parse(text), has_arxiv_id=arxiv_id, names_author=author).kind


def test_queries_are_sorted_into_kinds():
    assert kind("attention") == "topical"
    assert kind("3d gaussian splatting") == "topical"
    assert kind("chain of thought reasoning") == "topical"  # four words
    assert kind("reasoning models trained with verifiable rewards") == "long"
    assert kind('"chain of thought"') == "phrase"
    assert kind("author:LeCun") == "author"
    assert kind("Yann LeCun", author=True) == "author"
    assert kind("2608.20336", arxiv_id=True) == "id"
    # An id wins over everything else in the query; an author over a phrase.
    assert kind('author:Li "flow matching"') == "author"
    assert kind("2608.20336 diffusion", arxiv_id=True, author=True) == "id"


def test_each_kind_has_its_weight_and_before_is_the_old_fixed_fusion():
    before = RANKINGS["before"]
    assert {before.keyword_weight(k) for k in ("id", "author", "phrase", "topical", "long")} == {0.8}
    assert before.phrase_boost == 0 and before.acronym_boost == 0 and before.prf_docs == 0
    changed = Ranking().with_weight("topical", 0.6)
    assert changed.keyword_weight("topical") == 0.6 and changed.keyword_weight("long") == 0.8
    assert Ranking().keyword_weight("nonsense") == 0.8  # type: ignore[arg-type]


def test_feedback_moves_the_query_towards_the_feedback_and_stays_unit_length():
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    docs = [np.array([0.0, 1.0, 0.0], dtype=np.float32), np.array([0.0, 0.6, 0.8], dtype=np.float32)]
    mixed = mix_feedback(query, docs, 1.0)
    assert mixed.dtype == np.float32
    assert np.linalg.norm(mixed) == pytest.approx(1.0, abs=1e-6)
    assert mixed[0] > 0 and mixed[1] > 0 and mixed[2] > 0
    assert float(mixed @ docs[0]) > float(query @ docs[0])
    # No feedback, or no weight: the query as it was.
    assert mix_feedback(query, [], 1.0) is query
    assert mix_feedback(query, docs, 0.0) is query


def test_short_forms_are_keyed_without_their_plural():
    assert short_key("LLMs") == "llm"
    assert short_key("RLHF") == "rlhf"
    assert short_key("ViT") == "vit"
    assert short_key("ss") == "ss"


def test_long_forms_are_found_by_their_initials():
    assert long_form("LLMs", "We fine-tune large language models") == "large language models"
    assert long_form("CoT", "prompting with chain-of-thought") == "chain of thought"
    assert long_form("RLHF", "trained with reinforcement learning from human feedback") == (
        "reinforcement learning from human feedback"
    )
    assert long_form("GAN", "we train a network") is None  # the letters are not there
    assert long_form("X", "anything") is None  # one letter is no acronym


def test_definitions_in_a_text():
    text = "Large language models (LLMs) and vision transformers (ViTs) are used. The (Table 3) is not one."
    assert list(definitions(text)) == [("llm", "large language model"), ("vit", "vision transformer")]


def test_a_pair_is_kept_when_papers_agree_on_it():
    learner = Learner()
    for _ in range(4):
        learner.add("Large language models (LLMs) reason.")
    learner.add("Latent language modelling (LLM) is another.")  # a rare other meaning
    learner.add("Direct preference optimization (DPO) once.")  # too rare
    assert learner.table() == {"llm": "large language model"}
    # Counted once per paper, however often a paper says it.
    twice = Learner()
    twice.add("Large language models (LLMs). Large language models (LLMs).")
    assert twice.counts[("llm", "large language model")] == 1
    # No form wins: nothing kept.
    assert choose({("ab", "alpha beta"): 5, ("ab", "apple banana"): 5}) == {}


def test_expansions_go_both_ways():
    acronyms = Acronyms({"llm": "large language model", "cot": "chain of thought"})
    [one] = acronyms.expand(["LLMs", "agents"])
    assert (one.start, one.end, one.words) == (0, 1, ("large", "language", "model"))
    [other] = acronyms.expand(["large", "language", "models", "agents"])
    assert (other.start, other.end, other.words) == (0, 3, ("llm",))
    assert [e.words for e in acronyms.expand(["chain", "of", "thought", "llm"])] == [
        ("cot",),
        ("large", "language", "model"),
    ]
    assert acronyms.expand(["graph", "networks"]) == []
    assert len(Acronyms({})) == 0 and Acronyms({}).expand(["llm"]) == []


def test_reasons_say_where_and_whether_as_a_unit():
    found = explain.reasons(
        "mixture of experts",
        title="Sparse Mixture-of-Experts at scale",
        abstract="Experts in a mixture; a mixture of experts model.",
        authors=["Ada Mixture"],
        keyword=True,
        semantic=False,
    )
    assert [(r.where, r.phrase) for r in found] == [
        ("title", "mixture of experts"),
        ("abstract", "mixture of experts"),
        ("authors", None),
    ]
    assert explain.sentence(found) == (
        "Matched: “mixture of experts” in the title and abstract; words in the authors"
    )
    assert found[0].to_json() == {
        "where": "title",
        "text": "“mixture of experts” in the title",
        "phrase": "mixture of experts",
    }


def test_reasons_when_only_meaning_or_only_another_form():
    assert explain.sentence(explain.reasons("x", title="a", abstract="b", keyword=False, semantic=True)) == (
        "Close in meaning"
    )
    # Found by the keyword engine through a stem the highlighter does not mark.
    other = explain.reasons("studies", title="A study", abstract="", keyword=True, semantic=True)
    assert explain.sentence(other) == "Matched: words in another form; close in meaning"
    assert explain.sentence([]) == ""


def test_topic_phrases_of_a_query():
    assert explain.topic_phrases("chain of thought") == [("chain", "of", "thought")]
    assert explain.topic_phrases('"flow matching" survey') == [("flow", "matching")]
    assert explain.topic_phrases("attention") == []
    assert explain.topic_phrases("a b c d e f") == []  # a long query is not one topic
