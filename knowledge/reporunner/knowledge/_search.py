"""Vector, keyword (BM25) and hybrid (reciprocal rank fusion) search, in one SQL statement.

* Vector: cosine distance on the base's partial HNSW index. ``hnsw.ef_search`` is set per query
  (the request's, else the base's ``settings.ef_search``, else :data:`DEFAULT_EF_SEARCH`)
  and pgvector 0.8's iterative scan (``relaxed_order``) keeps scanning the graph until enough
  rows pass the filters, so a filtered query still returns ``top_k`` results; the materialised
  candidates are re-sorted by exact distance afterwards.
* Keyword: Okapi BM25 computed in SQL over the ``tsv`` column. Postgres' ``ts_rank`` has no
  inverse document frequency and ranks far below BM25 on standard test collections, so we score
  with per-term document frequencies (``knowledge_terms``) and length normalisation (chunk
  length in characters) against the base's average (``settings._stats``). A plain query
  matches any of its terms, like a search engine, starting from the chunks that hold its rarer
  terms (GIN); a query that uses web-search
  syntax (quotes, ``or``, ``-word``) is matched with ``websearch_to_tsquery`` as written.
* Hybrid: both candidate lists fused by reciprocal rank fusion (k = 60) over documents: in each
  list a chunk's rank counts the documents reached so far (a document's best chunk takes its
  document's rank, later chunks of the same document take no slot of their own), so a document
  with two matching chunks does not push others down. Further chunks of a document are still
  returned, each with its own fused score from those ranks.

Every branch filters by workspace and knowledge base, whatever the caller's filters say.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from reporunner.knowledge._bases import BASE_COLUMNS, TS_CONFIG, vector_literal
from reporunner.knowledge.filters import compile_filters
from reporunner.knowledge.models import KnowledgeBase, SearchHit, SearchRequest
from reporunner.nodes.errors import NotFoundError

__all__ = [
    "BM25_B",
    "BM25_K1",
    "DEFAULT_EF_SEARCH",
    "EXACT_KEYWORD_CHUNKS",
    "KEYWORD_CANDIDATES",
    "RRF_K",
    "SMALL_BASE_CHUNKS",
    "SMALL_BASE_EF_SEARCH",
    "KeywordPlan",
    "build_search_sql",
    "candidate_depth",
    "open_search",
    "plan_keyword",
    "run_search",
]

BM25_K1 = 1.5
BM25_B = 0.75
"""BM25 parameters: those of ``bm25s`` and ``rank_bm25`` (the reference implementations the
retrieval bench compares with), inside the usual 1.2-2.0 range for k1."""
RRF_K = 60
DEFAULT_EF_SEARCH = 500
"""``hnsw.ef_search`` when neither the request nor the base's settings give one, in a base of
more than :data:`SMALL_BASE_CHUNKS` chunks: recall@10 against exact search 0.975 at 100k chunks
on our bench (0.93 at 200, 0.97 at 400; BENCHMARKS.md) for a few ms; a base can trade recall
for speed with ``settings.ef_search``."""
SMALL_BASE_CHUNKS = 20_000
SMALL_BASE_EF_SEARCH = 100
"""The default ``ef_search`` up to :data:`SMALL_BASE_CHUNKS` chunks: recall@10 0.96-0.98 at
10k chunks. From 200 up, the planner prices the HNSW scan of a small base above an exact scan
that is 5-10x slower there (exact recall, 25-30 ms at 10k chunks)."""
KEYWORD_CANDIDATES = 2000
"""About how many chunks the keyword branch scores at most in a large base (see
:func:`plan_keyword`)."""
EXACT_KEYWORD_CHUNKS = 5000
"""Bases up to this many chunks get exact BM25 (every chunk holding any query term scores)."""
_WEBSEARCH = re.compile(r'"|(?:^|\s)-\w|\s(?:or|OR)\s')


def candidate_depth(request: SearchRequest) -> int:
    """How many candidates each branch of a hybrid search contributes to the fusion.

    Twice ``top_k`` (at least 50, at most 200): several chunks of one document often fill a
    branch's list, and a chunk found by both branches just below ``top_k`` in one of them must
    still get both halves of its fused score.
    """
    if request.mode != "hybrid":
        return request.top_k
    return min(max(2 * request.top_k, 50), 200)


def _scope(base: KnowledgeBase, alias: str) -> str:
    # The base id is inlined (a validated UUID) so the planner can match the partial HNSW
    # index's predicate, which a bound parameter in a generic plan would not.
    return f"{alias}.knowledge_base_id = '{uuid.UUID(str(base.id))}' AND {alias}.workspace_id = :ws"


def _vector_cte(base: KnowledgeBase, filters_sql: str, join: str) -> str:
    dim = int(base.embedding_dim)
    return (
        "vec AS MATERIALIZED (SELECT c.id, c.document_id AS doc, "
        f"(c.embedding::vector({dim})) <=> CAST(:qvec AS vector({dim})) AS distance "
        f"FROM chunks c{join} WHERE {_scope(base, 'c')}{filters_sql} "
        "ORDER BY distance LIMIT :n), " + _ranked("vec", "distance, id")
    )


def _ranked(leg: str, order: str) -> str:
    """``{leg}_r``: the leg's rows with ``rank`` (position among its chunks) and ``drank``
    (how many documents the leg has reached at that position).

    ``drank`` is what hybrid fusion uses: a document's best chunk takes its document's rank
    among documents, and a later chunk of the same document takes no rank slot of its own (it
    shares the count of the documents above it), so two chunks of one document do not push a
    third document down, and fusion counts documents like a document-level ranking does.
    """
    return (
        f"{leg}_p AS (SELECT *, row_number() OVER (ORDER BY {order}) AS rank FROM {leg}), "
        f"{leg}_f AS (SELECT *, rank = min(rank) OVER (PARTITION BY doc) AS first FROM {leg}_p), "
        f"{leg}_r AS (SELECT *, sum(first::int) OVER (ORDER BY rank) AS drank FROM {leg}_f)"
    )


@dataclass(frozen=True, slots=True)
class KeywordPlan:
    """What the keyword branch needs, looked up before the main statement.

    ``terms``/``idfs``: the query's lexemes that occur in the base and their BM25 idf.
    ``tsquery``: the candidate query (the rarer terms, OR-ed), or None when nothing can match.
    """

    terms: tuple[str, ...]
    idfs: tuple[float, ...]
    tsquery: str | None
    avgdl: float


def _length_sql(base: KnowledgeBase) -> str:
    """A chunk's BM25 document length: its text length in characters (proportional to its
    token count, and free to read), or its number of distinct lexemes in a base whose
    statistics predate the character totals."""
    stats = base.settings.get("_stats") or {}
    if stats.get("chars") is not None:
        return "(c.char_end - c.char_start)::float8"
    return "length(c.tsv)::float8"


def _quote_lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def plan_keyword(base: KnowledgeBase, found: Sequence[tuple[str, int]]) -> KeywordPlan:
    """Turn the query terms' document frequencies into BM25 idfs and candidate terms.

    In a base of more than :data:`EXACT_KEYWORD_CHUNKS` chunks, candidates are the chunks
    holding any of the rarer query terms, taken by ascending document frequency until about
    :data:`KEYWORD_CANDIDATES` chunks (at least the rarest term): a chunk holding only
    very common terms cannot outscore one holding rare ones, and skipping the common terms'
    long posting lists keeps large bases fast. When even the rarest term is that common,
    candidates must hold it and another query term (a chunk matching one common term ranks
    below those matching two). Every query term still scores.

    Args:
        base: The base (``settings._stats`` gives the chunk count and average length).
        found: ``(term, df)`` of the query's lexemes present in the base, rarest first.
    """
    stats = base.settings.get("_stats") or {}
    n = max(float(stats.get("chunks", 0)), 1.0)
    total = stats.get("chars") if stats.get("chars") is not None else stats.get("lexemes", 0)
    avgdl = max(float(total or 0), 1.0) / n
    idfs = tuple(math.log(1 + (n - df + 0.5) / (df + 0.5)) for _, df in found)
    selected: list[str] = []
    budget = 0
    for term, df in found:
        if n > EXACT_KEYWORD_CHUNKS and selected and budget + df > KEYWORD_CANDIDATES:
            break
        selected.append(term)
        budget += df
    tsquery = " | ".join(_quote_lexeme(t) for t in selected) or None
    if n > EXACT_KEYWORD_CHUNKS and budget > KEYWORD_CANDIDATES and len(found) > 1:
        others = " | ".join(_quote_lexeme(t) for t, _ in found[1:])
        tsquery = f"{_quote_lexeme(found[0][0])} & ({others})"
    return KeywordPlan(tuple(t for t, _ in found), idfs, tsquery, avgdl)


_OPEN = text(
    f"SELECT {BASE_COLUMNS}, set_config('hnsw.ef_search', least(greatest(coalesce("
    "CAST(:ef AS int), CASE WHEN kb.settings->>'ef_search' ~ '^[0-9]{1,4}$' THEN "
    "(kb.settings->>'ef_search')::int END, CASE WHEN (kb.settings #>> '{_stats,chunks}')::bigint > "
    f"{SMALL_BASE_CHUNKS} THEN {DEFAULT_EF_SEARCH} ELSE {SMALL_BASE_EF_SEARCH} END), "
    "CAST(:depth AS int)), "
    "1000)::text, true) AS ef, "
    "set_config('hnsw.iterative_scan', 'relaxed_order', true) AS scan, t.terms, t.dfs "
    "FROM knowledge_bases kb LEFT JOIN LATERAL (SELECT array_agg(kt.term ORDER BY kt.df, "
    "kt.term) AS terms, array_agg(kt.df ORDER BY kt.df, kt.term) AS dfs FROM knowledge_terms kt "
    "JOIN (SELECT DISTINCT term FROM unnest(tsvector_to_array(to_tsvector("
    f"'{TS_CONFIG}', :query))) AS q(term)) q ON q.term = kt.term WHERE kt.knowledge_base_id = "
    "kb.id AND kt.workspace_id = kb.workspace_id AND kt.df > 0) t ON true "
    "WHERE kb.workspace_id = :ws AND kb.id = :kb"
)


async def open_search(
    conn: AsyncConnection, workspace_id: uuid.UUID, base_id: uuid.UUID, request: SearchRequest
) -> tuple[KnowledgeBase, KeywordPlan | None]:
    """In one round trip: the base, the HNSW settings (``SET LOCAL``) and the keyword plan.

    ``hnsw.ef_search`` is the request's ``ef_search``, else the base's ``settings.ef_search``,
    else :data:`DEFAULT_EF_SEARCH` (:data:`SMALL_BASE_EF_SEARCH` in a small base), and at least
    the branch's candidate depth.

    Raises:
        NotFoundError: no such base in this workspace.
    """
    row = (
        await conn.execute(
            _OPEN,
            {
                "ws": workspace_id,
                "kb": base_id,
                "ef": request.ef_search,
                "depth": candidate_depth(request) if request.ef_search is None else 1,
                "query": request.query if request.mode != "vector" else "",
            },
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"knowledge base '{base_id}' does not exist in this workspace")
    base = KnowledgeBase(*row[:9])
    if request.mode == "vector":
        return base, None
    found = list(zip(row.terms or [], row.dfs or [], strict=True))
    return base, plan_keyword(base, found)


def _keyword_cte(base: KnowledgeBase, filters_sql: str, join: str, websearch: bool) -> str:
    tsquery = (
        f"websearch_to_tsquery('{TS_CONFIG}', :query)" if websearch else "CAST(:tsq AS tsquery)"
    )
    # Per candidate, keep only the query's lexemes (setweight marks them, ts_filter drops the
    # rest) before unnesting: scoring reads a handful of positions instead of every lexeme.
    return (
        "qdf AS (SELECT * FROM unnest(CAST(:terms AS text[]), CAST(:idfs AS float8[])) "
        "AS qdf(term, idf)), "
        "cand AS (SELECT c.id, c.document_id AS doc, "
        "ts_filter(setweight(c.tsv, 'A', CAST(:terms AS text[])), "
        f"CAST('{{a}}' AS \"char\"[])) AS hits, {_length_sql(base)} AS dl "
        f"FROM chunks c{join} WHERE {_scope(base, 'c')} AND c.tsv @@ {tsquery}{filters_sql}), "
        "kw AS MATERIALIZED (SELECT cand.id, cand.doc, "
        "sum(qdf.idf * cardinality(u.positions)::float8 * "
        f"{BM25_K1 + 1} / (cardinality(u.positions)::float8 + {BM25_K1} * (1 - {BM25_B} + "
        f"{BM25_B} * cand.dl / CAST(:avgdl AS float8)))) AS score "
        "FROM cand CROSS JOIN LATERAL unnest(cand.hits) u JOIN qdf ON qdf.term = u.lexeme "
        "GROUP BY cand.id, cand.doc ORDER BY score DESC, cand.id LIMIT :n), "
        + _ranked("kw", "score DESC, id")
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
            f"coalesce(1.0 / ({RRF_K} + v.drank), 0) + coalesce(1.0 / ({RRF_K} + k.drank), 0) "
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
    plan: KeywordPlan | None,
) -> list[SearchHit]:
    """Run one search in the transaction :func:`open_search` prepared."""
    sql, params = build_search_sql(base, request)
    if request.mode != "vector":
        assert plan is not None, "keyword and hybrid searches need open_search's plan"
        params.update(
            terms=list(plan.terms), idfs=list(plan.idfs), avgdl=plan.avgdl, tsq=plan.tsquery
        )
        if not plan.terms and request.mode == "keyword":
            return []  # no query term occurs in the base
    if request.mode != "keyword":
        if query_vector is None:
            raise ValueError("vector and hybrid searches need the query's embedding")
        params["qvec"] = vector_literal(query_vector)
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
