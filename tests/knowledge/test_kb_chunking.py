"""Token-aware chunking with the MiniLM tokenizer; offsets always point back into the text."""

from __future__ import annotations

import itertools

import pytest

from reporunner.knowledge.chunking import (
    TAIL_MERGE,
    ChunkingOptions,
    HFTokenCounter,
    chunk_document,
)
from reporunner.knowledge.embeddings import minilm_model_path
from reporunner.knowledge.parsing import parse_document


@pytest.fixture(scope="module")
def counter() -> HFTokenCounter:
    return HFTokenCounter(minilm_model_path() / "tokenizer.json")


def _prose(n: int, topic: str) -> str:
    return " ".join(f"Sentence {i} explains how the {topic} behaves under load." for i in range(n))


def test_chunks_respect_size_and_offsets(counter: HFTokenCounter) -> None:
    text = "\n\n".join(_prose(12, f"part{p}") for p in range(6))
    doc = parse_document(text.encode())
    chunks = chunk_document(doc, counter, ChunkingOptions(size=64, overlap=8))
    assert len(chunks) > 6
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert doc.text[chunk.char_start : chunk.char_end] == chunk.text
        # sum of pieces ~ joint tokenisation; a short last remainder may join its chunk
        assert counter.count([chunk.text])[0] <= 64 * (1 + TAIL_MERGE) + 4
        assert chunk.text.endswith(".")  # split at sentence ends, never mid-sentence
    covered = "".join(c.text for c in chunks)
    assert "part5" in covered


def test_overlap_repeats_the_previous_sentence(counter: HFTokenCounter) -> None:
    doc = parse_document(_prose(20, "rotor").encode())
    chunks = chunk_document(doc, counter, ChunkingOptions(size=48, overlap=16))
    assert len(chunks) >= 3
    for previous, current in itertools.pairwise(chunks):
        assert current.char_start < previous.char_end  # overlapping spans


def test_no_overlap_tiles_the_text(counter: HFTokenCounter) -> None:
    doc = parse_document(_prose(20, "valve").encode())
    chunks = chunk_document(doc, counter, ChunkingOptions(size=40, overlap=0))
    for previous, current in itertools.pairwise(chunks):
        assert current.char_start >= previous.char_end


def test_chunks_keep_heading_paths_and_never_cross_sections(counter: HFTokenCounter) -> None:
    md = "# A\n\n" + _prose(3, "alpha") + "\n\n## B\n\n" + _prose(3, "beta")
    doc = parse_document(md.encode())
    chunks = chunk_document(doc, counter, ChunkingOptions(size=200, overlap=0))
    assert [c.heading_path for c in chunks] == [("A",), ("A", "B")]
    assert "beta" not in chunks[0].text


def test_giant_word_is_cut(counter: HFTokenCounter) -> None:
    word = "x-" * 500  # no whitespace, but 1000 tokens (punctuation splits WordPiece)
    doc = parse_document(word.encode())
    chunks = chunk_document(doc, counter, ChunkingOptions(size=32, overlap=0))
    assert len(chunks) > 30
    assert all(c.token_count <= 32 for c in chunks[:-1])
    assert chunks[-1].token_count <= 32 * (1 + TAIL_MERGE)
    assert "".join(c.text for c in chunks) == word.strip()


def test_content_hash_is_stable_and_per_text(counter: HFTokenCounter) -> None:
    one = chunk_document(parse_document(b"Same words.\n\nOther words."), counter)
    two = chunk_document(parse_document(b"Same words.\n\nOther words."), counter)
    assert [c.content_hash for c in one] == [c.content_hash for c in two]


def test_bad_options_say_what_to_fix() -> None:
    with pytest.raises(ValueError, match="overlap"):
        ChunkingOptions(size=64, overlap=40)


def test_short_remainder_joins_the_previous_chunk(counter: HFTokenCounter) -> None:
    text = " ".join(f"Sentence {i} is short." for i in range(9))
    doc = parse_document(text.encode())
    size = sum(counter.count([f"Sentence {i} is short." for i in range(8)]))
    chunks = chunk_document(doc, counter, ChunkingOptions(size=size, overlap=0))
    assert len(chunks) == 1  # the ninth sentence did not make a chunk of its own
    assert chunks[0].text == text
