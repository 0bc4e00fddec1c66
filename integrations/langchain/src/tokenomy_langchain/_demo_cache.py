"""The response-cache part of the LangChain demo half: a help-desk bot whose repeated and
reworded questions are answered by tokenomy's cache ($0, the saving in the report).

The lexical fallback embedder keeps the demo fast (no model to load); a real deployment uses
the offline MiniLM (``tokenomy[embeddings]``) or its own ``Embeddings`` through
``LangChainEmbedder``. Tenants (tag ``tenant``) never share answers.
"""

from __future__ import annotations

from langchain_openai import ChatOpenAI

import tokenomy_langchain
from tokenomy.cache import LexicalFallbackEmbedder, ResponseCache

__all__ = ["run_cache_demo"]

QUESTIONS = [
    ("acme", "ivy", "How do I restore a deleted folder?", False),
    ("acme", "jack", "How do I restore a deleted folder?", False),  # exact repeat
    ("acme", "kate", "how do I restore a deleted folder", True),  # reworded, streamed
    ("globex", "liam", "How do I restore a deleted folder?", False),  # another tenant: asked
]


def run_cache_demo(sim_url: str) -> None:
    """Four questions through a ``TokenomyChatModel`` with a namespaced ``ResponseCache``."""
    cache = ResponseCache(
        embedder=LexicalFallbackEmbedder(), threshold=0.85, namespace_tags=("tenant",)
    )
    bot = tokenomy_langchain.TokenomyChatModel(
        ChatOpenAI(model="gpt-4o-mini", base_url=sim_url, api_key="sk-demo-offline",  # type: ignore[arg-type]
                   stream_usage=True),
        policies=[cache],
    )
    for tenant, user, question, streamed in QUESTIONS:
        with tokenomy_langchain.track(tenant=tenant, user=user, feature="help-desk-cache"):
            if streamed:
                "".join(str(c.content) for c in bot.stream(question))
            else:
                bot.invoke(question)
