"""The budgeter's per-text analysis (tokenomy.rag._facts): cached across queries without
changing any answer, exact token counts, and sentence words matched on their prefix."""

from __future__ import annotations

from tokenomy.rag import Chunk, ChunkBudgeter, _facts, split_sentences
from tokenomy.rag._facts import sentence_terms, text_facts
from tokenomy.rag._sentences import sentence_views
from tokenomy.tokens import count_text, encoding_for_model

MODEL = "gpt-4o-mini"

TEXTS = [
    "The Panthers beat the Arizona Cardinals 49-15 in the NFC Championship Game. They went on "
    "to the Super Bowl. The city held a parade.",
    "Jacksonville was a centre of silent film making. However, the emergence of Hollywood ended "
    "the city's film industry. Some studios moved west.",
    "The Seine flows through Paris. Its banks are a UNESCO World Heritage Site.",
    "The Seine flows through Paris!  Its banks are a UNESCO World Heritage Site.",
    "\u4e1c\u4eac\u662f\u65e5\u672c\u7684\u9996\u90fd\u3002\u5bcc\u58eb\u5c71\u5f88\u9ad8\u3002",
]


def _forget() -> None:
    _facts.text_facts.cache_clear()
    _facts._count.cache_clear()
    _facts._shares.cache_clear()


def test_warm_and_cold_budgeting_give_the_same_answer() -> None:
    """Budgeting with every per-text cache empty and again with them filled (by other queries
    over the same chunks) keeps the same texts, token counts and report: the caches only save
    work."""
    chunks = [Chunk(text=t, score=float(len(TEXTS) - i)) for i, t in enumerate(TEXTS)]
    budgeter = ChunkBudgeter(model=MODEL, budget=40, compress="lexical", note=False)
    _forget()
    cold = budgeter.select("Who did the Panthers defeat?", chunks)
    budgeter.select("What ended Jacksonville's film making?", chunks)
    assert text_facts.cache_info().currsize >= len(TEXTS)
    hits = text_facts.cache_info().hits
    warm = budgeter.select("Who did the Panthers defeat?", chunks)
    assert text_facts.cache_info().hits > hits
    assert warm.texts == cold.texts and warm.report == cold.report
    assert [k.tokens for k in warm.chunks] == [count_text(t, MODEL) for t in warm.texts]
    assert warm.report.dropped["duplicate"] == 1  # the Seine text repeated with other spacing


def test_facts_pieces_join_back_and_counts_are_exact() -> None:
    """A text's cached sentences are split_sentences' (joined they give the text back) and the
    cached token count is the tokenizer's."""
    enc = encoding_for_model(MODEL)
    for text in TEXTS:
        facts = text_facts(text)
        assert list(facts.pieces) == (split_sentences(text) or [text])
        assert "".join(facts.pieces) == text
        assert _facts.count_tokens(enc, text) == count_text(text, MODEL)
        assert len(facts.bags) == len(facts.pieces) == len(facts.lengths)
        assert len(facts.sketch) == min(len(facts.shingles), _facts.SKETCH)
    assert _facts.count_tokens(enc, "") == 0


def test_sentence_words_match_on_their_prefix() -> None:
    """"defeat" in the question scores the sentence saying "defeated" (no shared full word),
    above the sentences that share nothing; stopwords alone are not query terms."""
    assert sentence_terms("Who did the Panthers defeat?") == {"pant", "defe"}
    assert sentence_terms("who is it") == {"who", "is", "it"}  # only stopwords: keep them
    text = "The Panthers defeated Arizona. The weather was mild. Fans sang."
    enc = encoding_for_model(MODEL)
    (view,) = sentence_views(
        "Which team was defeated?", [text], lambda p: list(_facts.piece_tokens(enc, tuple(p)))
    )
    assert view.best() == 0 and view.scores[0] > 0 == view.scores[1] == view.scores[2]


def test_shingle_dedup_matches_brute_force_jaccard() -> None:
    """The sketch index (a candidate shares two sketch hashes) finds the same near-duplicates
    as comparing every pair's full shingle sets, on seeded texts with 1-12 changed words."""
    import random

    from tokenomy.rag._dedup import DEFAULT_JACCARD, duplicates

    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(400)]
    base = [[rng.choice(vocab) for _ in range(60)] for _ in range(12)]
    texts = [" ".join(ws) for ws in base]
    for ws in base:
        for changed in (1, 4, 8, 12):
            copy = list(ws)
            for j in rng.sample(range(60), changed):
                copy[j] = rng.choice(vocab)
            texts.append(" ".join(copy))
    order = list(range(len(texts)))
    found = duplicates(texts, None, order, threshold=DEFAULT_JACCARD)
    expected: set[int] = set()
    kept: list[frozenset[int]] = []
    for i in order:
        s = text_facts(texts[i]).shingles
        if any(len(s & k) >= DEFAULT_JACCARD * len(s | k) for k in kept):
            expected.add(i)
        else:
            kept.append(s)
    assert found == expected and 0 < len(expected) < len(texts) - len(base)
