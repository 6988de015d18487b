"""Ingestion throughput: our pipeline's chunks/s as a ratio of raw ``SentenceTransformer.encode``.

The ratio times the ingestion job (``ingest_documents``: parse, chunk, embed, write, status
updates); registering the documents (``add_document``, what the upload API does before the job
starts) is reported beside it. Both sides embed the same chunk texts (the chunks our pipeline
makes of the corpus) with the same model and batch size in the same process; ours also parses,
chunks, tracks document status and writes chunks, vectors and tsvectors (with the HNSW and GIN
indexes maintained) to Postgres. The
raw encode runs before and after ours and its mean is the baseline, so load drift on a shared
machine affects both sides alike. Target: ratio >= 0.8.

Usage::

    python bench/ingest_throughput.py [--dataset DIR] [--quick]

Postgres: ``DATABASE_URL`` or else an embedded server in a temporary directory. The last line is
one JSON object with ``ratio`` = our chunks/s / raw encode chunks/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from retrieval_quality import DEFAULT_DATASET, database, ingest_corpus, load_beir

BATCH = 64


def raw_encode_seconds(model: Any, texts: list[str]) -> float:
    started = time.perf_counter()
    model.encode(
        texts,
        batch_size=BATCH,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return time.perf_counter() - started


async def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--quick", action="store_true", help="a subset, under a minute")
    parser.add_argument("--docs", type=int, default=None, help="number of documents to ingest")
    args = parser.parse_args()

    from reporunner.knowledge.chunking import chunk_document
    from reporunner.knowledge.embeddings import embedder_for
    from reporunner.knowledge.parsing import parse_document
    from reporunner.knowledge.pipeline import chunking_options
    from reporunner.knowledge.store import KnowledgeStore

    corpus = load_beir(args.dataset)[0]
    limit = args.docs or (40 if args.quick else len(corpus))
    corpus = dict(list(corpus.items())[:limit])
    embedder = embedder_for("all-MiniLM-L6-v2")
    model = embedder.model()
    model.encode(["warm up the model"] * 8, show_progress_bar=False)

    async with database() as engine:
        store = KnowledgeStore(engine)
        ws = uuid.uuid4()
        base = await store.create_base(
            ws, "throughput", embedding_model=embedder.model_name, embedding_dim=embedder.dim
        )
        counter, options = embedder.token_counter(), chunking_options(base, embedder)
        texts = [
            c.text
            for text in corpus.values()
            for c in chunk_document(parse_document(text.encode()), counter, options)
        ]
        raw_before = raw_encode_seconds(model, texts)
        started = time.perf_counter()
        chunks, register_seconds = await ingest_corpus(store, ws, base, corpus, embedder)
        total_seconds = time.perf_counter() - started
        ours_seconds = total_seconds - register_seconds
        raw_after = raw_encode_seconds(model, texts)
    assert chunks == len(texts), (chunks, len(texts))
    raw_seconds = statistics.mean([raw_before, raw_after])
    ours_rate, raw_rate = chunks / ours_seconds, len(texts) / raw_seconds
    print(
        f"ours {ours_rate:.1f} chunks/s, raw encode {raw_rate:.1f} chunks/s "
        f"(before {len(texts) / raw_before:.1f}, after {len(texts) / raw_after:.1f})",
        file=sys.stderr,
    )
    return {
        "bench": "ingest_throughput",
        "quick": args.quick,
        "documents": len(corpus),
        "chunks": chunks,
        "ours_chunks_per_s": round(ours_rate, 2),
        "raw_encode_chunks_per_s": round(raw_rate, 2),
        "register_seconds": round(register_seconds, 2),
        "job_seconds": round(ours_seconds, 2),
        "ratio_with_registration": round(chunks / total_seconds / raw_rate, 4),
        "ratio": round(ours_rate / raw_rate, 4),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
