"""Vector, keyword (BM25) and hybrid (reciprocal rank fusion) search, in one SQL statement.

* Vector: cosine distance on the base's partial HNSW index. ``hnsw.ef_search`` is set per query
  and pgvector 0.8's iterative scan (``relaxed_order``) keeps scanning the graph until enough
  rows pass the filters, so a filtered query still returns ``top_k`` results; the materialised
  candidates are re-sorted by exact distance afterwards.
* Keyword: Okapi BM25 computed in SQL over the ``tsv`` column. Postgres' ``ts_rank`` has no
  inverse document frequency and ranks far below BM25 on standard test collections, so we score
  with per-term document frequencies (counted on the GIN index) and length normalisation against
  the base's average (``settings._stats``). A plain query matches any of its terms (like a search
  engine); a query that uses web-search syntax (quotes, ``or``, ``-word``) is matched with
  ``websearch_to_tsquery`` exactly as written.
* Hybrid: both candidate lists fused by reciprocal rank fusion (k = 60).

Every branch filters by workspace and knowledge base, whatever the caller's filters say.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from reporunner.knowledge._bases import TS_CONFIG, vector_literal
from reporunner.knowledge.filters import compile_filters
from reporunner.knowledge.models import KnowledgeBase, SearchHit, SearchRequest

__all__ = ["BM25_B", "BM25_K1", "RRF_K", "build_search_sql", "candidate_depth", "run_search"]

BM25_K1 = 1.2
BM25_B = 0.75
RRF_K = 60
_WEBSEARCH = re.compile(r'"|(?:^|\s)-\w|\s(?:or|OR)\s')


def candidate_depth(request: SearchRequest) -> int:
    """How many candidates each branch of a hybrid search contributes to the fusion."""
    return request.top_k if request.mode != "hybrid" else max(request.top_k, 50)


def _scope(base: KnowledgeBase, alias: str) -> str:
    # The base id is inlined (a validated UUID) so the planner can match the partial HNSW
    # index's predicate, which a bound parameter in a generic plan would not.
    return f"{alias}.knowledge_base_id = '{uuid.UUID(str(base.id))}' AND {alias}.workspace_id = :ws"


def _vector_cte(base: KnowledgeBase, filters_sql: str, join: str) -> str:
    dim = int(base.embedding_dim)
    return (
        "vec AS MATERIALIZED (SELECT c.id, "
        f"(c.embedding::vector({dim})) <=> CAST(:qvec AS vector({dim})) AS distance "
        f"FROM chunks c{join} WHERE {_scope(base, 'c')}{filters_sql} "
        "ORDER BY distance LIMIT :n), "
        "vec_r AS (SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS rank "
        "FROM vec)"
    )


def _keyword_cte(base: KnowledgeBase, filters_sql: str, join: str, websearch: bool) -> str:
    tsquery = (
        f"websearch_to_tsquery('{TS_CONFIG}', :query)"
        if websearch
        else "(SELECT CAST(string_agg(quote_literal(term), ' | ') AS tsquery) FROM q)"
    )
    return (
        f"q AS (SELECT DISTINCT term FROM unnest(tsvector_to_array(to_tsvector('{TS_CONFIG}', "
        ":query))) AS t(term)), "
        "stats AS (SELECT greatest(coalesce((settings #>> '{_stats,chunks}')::float8, 0), 1) "
        "AS n, greatest(coalesce((settings #>> '{_stats,lexemes}')::float8, 0), 1) / "
        "greatest(coalesce((settings #>> '{_stats,chunks}')::float8, 0), 1) AS avgdl "
        f"FROM knowledge_bases kb WHERE kb.id = '{base.id}' AND kb.workspace_id = :ws), "
        "qdf AS (SELECT q.term, ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5)) AS idf "
        "FROM q CROSS JOIN stats s CROSS JOIN LATERAL (SELECT count(*)::float8 AS df "
        f"FROM chunks c2 WHERE {_scope(base, 'c2')} "
        "AND c2.tsv @@ CAST(quote_literal(q.term) AS tsquery)) df), "
        f"cand AS (SELECT c.id, c.tsv FROM chunks c{join} WHERE {_scope(base, 'c')} "
        f"AND c.tsv @@ {tsquery}{filters_sql}), "
        "kw AS MATERIALIZED (SELECT cand.id, sum(qdf.idf * x.tf * "
        f"{BM25_K1 + 1} / (x.tf + {BM25_K1} * (1 - {BM25_B} + {BM25_B} * x.dl / s.avgdl))) "
        "AS score FROM cand CROSS JOIN stats s CROSS JOIN LATERAL (SELECT u.lexeme, "
        "cardinality(u.positions)::float8 AS tf, "
        "sum(cardinality(u.positions)) OVER ()::float8 AS dl FROM unnest(cand.tsv) u) x "
        "JOIN qdf ON qdf.term = x.lexeme GROUP BY cand.id ORDER BY score DESC, cand.id "
        "LIMIT :n), "
        "kw_r AS (SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank FROM kw)"
    )


def build_search_sql(base: KnowledgeBase, request: SearchRequest) -> tuple[str, dict[str, Any]]:
    """The search statement and its parameters (without ``qvec``, added by the caller)."""
    compiled = compile_filters(request.filters)
    join = " JOIN documents d ON d.id = c.document_id" if compiled.needs_document else ""
    ctes = []
    if request.mode in ("vector", "hybrid"):
        ctes.append(_vector_cte(base, compiled.sql(), join))
    if request.mode in ("keyword", "hybrid"):
        websearch = bool(_WEBSEARCH.search(request.query))
        ctes.append(_keyword_cte(base, compiled.sql(), join, websearch))
    if request.mode == "hybrid":
        fused = (
            "fused AS (SELECT coalesce(v.id, k.id) AS id, v.rank AS vrank, k.rank AS krank, "
            f"coalesce(1.0 / ({RRF_K} + v.rank), 0) + coalesce(1.0 / ({RRF_K} + k.rank), 0) "
            "AS score FROM vec_r v FULL JOIN kw_r k ON k.id = v.id)"
        )
    elif request.mode == "vector":
        fused = (
            "fused AS (SELECT id, rank AS vrank, NULL::bigint AS krank, "
            "1 - distance AS score FROM vec_r)"
        )
    else:
        fused = "fused AS (SELECT id, NULL::bigint AS vrank, rank AS krank, score FROM kw_r)"
    sql = (
        f"WITH {', '.join(ctes)}, {fused} "
        "SELECT f.id, f.vrank, f.krank, f.score::float8, c.document_id, d.name, c.text, "
        "c.ordinal, c.page, c.heading_path, c.char_start, c.char_end, c.metadata "
        "FROM fused f JOIN chunks c ON c.id = f.id JOIN documents d ON d.id = c.document_id "
        "WHERE c.workspace_id = :ws AND d.workspace_id = :ws "
        "ORDER BY f.score DESC, f.vrank NULLS LAST, f.krank NULLS LAST LIMIT :k"
    )
    params = {
        **compiled.params,
        "ws": base.workspace_id,
        "query": request.query,
        "n": candidate_depth(request),
        "k": request.top_k,
    }
    return sql, params


async def run_search(
    conn: AsyncConnection,
    base: KnowledgeBase,
    request: SearchRequest,
    query_vector: Sequence[float] | None,
) -> list[SearchHit]:
    """Run one search inside the caller's transaction (the settings are ``SET LOCAL``)."""
    sql, params = build_search_sql(base, request)
    if request.mode != "keyword":
        if query_vector is None:
            raise ValueError("vector and hybrid searches need the query's embedding")
        params["qvec"] = vector_literal(query_vector)
        ef_search = request.ef_search or max(40, 2 * int(params["n"]))
        await conn.execute(
            text(
                "SELECT set_config('hnsw.ef_search', :ef, true), "
                "set_config('hnsw.iterative_scan', 'relaxed_order', true)"
            ),
            {"ef": str(ef_search)},
        )
    rows = await conn.execute(text(sql), params)
    hits = []
    for row in rows:
        ranks = {
            name: int(rank)
            for name, rank in (("vector", row.vrank), ("keyword", row.krank))
            if rank is not None
        }
        hits.append(
            SearchHit(
                chunk_id=row.id,
                document_id=row.document_id,
                document_name=row.name,
                text=row.text,
                score=float(row.score),
                ranks=ranks,
                ordinal=row.ordinal,
                page=row.page,
                heading_path=tuple(row.heading_path or ()),
                char_start=row.char_start,
                char_end=row.char_end,
                metadata=dict(row.metadata or {}),
            )
        )
    return hits
