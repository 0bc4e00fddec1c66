"""``ChunkBudgeter``: choose which retrieved chunks to send under a token budget.

The steps, each a plain function over the candidates, in order:

1. count every chunk's tokens for the target model (``tokenomy.tokens``);
2. drop empty chunks, then those under ``min_score``;
3. drop near-duplicates of a more relevant chunk (``_dedup``);
4. pack best first (``packing="score"``) or by relevance per token (``"density"``); a chunk
   that does not fit the room left is trimmed at sentence boundaries when its best sentence
   still fits, else dropped as over budget; or, with query-aware compression, pack sentences
   instead of chunks: the most relevant sentences of all the chunks (``_sentences``), each
   chunk keeping its chosen sentences in their order;
6. order what is kept (by score, by source order, or best at both ends: ``"edges"``);
7. report (:class:`RagReport`) and note the report on the enclosing ``track()`` block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from tokenomy.exceptions import ConfigurationError, TokenomyError
from tokenomy.rag._chunk import BudgetedChunks, Chunk, KeptChunk
from tokenomy.rag._embed import Embedder
from tokenomy.rag._facts import count_many, count_tokens, piece_tokens
from tokenomy.rag._lexical import bm25_scores
from tokenomy.rag._report import DROP_REASONS, RagReport, note_report
from tokenomy.rag._sentences import SentenceView, fit, pick_sentences, sentence_views

__all__ = ["ChunkBudget", "ChunkBudgeter", "Order", "Packing", "TokenCounter"]

#: Weight of a sentence's better neighbour in compression (measured on SQuAD with BM25: about
#: +0.4 points of gold retention at 256 tokens, within noise at 512 and 1,024).
NEIGHBOUR = 0.25

#: With compression, the candidates considered: the best chunks holding POOL x the budget in
#: tokens (see ``ChunkBudgeter(pool=)``). Measured on 1,500 SQuAD questions outside the
#: benchmark's sample, against no pool: BM25 retention within noise at 8, 12 and 16 (+-4
#: questions); MiniLM (embedding compression; its gold chunks rank deeper) lost 32/10/1
#: questions at 256/512/1,024 tokens with 8 and 11/4/0 with 16. 8 keeps budgeting 100 new
#: chunks at a quarter to a third of a MiniLM retrieval (16: about 0.7x); pass pool=16 or
#: None when the retriever's ranking is weak and the chunks are seen again (warm).
POOL = 8.0

#: Room (tokens) below which a chunk that does not fit is not worth trying to trim: hardly a
#: sentence fits in less, and each try scores the chunk's sentences.
MIN_TRIM_ROOM = 12

Order = Literal["score", "source", "edges"]
Packing = Literal["score", "density"]
Compression = Literal["lexical", "embedding", "hybrid"]

#: With ``compress="hybrid"``: weight of a sentence's BM25 score (relative to the best
#: sentence's) next to its embedding cosine (relative to the best's). On 1,500 SQuAD
#: questions outside the benchmark's sample, MiniLM sentence scores, gold retention margin over
#: naive top-k at twice the budget (256/512/1,024 tokens), BM25 retrieval: 0.25 +82/+20/+16,
#: 0.5 +87/+20/+17, 1.0 +83/+17/+14, 2.0 +79/+19/+6, cosine alone +67/+20/+16, BM25 alone
#: (lexical) +65/+5/+2; MiniLM retrieval: 0.25 +110/+45/+18, 0.5 +115/+56/+22, 1.0
#: +135/+67/+26, cosine alone +59/+24/+6.
LEXICAL_MIX = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkBudget:
    """How many tokens of context to send: ``tokens``, or a ``share`` (0-1] of the model's
    context window (from the price data's ``max_input_tokens``, or ``context_window``)."""

    tokens: int | None = None
    share: float | None = None
    context_window: int | None = None

    def __post_init__(self) -> None:
        if (self.tokens is None) == (self.share is None):
            raise ConfigurationError("ChunkBudget needs exactly one of tokens= or share=")
        if self.tokens is not None and (isinstance(self.tokens, bool) or self.tokens < 1):
            raise ConfigurationError(f"ChunkBudget tokens must be >= 1, got {self.tokens!r}")
        if self.share is not None and not 0 < self.share <= 1:
            raise ConfigurationError(f"ChunkBudget share must be in (0, 1], got {self.share!r}")

    def check_model(self, model: str) -> int:
        """The budget in tokens for ``model``; raises
        :class:`~tokenomy.exceptions.ConfigurationError` when a share is asked for a model
        whose context window is unknown (pass ``context_window=``)."""
        if self.tokens is not None:
            return self.tokens
        window = self.context_window or context_window(model)
        if window is None:
            raise ConfigurationError(
                f"ChunkBudget(share={self.share}) needs the context window of {model!r}, which "
                "the price data does not know: pass ChunkBudget(share=..., context_window=N)"
            )
        assert self.share is not None
        return max(1, int(window * self.share))


def context_window(model: str) -> int | None:
    """The input context window of ``model`` from the bundled price data, if known."""
    from tokenomy.pricing._book import get_price_book

    book = get_price_book()
    key = book.resolve(model)
    if key is None:
        return None
    entry = book._load()[1].get(key) or {}
    value = entry.get("max_input_tokens")
    return int(value) if isinstance(value, int | float) and value > 0 else None


class TokenCounter:
    """Token counts for one model (cached across queries: ``tokenomy.rag._facts``)."""

    def __init__(self, model: str) -> None:
        from tokenomy.tokens import encoding_for_model

        self.encoding = encoding_for_model(model)

    def __call__(self, text: str) -> int:
        return count_tokens(self.encoding, text)

    def many(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each of ``texts`` (one tokenizer pass over those not counted before)."""
        return count_many(self.encoding, texts)

    def pieces(self, pieces: Sequence[str]) -> list[int]:
        """Estimated tokens of each piece of one text: the text's exact count shared out by
        length (one encoding instead of one per piece; whoever joins pieces counts the
        result exactly)."""
        return list(piece_tokens(self.encoding, tuple(pieces)))


@dataclass(slots=True)
class _Candidate:
    index: int
    chunk: Chunk
    score: float
    text: str
    tokens: int
    trimmed: bool = False


class ChunkBudgeter:
    """Fit one query's retrieved chunks into a token budget without losing what answers it.

    * ``model``: the model the context is sent to (tokens are counted, and the saving
      priced, for it).
    * ``budget``: tokens (an int) or a :class:`ChunkBudget` (a share of the context window).
    * ``min_score``: chunks scoring below it are dropped (on the retriever's scale).
    * ``dedup``: drop near-duplicates; ``dedup_threshold``: the similarity from which two
      chunks are near-duplicates (default 0.6 shingle Jaccard, 0.95 embedding cosine).
    * ``packing``: ``"score"`` (best first, smaller ones fill the room left) or
      ``"density"`` (relevance per token first).
    * ``trim``: cut a chunk that does not fit at sentence boundaries, keeping its best
      evidence, instead of dropping it.
    * ``order``: ``"score"`` (best first), ``"source"`` (by ``Chunk.position``, else the order
      given) or ``"edges"`` (best first and last, weakest in the middle: models read the ends
      of a long context best).
    * ``compress``: ``"lexical"``, ``"embedding"`` or ``"hybrid"`` (the last two need
      ``embedder``): query-aware compression. The budget is filled with the most relevant
      sentences of all the kept chunks (scored for the query by BM25, by embedding
      similarity, or by both: cosine and BM25 each relative to the best sentence's, summed;
      plus ``compress_weight`` times their chunk's relevance), so a long chunk sends only the
      sentences that bear on the question and more chunks fit. ``"hybrid"`` finds answer
      sentences that share no word with the question, which BM25 cannot, and keeps the
      exact-word matches an embedding blurs; it works with any retriever (a BM25 app can
      pass ``MiniLMEmbedder(threads=1)`` for sentence scoring only). Each query embeds the
      considered chunks' sentences: wrap the embedder in
      ``tokenomy.cache.CachedEmbedder`` when chunks recur.
    * ``pool``: with compression, only the best chunks holding ``pool`` times the budget in
      tokens are considered (``None``: all); the others are dropped as over budget without
      being analysed, which keeps budgeting many chunks never seen before cheap.
    * ``embedder``: scores sentences for ``compress="embedding"`` and ``"hybrid"``.
    * ``note``: put each query's report on the enclosing ``track()`` block (see
      :func:`~tokenomy.rag.note_report`).

    Stateless between calls and thread-safe; :meth:`select` does the work.
    """

    def __init__(
        self,
        *,
        model: str = "gpt-4o-mini",
        budget: int | ChunkBudget = 1024,
        min_score: float | None = None,
        dedup: bool = True,
        dedup_threshold: float | None = None,
        packing: Packing = "score",
        trim: bool = True,
        order: Order = "score",
        compress: Compression | None = None,
        compress_weight: float = 0.5,
        pool: float | None = POOL,
        embedder: Embedder | None = None,
        note: bool = True,
    ) -> None:
        self.budget = budget if isinstance(budget, ChunkBudget) else ChunkBudget(tokens=budget)
        self.model = model
        self.tokens = self.budget.check_model(model)
        if packing not in ("score", "density"):
            raise ConfigurationError(f"packing must be 'score' or 'density', got {packing!r}")
        if order not in ("score", "source", "edges"):
            raise ConfigurationError(f"order must be 'score', 'source' or 'edges', got {order!r}")
        if compress not in (None, "lexical", "embedding", "hybrid"):
            raise ConfigurationError(
                f"compress must be None, 'lexical', 'embedding' or 'hybrid', got {compress!r}"
            )
        if compress in ("embedding", "hybrid") and embedder is None:
            raise ConfigurationError(
                f"compress={compress!r} needs an embedder (e.g. tokenomy.rag.MiniLMEmbedder())"
            )
        if pool is not None and not pool >= 1:
            raise ConfigurationError(f"pool must be None or >= 1, got {pool!r}")
        if compress_weight < 0:
            raise ConfigurationError(f"compress_weight must be >= 0, got {compress_weight!r}")
        self.min_score = min_score
        self.dedup = dedup
        self.dedup_threshold = dedup_threshold
        self.packing: Packing = packing
        self.trim = trim
        self.order: Order = order
        self.compress: Compression | None = compress
        self.compress_weight = compress_weight
        self.pool = pool
        self.embedder = embedder
        self.note = note

    def __repr__(self) -> str:
        return (
            f"ChunkBudgeter(model={self.model!r}, budget={self.tokens}, order={self.order!r}, "
            f"compress={self.compress!r})"
        )

    def _counter(self) -> TokenCounter:
        return TokenCounter(self.model)

    def select(self, query: str, chunks: Sequence[Chunk | str]) -> BudgetedChunks:
        """The chunks to send for ``query`` (strings are chunks without a score)."""
        items = [c if isinstance(c, Chunk) else Chunk(text=str(c)) for c in chunks]
        count = self._counter()
        dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        live = [i for i, c in enumerate(items) if c.text.strip()]
        dropped["empty"] = len(items) - len(live)
        scores = _scores(query, items)
        if self.min_score is not None:
            above = [i for i in live if scores[i] >= self.min_score]
            dropped["below_min_score"] = len(live) - len(above)
            live = above
        live.sort(key=lambda i: (-scores[i], i))
        beyond = estimated = 0
        if self.compress is not None and self.pool is not None:
            sizes, cut, estimated = _pooled_sizes(items, live, count, self.pool * self.tokens)
            beyond = len(live) - cut
            live = live[:cut]
        else:
            sizes = count.many([c.text for c in items])
        retrieved = sum(sizes)
        if self.dedup and len(live) > 1:
            embeddings = [items[i].embedding for i in live]
            vectors = None
            if all(e is not None for e in embeddings):
                vectors = {i: items[i].embedding for i in live}
            gone = _duplicates(items, live, vectors, self.dedup_threshold)
            dropped["duplicate"] = len(gone)
            live = [i for i in live if i not in gone]

        candidates = [_Candidate(i, items[i], scores[i], items[i].text, sizes[i]) for i in live]
        if self.compress is not None and candidates:
            kept, over = self._pack_sentences(query, candidates, count)
        else:
            kept, over = self._pack(query, candidates, count)
        dropped["over_budget"] = over + beyond
        kept = _ordered(kept, self.order)
        sent = sum(c.tokens for c in kept)
        report = RagReport(
            model=self.model,
            budget=self.tokens,
            chunks_retrieved=len(items),
            chunks_sent=len(kept),
            tokens_retrieved=retrieved,
            tokens_estimated=estimated,
            tokens_sent=sent,
            trimmed=sum(1 for c in kept if c.trimmed),
            dropped=dropped,
            saved_usd=_saved(self.model, retrieved - sent),
        )
        if self.note:
            note_report(report)
        return BudgetedChunks(
            tuple(
                KeptChunk(
                    chunk=c.chunk,
                    text=c.text,
                    tokens=c.tokens,
                    index=c.index,
                    score=c.score,
                    trimmed=c.trimmed,
                )
                for c in kept
            ),
            report,
        )

    def _views(
        self, query: str, candidates: list[_Candidate], count: TokenCounter
    ) -> dict[int, SentenceView]:
        embedder = self.embedder if self.compress in ("embedding", "hybrid") else None
        lexical = LEXICAL_MIX if self.compress == "hybrid" else 0.0
        views = sentence_views(
            query, [c.text for c in candidates], count.pieces, embedder=embedder, lexical=lexical
        )
        return {c.index: v for c, v in zip(candidates, views, strict=True)}

    def _pack_sentences(
        self, query: str, candidates: list[_Candidate], count: TokenCounter
    ) -> tuple[list[_Candidate], int]:
        views = self._views(query, candidates, count)
        order = [views[c.index] for c in candidates]
        chosen = pick_sentences(
            order,
            _relative(candidates),
            self.tokens,
            weight=self.compress_weight,
            neighbour=NEIGHBOUR,
        )
        kept: list[_Candidate] = []
        for c, view, picked in zip(candidates, order, chosen, strict=True):
            if not picked:
                continue
            if len(picked) < sum(1 for p in view.pieces if p.strip()):
                c.text = view.text(picked)
                c.tokens, c.trimmed = count(c.text), True
            kept.append(c)
        # sentence counts are estimates: drop the weakest kept sentences until the exact
        # counts fit (rarely more than one)
        while kept and sum(c.tokens for c in kept) > self.tokens:
            weakest = kept[-1]
            view = views[weakest.index]
            picked = chosen[candidates.index(weakest)]
            picked.sort(key=lambda j: (-view.scores[j], j))
            picked.pop()
            if picked:
                weakest.text = view.text(picked)
                weakest.tokens, weakest.trimmed = count(weakest.text), True
            else:
                kept.pop()
        return kept, len(candidates) - len(kept)

    def _pack(
        self, query: str, candidates: list[_Candidate], count: TokenCounter
    ) -> tuple[list[_Candidate], int]:
        views: dict[int, SentenceView] = {}
        room = self.tokens
        kept: list[_Candidate] = []
        over = 0
        for c in _packing_order(candidates, self.packing):
            if c.tokens <= room:
                kept.append(c)
                room -= c.tokens
                continue
            if self.trim and room >= MIN_TRIM_ROOM:
                # only this chunk's sentences are scored (BM25 statistics from them alone)
                if c.index not in views:
                    views.update(self._views(query, [c], count))
                cut = fit(views[c.index], room, count)
                if cut is not None:
                    c.text, c.tokens, c.trimmed = cut[0], cut[1], True
                    kept.append(c)
                    room -= c.tokens
                    continue
            over += 1
        if not kept and candidates and self.trim:
            # even the best chunk's best sentence exceeds the whole budget (one long sentence,
            # text without punctuation): send its first tokens rather than nothing
            best = max(candidates, key=lambda c: (c.score, -c.index))
            best.text = self._truncate(best.text)
            best.tokens, best.trimmed = count(best.text), True
            if best.text and best.tokens <= self.tokens:
                kept.append(best)
                over -= 1
        return kept, over

    def _truncate(self, text: str) -> str:
        from tokenomy.tokens import encoding_for_model

        enc = encoding_for_model(self.model)
        ids = enc.encode(text, disallowed_special=())[: self.tokens]
        # a cut inside a multi-byte character decodes to U+FFFD: drop such tail pieces
        out = enc.decode(ids)
        while ids and (out.endswith("\ufffd") or len(enc.encode(out)) > self.tokens):
            ids = ids[:-1]
            out = enc.decode(ids)
        return out.strip()


def _pooled_sizes(
    items: list[Chunk], ranked: list[int], count: TokenCounter, room: float
) -> tuple[list[int], int, int]:
    """``(sizes, cut, estimated)`` for compression's pool: the best chunks (``ranked``, best
    first) holding ``room`` tokens are counted by the tokenizer (``ranked[:cut]``: only they
    are analysed; the rest would only lend compression their weakest sentences); the other
    chunks' tokens (for ``tokens_retrieved``) are estimated from their length at the counted
    chunks' tokens per character, ``estimated`` tokens in all."""
    sizes = [0] * len(items)
    cut = 0
    while cut < len(ranked) and room > 0:
        n = sizes[ranked[cut]] = count(items[ranked[cut]].text)
        room -= n
        cut += 1
    counted = set(ranked[:cut])
    chars = sum(len(items[i].text) for i in counted)
    rate = sum(sizes[i] for i in counted) / chars if chars else 0.25
    estimated = 0
    for i, c in enumerate(items):
        if i in counted:
            continue
        if not c.text.strip():  # blank: counted, it costs nothing
            sizes[i] = count(c.text)
        else:
            sizes[i] = max(1, round(len(c.text) * rate))
            estimated += sizes[i]
    return sizes, cut, estimated


def _scores(query: str, items: list[Chunk]) -> list[float]:
    if all(c.score is not None for c in items):
        return [float(c.score) for c in items]  # type: ignore[arg-type]
    return bm25_scores(query, [c.text for c in items])


def _duplicates(
    items: list[Chunk],
    live: list[int],
    vectors: dict[int, Sequence[float] | None] | None,
    threshold: float | None,
) -> set[int]:
    from tokenomy.rag._dedup import duplicates

    texts = [items[i].text for i in live]
    embeddings = None
    if vectors is not None:
        embeddings = [vectors[i] or () for i in live]
    gone = duplicates(texts, embeddings, range(len(live)), threshold=threshold)
    return {live[k] for k in gone}


def _relative(candidates: list[_Candidate]) -> list[float]:
    # each candidate's relevance on a 0-1 scale (1: the best)
    top = max(c.score for c in candidates)
    low = min(c.score for c in candidates)
    span = top - low
    return [1.0 if span == 0 else (c.score - low) / span for c in candidates]


def _packing_order(candidates: list[_Candidate], packing: Packing) -> list[_Candidate]:
    if packing == "score" or len(candidates) < 2:
        return candidates  # already best first
    top = max(c.score for c in candidates)
    low = min(c.score for c in candidates)
    span = (top - low) or 1.0

    def density(c: _Candidate) -> float:
        value = 0.1 + 0.9 * (c.score - low) / span
        return value / max(1, c.tokens)

    return sorted(candidates, key=lambda c: (-density(c), c.index))


def _ordered(kept: list[_Candidate], order: Order) -> list[_Candidate]:
    by_score = sorted(kept, key=lambda c: (-c.score, c.index))
    if order == "score":
        return by_score
    if order == "source":
        return sorted(
            kept, key=lambda c: c.chunk.position if c.chunk.position is not None else c.index
        )
    # "edges": best first, second best last, third second, ... weakest in the middle
    front: list[_Candidate] = []
    back: list[_Candidate] = []
    for rank, c in enumerate(by_score):
        (front if rank % 2 == 0 else back).append(c)
    return front + back[::-1]


def _saved(model: str, tokens: int) -> Decimal | None:
    if tokens <= 0:
        return Decimal(0)
    from tokenomy.pricing._book import get_price_book

    try:
        price = get_price_book().lookup(model)
    except TokenomyError:  # a malformed TOKENOMY_PRICES file: the saving is unknown
        return None
    return None if price is None else price.input * tokens
