"""Retrieval evaluation: the budgeter against naive top-k at the same token budget.

Reads SQuAD-style files (``squad-dev-questions.jsonl``: ``{id, article, question, answers,
gold_chunk}``; ``squad-dev-chunks.jsonl``: ``{id, article, text}``). For each question its
article's chunks are ranked by a retriever (BM25, or MiniLM cosine similarity), then given to
the budgeter and to naive top-k (the best-ranked chunks while they fit, whole). The gold chunk
counts as retained when it is sent and the text sent from it still holds an answer (a trimmed
or compressed chunk that lost the answer does not count). Used by ``tokenomy rag evaluate``
and ``benchmarks/bench_rag.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tokenomy.exceptions import ConfigurationError
from tokenomy.rag._budget import ChunkBudgeter
from tokenomy.rag._chunk import Chunk
from tokenomy.rag._embed import Embedder, unit
from tokenomy.rag._lexical import bm25_scores

__all__ = [
    "Compress",
    "Question",
    "Ranked",
    "Retriever",
    "Tally",
    "budgeter_for",
    "caching",
    "evaluate",
    "load_chunks",
    "load_questions",
    "naive_top_k",
    "rank",
]

Retriever = Literal["bm25", "minilm"]
Compress = Literal["lexical", "embedding", "hybrid"]


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    article: str
    question: str
    answers: tuple[str, ...]
    gold_chunk: str


@dataclass(frozen=True, slots=True)
class Ranked:
    """One question's candidates: chunks with the retriever's scores, best first."""

    question: Question
    chunks: tuple[Chunk, ...]


@dataclass(slots=True)
class Tally:
    """Running totals of one method over the questions."""

    questions: int = 0
    retained: int = 0
    gold_sent: int = 0
    tokens_sent: int = 0
    tokens_retrieved: int = 0
    chunks_sent: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def add(
        self, *, retained: bool, gold_sent: bool, tokens: int, retrieved: int, chunks: int
    ) -> None:
        self.questions += 1
        self.retained += retained
        self.gold_sent += gold_sent
        self.tokens_sent += tokens
        self.tokens_retrieved += retrieved
        self.chunks_sent += chunks

    def summary(self) -> dict[str, Any]:
        n = self.questions or 1
        out: dict[str, Any] = {
            "gold_retention": round(self.retained / n, 4),
            "gold_chunk_sent": round(self.gold_sent / n, 4),
            "tokens_sent_mean": round(self.tokens_sent / n, 1),
            "tokens_sent_total": self.tokens_sent,
            "chunks_sent_mean": round(self.chunks_sent / n, 2),
        }
        if self.dropped:
            out["dropped"] = dict(self.dropped)
        return out


def _read_jsonl(path: str | Path) -> Iterable[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigurationError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ConfigurationError(f"{path}:{number}: expected a JSON object per line")
            yield row


def load_questions(path: str | Path, *, limit: int | None = None) -> list[Question]:
    """The questions of a ``squad-dev-questions.jsonl``-style file (the first ``limit``)."""
    out: list[Question] = []
    for row in _read_jsonl(path):
        try:
            out.append(
                Question(
                    str(row["id"]),
                    str(row["article"]),
                    str(row["question"]),
                    tuple(str(a) for a in row.get("answers") or ()),
                    str(row["gold_chunk"]),
                )
            )
        except KeyError as exc:
            raise ConfigurationError(
                f"{path}: a question row lacks {exc.args[0]!r} (needs id, article, question, "
                "answers, gold_chunk)"
            ) from exc
        if limit is not None and len(out) >= limit:
            break
    return out


def load_chunks(path: str | Path) -> dict[str, list[tuple[str, str]]]:
    """Each article's chunks as ``(id, text)`` in file order (their source order)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for row in _read_jsonl(path):
        try:
            out.setdefault(str(row["article"]), []).append((str(row["id"]), str(row["text"])))
        except KeyError as exc:
            raise ConfigurationError(
                f"{path}: a chunk row lacks {exc.args[0]!r} (needs id, article, text)"
            ) from exc
    return out


def caching(embedder: Embedder | None = None) -> Embedder:
    """``embedder`` (default ``MiniLMEmbedder(threads=1)``) embedding each distinct text once
    (chunks and their sentences recur across questions): for sentence scoring when the
    retriever is BM25."""
    if embedder is None:
        from tokenomy.rag._embed import MiniLMEmbedder

        embedder = MiniLMEmbedder(threads=1)
    return embedder if isinstance(embedder, _Cached) else _Cached(embedder)


class _Cached(Embedder):
    # embeds each distinct text once (chunks and their sentences recur across questions)
    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.vectors: dict[str, tuple[float, ...]] = {}

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            for t, v in zip(missing, self.inner.embed(missing), strict=True):
                self.vectors[t] = unit(v)
        return [list(self.vectors[t]) for t in texts]


def rank(
    questions: Sequence[Question],
    chunks: dict[str, list[tuple[str, str]]],
    retriever: Retriever,
    *,
    embedder: Embedder | None = None,
) -> tuple[list[Ranked], Embedder | None]:
    """Each question's article chunks scored by ``retriever``, best first; with ``minilm``
    also the (caching) embedder used, for embedding-scored compression."""
    cached: Embedder | None = None
    if retriever == "minilm":
        cached = caching(embedder)
        texts = [t for q in questions for _, t in chunks.get(q.article, ())]
        cached.embed(texts)
        cached.embed([q.question for q in questions])
    elif retriever != "bm25":
        raise ConfigurationError(f"retriever must be 'bm25' or 'minilm', got {retriever!r}")
    out: list[Ranked] = []
    for q in questions:
        article = chunks.get(q.article, [])
        texts = [t for _, t in article]
        vectors: list[list[float]] | None = None
        if cached is not None:
            qv = cached.embed([q.question])[0]
            vectors = cached.embed(texts)
            scores = [sum(a * b for a, b in zip(qv, v, strict=True)) for v in vectors]
        else:
            scores = bm25_scores(q.question, texts)
        items = [
            Chunk(
                text=text,
                score=scores[i],
                id=cid,
                position=i,
                embedding=None if vectors is None else vectors[i],
            )
            for i, (cid, text) in enumerate(article)
        ]
        items.sort(key=lambda c: (-(c.score or 0.0), c.position or 0))
        out.append(Ranked(q, tuple(items)))
    return out, cached


def naive_top_k(chunks: Sequence[Chunk], budget: int, count: Callable[[str], int]) -> list[Chunk]:
    """The best-ranked chunks, whole, while they fit ``budget`` (stops at the first that
    does not)."""
    out: list[Chunk] = []
    used = 0
    for c in chunks:
        n = count(c.text)
        if used + n > budget:
            break
        out.append(c)
        used += n
    return out


def budgeter_for(
    retriever: Retriever,
    budget: int,
    *,
    model: str,
    embedder: Embedder | None = None,
    compress: Compress | None = None,
) -> ChunkBudgeter:
    """The budgeter configuration the evaluation uses: query-aware compression, best evidence
    first; ``compress`` defaults to lexical for BM25 (no model) and hybrid (MiniLM cosine plus
    BM25) for MiniLM (``"embedding"`` and ``"hybrid"`` need ``embedder``)."""
    if compress is None:
        compress = "hybrid" if retriever == "minilm" and embedder is not None else "lexical"
    return ChunkBudgeter(
        model=model,
        budget=budget,
        compress=compress,
        embedder=embedder,
        note=False,
    )


def _holds_answer(text: str, answers: Sequence[str]) -> bool:
    low = text.lower()
    return not answers or any(a.lower() in low for a in answers)


def evaluate(
    ranked: Sequence[Ranked],
    budget: int,
    *,
    budgeter: ChunkBudgeter,
) -> dict[str, Any]:
    """Gold retention and tokens sent of the budgeter and of naive top-k at ``budget``."""
    count = budgeter._counter()
    ours, naive = Tally(), Tally()
    for item in ranked:
        q = item.question
        retrieved = sum(count(c.text) for c in item.chunks)
        chosen = budgeter.select(q.question, item.chunks)
        sent = {k.chunk.id: k.text for k in chosen.chunks}
        gold_text = sent.get(q.gold_chunk)
        ours.add(
            retained=gold_text is not None and _holds_answer(gold_text, q.answers),
            gold_sent=gold_text is not None,
            tokens=chosen.report.tokens_sent,
            retrieved=retrieved,
            chunks=len(chosen.chunks),
        )
        for reason, n in chosen.report.dropped.items():
            if n:
                ours.dropped[reason] = ours.dropped.get(reason, 0) + n
        top = naive_top_k(item.chunks, budget, count)
        hit = any(c.id == q.gold_chunk for c in top)
        naive.add(
            retained=hit,
            gold_sent=hit,
            tokens=sum(count(c.text) for c in top),
            retrieved=retrieved,
            chunks=len(top),
        )
    return {
        "budget": budget,
        "questions": ours.questions,
        "tokens_retrieved_mean": round(ours.tokens_retrieved / (ours.questions or 1), 1),
        "budgeter": ours.summary(),
        "naive_top_k": naive.summary(),
    }
