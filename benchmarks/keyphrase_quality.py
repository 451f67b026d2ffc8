"""Key phrases measured against a labelled sample: Hugging Face's own key words of Daily Papers.

/work/shared/data/search-dev-topics.jsonl (or --labels) names, for 500 of Hugging Face's per-paper key words,
the papers tagged with each. Inverted, that gives each of those papers some of its Hugging Face key words (an
incomplete set: only these 500 words are known). For a sample of them this script extracts our phrases as
`index build` does (the packaged model, the same forward pass) and reports:

- hit rate: papers for which at least one of our phrases matches one of its known key words;
- label recall: known (paper, key word) pairs for which one of our phrases matches the key word;
both strict (the same phrase after normalizing case and the last word's plural) and lenient (one phrase's
words contained in the other's: "gaussian splatting" and "3d gaussian splatting"). Precision cannot be
measured this way (a phrase missing from the 500 known words may well be right), so it is not claimed.
The same figures for a baseline without the embedding (the most frequent candidates, earliest first, as
many as ours) show what the embedding adds.

Usage: python benchmarks/keyphrase_quality.py [--papers 500] [--seed 7]
"""

from __future__ import annotations

import argparse
import gzip
import json
import pickle
import random
import time
from collections import defaultdict
from pathlib import Path

from dailypapers.keyphrases import extract
from dailypapers.keyphrases.candidates import candidates, normalize
from dailypapers.keyphrases.extract import _is_part
from dailypapers.search.embedder import SentenceEmbedder, document_text

DATA = Path("/work/shared/data")


def _key(phrase: str) -> str:
    return normalize(phrase.split()).lower()


def _matches(ours: str, label: str, lenient: bool) -> bool:
    a, b = _key(ours), _key(label)
    if a == b:
        return True
    return lenient and (set(a.split()) <= set(b.split()) or set(b.split()) <= set(a.split()))


def _baseline(title: str, text: str, seen: int, count: int) -> list[str]:
    found = candidates(text[:seen])
    ranked = sorted(found.values(), key=lambda c: (-len(c.spans), c.spans[0][0]))
    chosen: list[str] = []
    for c in ranked:
        if any(_is_part(c.key, k) or _is_part(k, c.key) for k in chosen):
            continue
        chosen.append(c.key)
        if len(chosen) == count:
            break
    return chosen


def _score(results: list[tuple[list[str], set[str]]]) -> dict[str, float]:
    out = {}
    for lenient in (False, True):
        name = "lenient" if lenient else "strict"
        hits = sum(any(_matches(o, lab, lenient) for o in ours for lab in labels) for ours, labels in results)
        pairs = sum(len(labels) for _o, labels in results)
        found = sum(
            sum(any(_matches(o, lab, lenient) for o in ours) for lab in labels) for ours, labels in results
        )
        out[f"hit_rate_{name}"] = hits / len(results)
        out[f"label_recall_{name}"] = found / pairs
    out["phrases_per_paper"] = sum(len(o) for o, _l in results) / len(results)
    return out


def _model_outputs(rows: list[dict], cache: str | None) -> list:
    if cache and Path(cache).exists():
        with open(cache, "rb") as f:
            return pickle.load(f)
    embedder = SentenceEmbedder()
    outputs = []
    for start in range(0, len(rows), 64):
        part = rows[start : start + 64]
        texts = [document_text(r["title"], r["abstract"]) for r in part]
        outputs.append((part, texts, *embedder.embed_documents_with_tokens(texts)))
    if cache:
        with open(cache, "wb") as f:
            pickle.dump(outputs, f)
    return outputs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--labels", default=str(DATA / "search-dev-topics.jsonl"))
    parser.add_argument("--corpus", default=str(DATA / "papers.jsonl.gz"))
    parser.add_argument("--cache", help="keep the model's outputs in this file (pickle) to try settings fast")
    args = parser.parse_args()
    labels: dict[str, set[str]] = defaultdict(set)
    with open(args.labels, encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            for arxiv_id in item["relevant"]:
                labels[arxiv_id].add(item["query"])
    chosen = set(random.Random(args.seed).sample(sorted(labels), min(args.papers, len(labels))))
    rows = []
    with gzip.open(args.corpus, "rt", encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            if item["arxiv_id"] in chosen:
                rows.append(item)
    started = time.perf_counter()
    outputs = _model_outputs(rows, args.cache)
    ours, base = [], []
    for part, texts, vectors, tokens in outputs:
        for r, text, vector, token in zip(part, texts, vectors, tokens, strict=True):
            found = extract(r["title"].strip(), text, vector, token)
            seen = max((e for _s, e in token.offsets), default=0)
            ours.append((found.phrases, labels[r["arxiv_id"]]))
            base.append((_baseline(r["title"], text, seen, len(found.phrases)), labels[r["arxiv_id"]]))
    elapsed = time.perf_counter() - started
    report = {
        "papers": len(rows),
        "known_labels": sum(len(lab) for _o, lab in ours),
        "seconds": round(elapsed, 1),
        "ours": {k: round(v, 3) for k, v in _score(ours).items()},
        "baseline_frequency": {k: round(v, 3) for k, v in _score(base).items()},
        "examples": [{"ours": o, "labels": sorted(lab)} for o, lab in ours[:8]],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
