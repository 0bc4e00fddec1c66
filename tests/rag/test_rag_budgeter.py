"""The framework-free budgeter (tokenomy.rag.ChunkBudgeter): budget, threshold, duplicates,
packing, trimming, compression, ordering and the edge cases the issue lists."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

import pytest

import tokenomy
from tokenomy.exceptions import ConfigurationError
from tokenomy.rag import Chunk, ChunkBudget, ChunkBudgeter, Embedder, split_sentences
from tokenomy.testing import HashingEmbedder
from tokenomy.tokens import count_text

MODEL = "gpt-4o-mini"

LOUVRE = (
    "The Louvre is the world's most-visited museum. It opened in 1793 in the former royal "
    "palace. The Mona Lisa by Leonardo da Vinci hangs in the Salle des Etats. Visitors queue "
    "for hours in summer. The glass pyramid entrance was designed by I. M. Pei."
)
EIFFEL = (
    "The Eiffel Tower was built for the 1889 World's Fair. It is 330 metres tall. Gustave "
    "Eiffel's company designed and built it."
)
SEINE = "The Seine flows through Paris. Its banks are a UNESCO World Heritage Site."


def _count(text: str) -> int:
    return count_text(text, MODEL)


def test_no_chunks_sends_nothing_and_reports_zeros() -> None:
    """An empty retrieval: nothing kept, every count zero, nothing saved."""
    out = ChunkBudgeter(model=MODEL, budget=100).select("anything?", [])
    assert out.chunks == ()
    assert out.joined() == ""
    r = out.report
    assert (r.chunks_retrieved, r.chunks_sent, r.tokens_retrieved, r.tokens_sent) == (0, 0, 0, 0)
    assert r.saved_usd == Decimal(0)
    assert sum(r.dropped.values()) == 0


def test_empty_and_blank_texts_are_dropped_as_empty() -> None:
    """Empty or whitespace-only chunks are never sent and are counted under 'empty'."""
    out = ChunkBudgeter(model=MODEL, budget=100).select("Seine?", ["", "   \n", SEINE])
    assert out.texts == [SEINE]
    assert out.report.dropped["empty"] == 2


def test_everything_fits_is_sent_whole() -> None:
    """Under a generous budget every relevant chunk is sent unchanged, best first."""
    chunks = [Chunk(text=EIFFEL, score=0.2), Chunk(text=LOUVRE, score=0.9)]
    out = ChunkBudgeter(model=MODEL, budget=10_000).select("Mona Lisa?", chunks)
    assert out.texts == [LOUVRE, EIFFEL]
    assert not any(k.trimmed for k in out.chunks)
    assert out.report.tokens_sent == out.report.tokens_retrieved == _count(LOUVRE) + _count(EIFFEL)


def test_one_chunk_larger_than_the_budget_is_trimmed_to_its_best_sentences() -> None:
    """A single chunk over the whole budget is cut at sentence boundaries, keeping the
    sentence that answers the query, within the budget."""
    budget = 30
    assert _count(LOUVRE) > budget
    out = ChunkBudgeter(model=MODEL, budget=budget).select(
        "Where does the Mona Lisa hang?", [Chunk(text=LOUVRE, score=1.0)]
    )
    (kept,) = out.chunks
    assert kept.trimmed
    assert "Mona Lisa" in kept.text
    assert kept.tokens == _count(kept.text) <= budget
    assert kept.text in LOUVRE or all(s.strip() in LOUVRE for s in split_sentences(kept.text))
    assert out.report.trimmed == 1


def test_one_unpunctuated_chunk_over_the_budget_is_cut_at_a_token_boundary() -> None:
    """With no sentence boundary that fits, the best chunk's first tokens are sent rather than
    nothing (and never more than the budget)."""
    text = " ".join(["word"] * 400)
    out = ChunkBudgeter(model=MODEL, budget=20).select("word", [text])
    (kept,) = out.chunks
    assert kept.trimmed and 0 < kept.tokens <= 20
    assert text.startswith(kept.text)
    assert out.report.dropped["over_budget"] == 0


def test_all_chunks_below_the_threshold_sends_nothing() -> None:
    """min_score drops every chunk under it, counted under 'below_min_score'."""
    chunks = [Chunk(text=LOUVRE, score=0.1), Chunk(text=EIFFEL, score=0.05)]
    out = ChunkBudgeter(model=MODEL, budget=500, min_score=0.5).select("Mona Lisa?", chunks)
    assert out.chunks == ()
    assert out.report.dropped["below_min_score"] == 2
    assert out.report.tokens_sent == 0
    assert out.report.tokens_retrieved == _count(LOUVRE) + _count(EIFFEL)


def test_exact_and_near_duplicates_keep_only_the_best_copy() -> None:
    """Exact copies and a copy with one word changed are dropped; the best-scoring copy is
    the one kept."""
    near = LOUVRE.replace("hours", "ages")
    chunks = [
        Chunk(text=LOUVRE, score=0.5, id="a"),
        Chunk(text=LOUVRE.upper(), score=0.4, id="b"),
        Chunk(text=near, score=0.9, id="c"),
        Chunk(text=EIFFEL, score=0.3, id="d"),
    ]
    out = ChunkBudgeter(model=MODEL, budget=5_000).select("Mona Lisa?", chunks)
    assert [k.chunk.id for k in out.chunks] == ["c", "d"]
    assert out.report.dropped["duplicate"] == 2


def test_dedup_off_keeps_duplicates() -> None:
    """dedup=False sends duplicates (the switch works)."""
    out = ChunkBudgeter(model=MODEL, budget=5_000, dedup=False).select("x", [SEINE, SEINE])
    assert out.texts == [SEINE, SEINE]


def test_duplicates_by_embedding_when_every_chunk_has_one() -> None:
    """Chunks that carry embeddings are compared by cosine similarity, not shingles: a
    different text with the same vector is a duplicate, a different vector is kept."""
    emb = HashingEmbedder()
    v_louvre, v_eiffel = emb.embed([LOUVRE, EIFFEL])
    chunks = [
        Chunk(text=LOUVRE, score=0.9, embedding=v_louvre),
        Chunk(text="A paraphrase of the Louvre text.", score=0.8, embedding=v_louvre),
        Chunk(text=EIFFEL, score=0.7, embedding=v_eiffel),
    ]
    out = ChunkBudgeter(model=MODEL, budget=5_000).select("museum", chunks)
    assert out.texts == [LOUVRE, EIFFEL]
    assert out.report.dropped["duplicate"] == 1


def test_cjk_text_is_counted_trimmed_and_deduplicated() -> None:
    """Chinese/Japanese text (no spaces, tokens tiktoken splits badly): counted for the model,
    trimmed at CJK full stops, and a duplicate found by character shingles."""
    zh = "巴黎是法国的首都。卢浮宫是世界上参观人数最多的博物馆。蒙娜丽莎收藏在卢浮宫。埃菲尔铁塔建于1889年。"
    ja = "東京は日本の首都です。人口は約1400万人です。"
    assert len(split_sentences(zh)) == 4
    budget = _count("蒙娜丽莎收藏在卢浮宫。") + 2
    out = ChunkBudgeter(model=MODEL, budget=budget).select(
        "蒙娜丽莎在哪里？", [Chunk(text=zh, score=1.0), Chunk(text=zh + " ", score=0.5)]
    )
    (kept,) = out.chunks
    assert kept.text == "蒙娜丽莎收藏在卢浮宫。"
    assert kept.tokens <= budget
    assert out.report.dropped["duplicate"] == 1
    two = ChunkBudgeter(model=MODEL, budget=1_000).select("東京", [ja, zh])
    assert two.report.tokens_retrieved == _count(ja) + _count(zh)
    assert two.chunks[0].text == ja  # scored by BM25 on character pairs: 東京 matches


def test_relevance_per_token_packing_fits_more_evidence() -> None:
    """packing='density' prefers the short relevant chunks over one long slightly-better one
    when the budget cannot hold both; 'score' takes the best first."""
    long = " ".join([LOUVRE] * 3)
    chunks = [
        Chunk(text=long, score=1.0, id="long"),
        Chunk(text=EIFFEL, score=0.95, id="e"),
        Chunk(text=SEINE, score=0.9, id="s"),
    ]
    budget = _count(EIFFEL) + _count(SEINE) + 5
    dense = ChunkBudgeter(model=MODEL, budget=budget, packing="density", trim=False)
    assert {k.chunk.id for k in dense.select("Paris", chunks).chunks} == {"e", "s"}
    greedy = ChunkBudgeter(model=MODEL, budget=budget, packing="score", trim=False)
    out = greedy.select("Paris", chunks)
    assert "long" not in {k.chunk.id for k in out.chunks}  # does not fit whole, no trimming
    assert out.report.dropped["over_budget"] >= 1


def test_order_by_score_source_and_edges() -> None:
    """order='score' best first; 'source' by position; 'edges' puts the best two at the ends."""
    chunks = [
        Chunk(text=f"Fact number {i} about Paris.", score=s, position=p, id=str(i))
        for i, (s, p) in enumerate([(0.9, 3), (0.8, 0), (0.7, 4), (0.6, 1), (0.5, 2)])
    ]
    ids = lambda order: [  # noqa: E731
        k.chunk.id
        for k in ChunkBudgeter(model=MODEL, budget=1000, order=order, dedup=False)
        .select("Paris", chunks)
        .chunks
    ]
    assert ids("score") == ["0", "1", "2", "3", "4"]
    assert ids("source") == ["1", "3", "4", "0", "2"]
    assert ids("edges") == ["0", "2", "4", "3", "1"]


def test_lexical_compression_keeps_the_relevant_sentences_of_many_chunks() -> None:
    """compress='lexical' sends, from each chunk, the sentences that bear on the query, so
    evidence from more chunks fits than whole chunks would."""
    chunks = [
        Chunk(text=LOUVRE, score=0.9, id="louvre"),
        Chunk(text=EIFFEL, score=0.8, id="eiffel"),
        Chunk(text=SEINE, score=0.1, id="seine"),
    ]
    budget = 40
    out = ChunkBudgeter(model=MODEL, budget=budget, compress="lexical").select(
        "Who designed the Eiffel Tower and where does the Mona Lisa hang?", chunks
    )
    text = out.joined()
    assert "Mona Lisa" in text and "designed and built" in text
    assert out.report.tokens_sent <= budget
    assert {k.chunk.id for k in out.chunks} >= {"louvre", "eiffel"}
    assert all(k.trimmed for k in out.chunks if k.chunk.id != "seine")


def test_embedding_compression_uses_the_embedder() -> None:
    """compress='embedding' scores sentences with the embedder given (and needs one)."""
    emb = HashingEmbedder()
    out = ChunkBudgeter(model=MODEL, budget=25, compress="embedding", embedder=emb).select(
        "Mona Lisa Leonardo", [LOUVRE]
    )
    assert emb.calls > 0
    assert "Mona Lisa" in out.joined()
    with pytest.raises(ConfigurationError, match="needs an embedder"):
        ChunkBudgeter(compress="embedding")


class _KeywordEmbedder(Embedder):
    """Texts holding a key get its vector, the rest ``other``: a model's judgement of which
    sentences mean the same as the query, fixed by hand."""

    def __init__(self, vectors: dict[str, list[float]], other: list[float]) -> None:
        self.vectors = vectors
        self.other = other

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [
            next((v for k, v in self.vectors.items() if k in t), self.other) for t in texts
        ]


SUPER_BOWL = (
    "Super Bowl 50 was an American football game to decide the 2015 champion. "
    "The game was played at Levi's Stadium in Santa Clara. "
    "A parade was held at the gate."
)


def test_hybrid_compression_keeps_a_sentence_sharing_no_word_with_the_query() -> None:
    """compress='hybrid' adds the embedder's cosine to BM25: under a budget of two sentences,
    the answer sentence that shares no word with the question (but that the embedder finds
    closest) is kept next to the best lexical match, where lexical compression keeps the
    sentence sharing one word ("held") instead; hybrid needs an embedder."""
    query = "Where was Super Bowl 50 held?"
    emb = _KeywordEmbedder({query: [1.0, 0.0], "Levi": [1.0, 0.0]}, [0.3, 1.0])
    budget = 30  # the first two sentences (29 tokens), not all three
    chunk = Chunk(text=SUPER_BOWL, score=1.0)
    hybrid = ChunkBudgeter(model=MODEL, budget=budget, compress="hybrid", embedder=emb)
    out = hybrid.select(query, [chunk])
    assert "Levi's Stadium" in out.joined() and "Super Bowl 50" in out.joined()
    assert out.report.tokens_sent <= budget
    lexical = ChunkBudgeter(model=MODEL, budget=budget, compress="lexical").select(query, [chunk])
    assert "Levi's Stadium" not in lexical.joined() and "parade" in lexical.joined()
    with pytest.raises(ConfigurationError, match="needs an embedder"):
        ChunkBudgeter(compress="hybrid")


def test_hybrid_compression_weighs_bm25_in() -> None:
    """Between two sentences the embedder scores alike, hybrid compression keeps the one
    sharing the query's words (embedding compression alone keeps the first)."""
    text = "The mill stood by the wide river. Founders came to Alpha in 1820."
    emb = _KeywordEmbedder({}, [1.0, 0.0])
    query = "When did the founders come to Alpha?"
    budget = _count("Founders came to Alpha in 1820.") + 1

    def kept(compress: str) -> str:
        b = ChunkBudgeter(model=MODEL, budget=budget, compress=compress, embedder=emb)  # type: ignore[arg-type]
        return b.select(query, [Chunk(text=text, score=1.0)]).joined()

    assert kept("hybrid") == "Founders came to Alpha in 1820."
    assert kept("embedding") == "The mill stood by the wide river."


def test_chunks_without_scores_are_scored_with_bm25() -> None:
    """Plain strings (no retriever score) are ranked by BM25 against the query."""
    out = ChunkBudgeter(model=MODEL, budget=_count(EIFFEL) + 1).select(
        "How tall is the Eiffel Tower?", [SEINE, LOUVRE, EIFFEL]
    )
    assert out.texts == [EIFFEL]


def test_budget_as_a_share_of_the_context_window() -> None:
    """ChunkBudget(share=...) takes the model's context window from the price data, or the
    one given; an unknown window is a clear error."""
    assert ChunkBudgeter(model="gpt-4o-mini", budget=ChunkBudget(share=0.01)).tokens == 1280
    b = ChunkBudgeter(model="my-model", budget=ChunkBudget(share=0.5, context_window=1000))
    assert b.tokens == 500
    with pytest.raises(ConfigurationError, match="context_window"):
        ChunkBudgeter(model="my-model", budget=ChunkBudget(share=0.5))
    with pytest.raises(ConfigurationError, match="exactly one"):
        ChunkBudget(tokens=5, share=0.5)
    with pytest.raises(ConfigurationError):
        ChunkBudget(tokens=0)


def test_report_prices_the_tokens_not_sent() -> None:
    """saved_usd = tokens retrieved but not sent x the model's input price; None for a model
    with no known price."""
    out = ChunkBudgeter(model=MODEL, budget=30).select("Mona Lisa", [LOUVRE, EIFFEL, SEINE])
    r = out.report
    price = tokenomy.PriceBook.default().lookup(MODEL)
    assert price is not None
    assert r.tokens_saved > 0
    assert r.saved_usd == price.input * r.tokens_saved
    unknown = ChunkBudgeter(model="no-such-model-xyz", budget=30).select("x", [LOUVRE])
    assert unknown.report.saved_usd is None
    tags = r.tags()
    assert tags["rag_tokens_sent"] == str(r.tokens_sent)
    assert tags["rag_saved_usd"] == str(r.saved_usd)
    assert r.to_dict()["dropped"] == dict(r.dropped)


def test_report_is_noted_on_the_enclosing_track_block() -> None:
    """Inside track(), select() puts the report's rag_* tags on the block, so a model call
    recorded after it in the block carries them; outside every block nothing is noted."""
    with tokenomy.track(user="u") as block:
        out = ChunkBudgeter(model=MODEL, budget=30).select("Mona Lisa", [LOUVRE, EIFFEL])
        record = tokenomy.record_call(model=MODEL, usage=tokenomy.Usage(input=10, output=2))
    assert block.tags["user"] == "u"
    assert record.tags["rag_tokens_sent"] == str(out.report.tokens_sent)
    assert record.tags["rag_tokens_retrieved"] == str(out.report.tokens_retrieved)
    after = tokenomy.record_call(model=MODEL, usage=tokenomy.Usage(input=10, output=2))
    assert "rag_tokens_sent" not in after.tags
    quiet = ChunkBudgeter(model=MODEL, budget=30, note=False)
    with tokenomy.track() as block:
        quiet.select("Mona Lisa", [LOUVRE])
    assert not any(k.startswith("rag_") for k in block.tags)


@pytest.mark.parametrize("compress", [None, "lexical"])
def test_never_over_budget_on_random_inputs(compress: str | None) -> None:
    """On random mixes of chunk sizes, scores, budgets and duplicates the tokens sent never
    exceed the budget, each kept text is counted exactly, and the drop counts add up."""
    rng = random.Random(7)
    sentences = [s.strip() for s in split_sentences(" ".join([LOUVRE, EIFFEL, SEINE]))]
    for _ in range(60):
        chunks = [
            Chunk(
                text=" ".join(rng.choices(sentences, k=rng.randint(0, 6))),
                score=rng.random(),
            )
            for _ in range(rng.randint(0, 12))
        ]
        budget = rng.randint(5, 300)
        out = ChunkBudgeter(model=MODEL, budget=budget, compress=compress).select(  # type: ignore[arg-type]
            "Mona Lisa Eiffel", chunks
        )
        r = out.report
        assert r.tokens_sent == sum(k.tokens for k in out.chunks) <= budget
        assert all(k.tokens == _count(k.text) for k in out.chunks)
        assert r.chunks_sent + sum(r.dropped.values()) == r.chunks_retrieved


def test_bad_options_are_configuration_errors() -> None:
    """Misspelt options fail at construction with the accepted values."""
    with pytest.raises(ConfigurationError, match="order"):
        ChunkBudgeter(order="middle")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="packing"):
        ChunkBudgeter(packing="best")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="compress"):
        ChunkBudgeter(compress="model")  # type: ignore[arg-type]
