"""Retrieval quality of our knowledge base on a BEIR-layout collection, next to two baselines.

Our side ingests the corpus through the real pipeline (parsing, token-aware chunking, MiniLM
embeddings, pgvector + tsvector in Postgres), asks every query through ``KnowledgeStore.search``
in each mode, and maps chunks back to documents (a document ranks where its best chunk ranks).
The baselines run in the same process on the same texts: BM25 (``bm25s``, English stopwords)
and exact all-MiniLM-L6-v2 cosine over whole documents, plus their reciprocal rank fusion (k=60),
the figure our hybrid mode must reach. Metrics come from ``ranx``.

Usage::

    python bench/retrieval_quality.py [--dataset DIR] [--quick]

Postgres: ``DATABASE_URL`` or else an embedded server in a temporary directory. The last line is
one JSON object; ``ratio`` = our hybrid nDCG@10 / the baselines' RRF nDCG@10.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "data" / "ir" / "cranfield"
RRF_K = 60


def load_beir(folder: Path) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    """(corpus id -> title + text, query id -> text, qrels) of a BEIR folder."""
    corpus: dict[str, str] = {}
    with (folder / "corpus.jsonl").open() as f:
        for line in f:
            row = json.loads(line)
            corpus[str(row["_id"])] = f"{row.get('title', '')} {row['text']}".strip()
    queries: dict[str, str] = {}
    with (folder / "queries.jsonl").open() as f:
        for line in f:
            row = json.loads(line)
            queries[str(row["_id"])] = row["text"]
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / "test.tsv").open() as f:
        next(f)
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(qid, {})[did] = int(score)
    queries = {q: t for q, t in queries.items() if q in qrels}
    return corpus, queries, qrels


@asynccontextmanager
async def database() -> AsyncIterator[Any]:
    """An async engine on a fresh migrated database (``DATABASE_URL`` or embedded Postgres)."""
    import psycopg
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from reporunner.platform.db.migrate import upgrade

    server = None
    tmp = tempfile.TemporaryDirectory(prefix="rr-bench-")
    base_url = os.environ.get("DATABASE_URL")
    try:
        name = f"rr_bench_{uuid.uuid4().hex[:10]}"
        if base_url:
            base_url = base_url.replace("postgresql://", "postgresql+psycopg://", 1)
            admin = make_url(base_url).set(drivername="postgresql").render_as_string(False)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        else:
            from reporunner.platform.services.postgres import EmbeddedPostgres

            # creates the database, owned by the app role the URL names
            server = EmbeddedPostgres(Path(tmp.name), database=name)
            base_url = server.start()
            admin = server.admin_dsn()
        url = make_url(base_url).set(database=name).render_as_string(False)
        upgrade(url)
        engine = create_async_engine(url, pool_size=4)
        try:
            yield engine
        finally:
            await engine.dispose()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        if server is not None:
            server.stop()
        tmp.cleanup()


async def ingest_corpus(
    store: Any, ws: uuid.UUID, base: Any, corpus: dict[str, str], embedder: Any, batch: int = 256
) -> tuple[int, float]:
    """Register and ingest every non-empty document.

    Returns the number of chunks and the seconds spent registering documents (the upload
    API's part; the rest is the ingestion job's).
    """
    from reporunner.knowledge.pipeline import content_hash_bytes, ingest_documents

    chunks = 0
    register_seconds = 0.0
    items = [(doc_id, text) for doc_id, text in corpus.items() if text.strip()]  # skip empty
    for start in range(0, len(items), batch):
        files = []
        started = time.perf_counter()
        for doc_id, text in items[start : start + batch]:
            data = text.encode()
            document, _ = await store.add_document(
                ws,
                base.id,
                doc_id,
                content_hash=content_hash_bytes(data),
                size_bytes=len(data),
                source="text",
                mime_type="text/plain",
            )
            files.append((document.id, data))
        register_seconds += time.perf_counter() - started
        results = await ingest_documents(store, ws, files, embedder)
        failed = [r for r in results if r.status != "ready"]
        if failed:
            raise RuntimeError(f"{len(failed)} documents failed, e.g. {failed[0].error}")
        chunks += sum(r.chunks_total for r in results)
    return chunks, register_seconds


def _rrf(*runs: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    fused: dict[str, dict[str, float]] = {}
    for run in runs:
        for qid, scores in run.items():
            ranked = sorted(scores.items(), key=lambda kv: -kv[1])
            target = fused.setdefault(qid, {})
            for rank, (doc, _) in enumerate(ranked, start=1):
                target[doc] = target.get(doc, 0.0) + 1.0 / (RRF_K + rank)
    return fused


def baselines(
    corpus: dict[str, str], queries: dict[str, str], model: Any, depth: int = 100
) -> dict[str, dict[str, dict[str, float]]]:
    """BM25 (bm25s), exact MiniLM cosine over whole documents, and their RRF."""
    import bm25s
    import numpy as np

    ids = list(corpus)
    qids = list(queries)
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([corpus[i] for i in ids], stopwords="en", show_progress=False),
        show_progress=False,
    )
    docs, scores = retriever.retrieve(
        bm25s.tokenize([queries[q] for q in qids], stopwords="en", show_progress=False),
        k=min(depth, len(ids)),
        show_progress=False,
    )
    bm25 = {
        q: {ids[int(d)]: float(s) for d, s in zip(docs[i], scores[i], strict=True) if s > 0}
        for i, q in enumerate(qids)
    }
    doc_vecs = model.encode(
        [corpus[i] for i in ids],
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    query_vecs = model.encode(
        [queries[q] for q in qids],
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    sims = query_vecs @ doc_vecs.T
    exact = {}
    for i, q in enumerate(qids):
        top = np.argsort(-sims[i])[:depth]
        exact[q] = {ids[int(j)]: float(sims[i, j]) for j in top}
    # Fused ties go to the dense list's document, as in our hybrid SQL (the metric keeps the
    # fused dict's order for equal scores): the comparison then measures the fused lists, not
    # which side breaks ties which way (with BM25 first it differed by 0.0001-0.005 nDCG@10).
    return {"bm25": bm25, "exact_cosine": exact, "rrf_baselines": _rrf(exact, bm25)}


async def our_runs(
    store: Any, ws: uuid.UUID, base: Any, queries: dict[str, str], embedder: Any, depth: int = 100
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, float]]:
    """Run every query in every mode; chunks map to documents at their best rank."""
    from reporunner.knowledge.models import SearchRequest

    runs: dict[str, dict[str, dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    for mode in ("vector", "keyword", "hybrid"):
        run: dict[str, dict[str, float]] = {}
        started = time.perf_counter()
        for qid, text in queries.items():
            request = SearchRequest(query=text[:4000], top_k=depth, mode=mode)
            result = await store.search(ws, base.id, request, embedder)
            ranked: dict[str, float] = {}
            for hit in result.hits:
                if hit.document_name not in ranked:
                    ranked[hit.document_name] = float(depth - len(ranked))
            run[qid] = ranked or {"__none__": 0.0}
        seconds[mode] = time.perf_counter() - started
        runs[mode] = run
    return runs, seconds


def evaluate(
    qrels: dict[str, dict[str, int]], runs: dict[str, dict[str, dict[str, float]]]
) -> dict[str, dict[str, float]]:
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    judged = Qrels(qrels)
    out = {}
    for name, run in runs.items():
        filled = {q: (run.get(q) or {"__none__": 0.0}) for q in qrels}
        metrics = ranx_evaluate(judged, Run(filled), ["ndcg@10", "recall@100"])
        out[name] = {k: round(float(v), 4) for k, v in metrics.items()}
    return out


def subset(
    corpus: dict[str, str],
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    n_queries: int,
    n_docs: int,
) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    """First ``n_queries`` queries; their judged documents plus the first ``n_docs`` others."""
    qids = list(queries)[:n_queries]
    keep = {d for q in qids for d in qrels[q]} | set(list(corpus)[:n_docs])
    return (
        {d: t for d, t in corpus.items() if d in keep},
        {q: queries[q] for q in qids},
        {q: qrels[q] for q in qids},
    )


async def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--quick", action="store_true", help="a subset, under a minute")
    args = parser.parse_args()

    from reporunner.knowledge.embeddings import embedder_for
    from reporunner.knowledge.store import KnowledgeStore

    corpus, queries, qrels = load_beir(args.dataset)
    if args.quick:
        corpus, queries, qrels = subset(corpus, queries, qrels, 12, 20)
    embedder = embedder_for("all-MiniLM-L6-v2")
    started = time.perf_counter()
    base_runs = baselines(corpus, queries, embedder.model())
    baseline_seconds = time.perf_counter() - started
    print(f"baselines done in {baseline_seconds:.0f}s; ingesting", file=sys.stderr)
    async with database() as engine:
        store = KnowledgeStore(engine)
        ws = uuid.uuid4()
        base = await store.create_base(
            ws, "bench", embedding_model=embedder.model_name, embedding_dim=embedder.dim
        )
        started = time.perf_counter()
        chunks, _ = await ingest_corpus(store, ws, base, corpus, embedder)
        ingest_seconds = time.perf_counter() - started
        runs, search_seconds = await our_runs(store, ws, base, queries, embedder)
    metrics = evaluate(qrels, {**base_runs, **runs})
    for name, values in metrics.items():
        print(
            f"{name:>14}: nDCG@10 {values['ndcg@10']:.4f}  recall@100 {values['recall@100']:.4f}",
            file=sys.stderr,
        )
    target = metrics["rrf_baselines"]["ndcg@10"]
    return {
        "bench": "retrieval_quality",
        "dataset": args.dataset.name,
        "quick": args.quick,
        "documents": len(corpus),
        "chunks": chunks,
        "queries": len(queries),
        "metrics": metrics,
        "keyword_vs_bm25": round(metrics["keyword"]["ndcg@10"] / metrics["bm25"]["ndcg@10"], 4),
        "seconds": {
            "baselines": round(baseline_seconds, 1),
            "ingest": round(ingest_seconds, 1),
            **{f"search_{k}": round(v, 1) for k, v in search_seconds.items()},
        },
        "ratio": round(metrics["hybrid"]["ndcg@10"] / target, 4),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
