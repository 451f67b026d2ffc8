"""What key phrases add to `index build`: the embedding pass alone against the same pass with key phrases.

    python benchmarks/bench_keyphrases.py [--papers 256] [--rounds 3]

The same papers of the corpus (the first `--papers` with an abstract) are embedded by the packaged model in
batches of 256 as `index build` does, alternately (a) `embed_documents` alone and (b)
`embed_documents_with_tokens` plus `keyphrases.extract` for every paper, `--rounds` times each; the medians'
ratio is what phrases add to the embedding step of a build (the machine is shared and noisy: compare the two
within one run). Also printed: the extraction alone, per paper (CPU time).
"""

from __future__ import annotations

import argparse
import gzip
import json
import time

from common import CORPUS, median

from dailypapers.keyphrases import extract
from dailypapers.search.embedder import SentenceEmbedder, document_text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        for line in lines:
            rows.append(json.loads(line))
            if len(rows) == args.papers:
                break
    texts = [document_text(r["title"], r["abstract"]) for r in rows]
    embedder = SentenceEmbedder()
    embedder.embed_documents(texts[:8])  # load the model before timing
    alone, fused, extraction = [], [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for start in range(0, len(texts), 256):
            embedder.embed_documents(texts[start : start + 256])
        alone.append(time.perf_counter() - started)
        started = time.perf_counter()
        spent = 0.0
        for start in range(0, len(texts), 256):
            part = texts[start : start + 256]
            vectors, tokens = embedder.embed_documents_with_tokens(part)
            cpu = time.process_time()
            for r, text, vector, token in zip(rows[start : start + 256], part, vectors, tokens, strict=True):
                extract(r["title"].strip(), text, vector, token)
            spent += time.process_time() - cpu
        fused.append(time.perf_counter() - started)
        extraction.append(spent)
    report = {
        "papers": len(texts),
        "embedding_alone_s": [round(x, 2) for x in alone],
        "embedding_with_phrases_s": [round(x, 2) for x in fused],
        "extraction_cpu_ms_per_paper": round(median(extraction) / len(texts) * 1000, 2),
        "ratio_median": round(median(fused) / median(alone), 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
