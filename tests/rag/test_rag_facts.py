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
    _facts.forget()


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
    """ "defeat" in the question scores the sentence saying "defeated" (no shared full word),
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


def test_period_only_texts_split_as_the_general_pattern_does() -> None:
    """The fast pattern used for texts whose only end marks are periods (no ! ? line break or
    CJK stop) cuts them exactly where the general pattern does, abbreviations included."""
    from tokenomy.rag import _text

    texts = [
        "The U.S. Army left. Dr. Smith stayed in St. Louis until Sept. 5 when he left.  Fine.",
        'He said "Go." Then (it ended.) The a. b. c. list e.g. this one. Done',
        "A. B. Cee went. Mr.Smith was here. Inc. is a suffix. No. 5 is a number. End.",
        "Nothing ends here",
        "Trailing space. ",
    ]
    for text in texts:
        general = [m.end() for m in _text._SENTENCE_END.finditer(text)]
        fast = [m.end() for m in _text._PERIOD_END.finditer(text)]
        assert fast == general
    assert split_sentences(texts[0]) == [
        "The U.S. Army left. ",
        "Dr. Smith stayed in St. Louis until Sept. 5 when he left.  ",
        "Fine.",
    ]
    # a line break after an abbreviation ends the sentence (the general pattern's rule)
    assert split_sentences("Made in the U.S.\nNext line.") == ["Made in the U.S.\n", "Next line."]


def test_count_many_matches_one_by_one_and_fills_the_cache() -> None:
    """Counting a query's texts in one pass gives each text's tokenizer count (empty text 0,
    repeats counted once), and a later single count is a cache hit with the same value."""
    enc = encoding_for_model(MODEL)
    _forget()
    texts = [*TEXTS, "", TEXTS[0], "<|endoftext|> is plain text here"]
    counts = _facts.count_many(enc, texts)
    assert counts == [count_text(t, MODEL) for t in texts]
    assert counts[len(TEXTS)] == 0 and counts[len(TEXTS) + 1] == counts[0]
    assert (enc.name, TEXTS[1]) in _facts._COUNTS
    assert _facts.count_tokens(enc, TEXTS[1]) == counts[1]


def test_compression_pool_analyses_only_the_best_chunks() -> None:
    """With compression, only the best chunks holding pool x budget tokens are considered:
    the others are dropped as over budget, never analysed (not in the per-text cache) nor
    tokenized: tokens_retrieved estimates them from their length (tokens_estimated says how
    many, within 15% of the exact count here); pool=None analyses and counts every chunk
    exactly; a pool under 1 is refused."""
    import pytest

    from tokenomy.exceptions import ConfigurationError

    filler = [f"Filler paragraph number {i} is about topic {i} at some length." for i in range(30)]
    chunks = [Chunk(text=t, score=100.0 - i) for i, t in enumerate([TEXTS[0], *filler])]
    enc = encoding_for_model(MODEL)
    per = count_text(filler[0], MODEL)
    pooled = ChunkBudgeter(model=MODEL, budget=per * 2, compress="lexical", pool=3, note=False)
    _forget()
    out = pooled.select("Who did the Panthers beat?", chunks)
    analysed = _facts.text_facts.cache_info().currsize
    assert 0 < analysed < len(chunks) // 2
    misses = _facts.text_facts.cache_info().misses
    _facts.text_facts(filler[-1])  # the weakest chunk was not analysed: a miss now
    assert _facts.text_facts.cache_info().misses == misses + 1
    assert out.report.dropped["over_budget"] == len(chunks) - out.report.chunks_sent
    exact = sum(count_text(c.text, MODEL) for c in chunks)
    unseen = sum(count_text(c.text, MODEL) for c in chunks[analysed:])
    assert out.report.tokens_estimated == pytest.approx(unseen, rel=0.15)
    assert out.report.tokens_retrieved - out.report.tokens_estimated == exact - unseen
    assert (enc.name, filler[-1]) not in _facts._COUNTS
    assert out.texts[0].startswith("The Panthers beat")
    every = ChunkBudgeter(model=MODEL, budget=per * 2, compress="lexical", pool=None, note=False)
    _forget()
    report = every.select("Who did the Panthers beat?", chunks).report
    assert _facts.text_facts.cache_info().currsize == len(chunks)
    assert (report.tokens_retrieved, report.tokens_estimated) == (exact, 0)
    with pytest.raises(ConfigurationError, match="pool"):
        ChunkBudgeter(model=MODEL, compress="lexical", pool=0.5)
