"""Search parameters chosen outside SQL: keyword candidates, BM25 length, HNSW build values."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from reporunner.knowledge._bases import HNSW_EF_CONSTRUCTION, HNSW_M, hnsw_build_params
from reporunner.knowledge._search import (
    DEFAULT_EF_SEARCH,
    EXACT_KEYWORD_CHUNKS,
    KEYWORD_CANDIDATES,
    SMALL_BASE_CHUNKS,
    SMALL_BASE_EF_SEARCH,
    build_search_sql,
    open_search,
    plan_keyword,
)
from reporunner.knowledge.models import KnowledgeBase, SearchRequest


def _base(**stats: Any) -> KnowledgeBase:
    return KnowledgeBase(
        uuid.uuid4(), uuid.uuid4(), "kb", "", "m", 4, 512, 64, {"_stats": stats} if stats else {}
    )


def test_small_base_scores_every_term_exactly() -> None:
    base = _base(chunks=100, lexemes=5000, chars=40000)
    plan = plan_keyword(base, [("wing", 30), ("flow", 90)])
    assert plan.tsquery == "'wing' | 'flow'"
    assert plan.avgdl == 400.0  # characters per chunk


def test_large_base_stops_at_the_candidate_budget_after_the_rarest_term() -> None:
    n = EXACT_KEYWORD_CHUNKS * 20
    base = _base(chunks=n, lexemes=n * 50, chars=n * 300)
    rare = KEYWORD_CANDIDATES // 2
    plan = plan_keyword(base, [("aeroelast", rare), ("predict", KEYWORD_CANDIDATES), ("base", n)])
    assert plan.tsquery == "'aeroelast'"
    assert plan.terms == ("aeroelast", "predict", "base")  # every term still scores
    assert plan.idfs[0] > plan.idfs[1] > plan.idfs[2]


def test_large_base_with_only_common_terms_requires_a_second_term() -> None:
    n = EXACT_KEYWORD_CHUNKS * 20
    base = _base(chunks=n, lexemes=n * 50, chars=n * 300)
    common = KEYWORD_CANDIDATES * 3
    plan = plan_keyword(base, [("predict", common), ("base", common * 2), ("flow", common * 3)])
    assert plan.tsquery == "'predict' & ('base' | 'flow')"


def test_length_falls_back_to_lexemes_without_character_totals() -> None:
    request = SearchRequest(query="wing flow", mode="keyword")
    with_chars, _ = build_search_sql(_base(chunks=10, lexemes=500, chars=4000), request)
    assert "(c.char_end - c.char_start)::float8 AS dl" in with_chars
    old = _base(chunks=10, lexemes=500)
    legacy, _ = build_search_sql(old, request)
    assert "length(c.tsv)::float8 AS dl" in legacy
    assert plan_keyword(old, [("wing", 3)]).avgdl == 50.0


def test_hnsw_build_params_default_and_clamped() -> None:
    assert hnsw_build_params({}) == (HNSW_M, HNSW_EF_CONSTRUCTION)
    assert hnsw_build_params({"hnsw_m": 32, "hnsw_ef_construction": 200}) == (32, 200)
    assert hnsw_build_params({"hnsw_m": 500, "hnsw_ef_construction": 10}) == (100, 200)


async def _ef_search(store: Any, base: KnowledgeBase, request: SearchRequest) -> str:

    async with store.engine.begin() as conn:
        await open_search(conn, base.workspace_id, base.id, request)
        return str(await conn.scalar(text("SHOW hnsw.ef_search")))


async def test_ef_search_comes_from_the_request_the_base_or_its_size(kb_store: Any) -> None:
    ws = uuid.uuid4()
    small = await kb_store.create_base(ws, "small", embedding_model="m", embedding_dim=4)
    vector = SearchRequest(query="wing", mode="vector", top_k=10)
    assert await _ef_search(kb_store, small, vector) == str(SMALL_BASE_EF_SEARCH)
    hybrid = SearchRequest(query="wing", mode="hybrid", top_k=100)  # 200 candidates per branch
    assert await _ef_search(kb_store, small, hybrid) == "200"
    asked = SearchRequest(query="wing", mode="vector", top_k=10, ef_search=30)
    assert await _ef_search(kb_store, small, asked) == "30"
    tuned = await kb_store.create_base(
        ws, "tuned", embedding_model="m", embedding_dim=4, settings={"ef_search": 64}
    )
    assert await _ef_search(kb_store, tuned, vector) == "64"
    async with kb_store.engine.begin() as conn:  # a large base (its statistics say so)
        await conn.execute(
            text(
                "UPDATE knowledge_bases SET settings = jsonb_build_object('_stats', "
                "jsonb_build_object('chunks', :n, 'lexemes', 0, 'chars', 0)) WHERE id = :kb"
            ),
            {"n": SMALL_BASE_CHUNKS + 1, "kb": small.id},
        )
    assert await _ef_search(kb_store, small, vector) == str(DEFAULT_EF_SEARCH)
