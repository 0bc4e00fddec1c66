"""tokenomy for LangChain: what every chat-model and LLM call in a chain costs.

* :class:`TokenomyCallbackHandler`: pass it in ``callbacks=``; one priced
  :class:`tokenomy.CostRecord` per model run, with LangChain's run tree and tags.
* :func:`track`: a context manager that attaches the handler to every LangChain call in the
  block, without passing callbacks, and yields a :class:`tokenomy.Tracker` with the totals.
* :class:`TokenomyChatModel`: wraps any chat model (``TokenomyChatModel(ChatOpenAI(...),
  policies=[tokenomy.MaxTokens(400)])``) and runs tokenomy policies around each of its calls
  (every call style, tools, structured output, streams); the wrapper records each call once.
* :class:`CascadeChatModel`: several chat models (cheap → strong) as one; each answer passes a
  quality gate or the next model is asked (:class:`tokenomy.routing.Cascade`).
* :class:`TokenomyEmbeddings`: wraps any LangChain embeddings, whose calls fire no callbacks,
  so that each call is recorded (``kind="embedding"``).
* :class:`TokenomyChatHistory`: a ``BaseChatMessageHistory`` over any history store that
  returns the window (and running summary) of a :class:`tokenomy.ConversationMemory`, for
  ``RunnableWithMessageHistory``; :class:`ChatModelSummarizer` summarises with a chat model.
* :class:`TokenomyContextCompressor` (a ``BaseDocumentCompressor``) and
  :class:`TokenomyBudgetRetriever` (wraps a retriever): fit retrieved documents into a token
  budget with :class:`tokenomy.ChunkBudgeter`; the per-query report goes into the records of
  the model calls that follow in the ``track()`` block.
* :class:`TokenomyMiddleware`: a ``langchain.agents.create_agent`` middleware running the
  same policies around the agent's model calls (needs ``tokenomy-langchain[agents]``).
* :class:`TokenomyLLMCache`: tokenomy's exact + semantic cache (namespaced, guarded) as a
  LangChain ``BaseCache`` for ``set_llm_cache``; :class:`LangChainEmbedder` lets the cache
  (or the RAG budgeter) embed with any LangChain ``Embeddings``.
* :func:`batch_invoke` / :func:`submit_batch`: a chat model over many inputs through the
  provider's batch API (:class:`tokenomy.BatchRunner`), at batch prices.
* :func:`with_resilience`: ``tokenomy.Retry``'s rules around any runnable (a chain), in
  place of ``with_retry``.

Every name is imported on first use (module ``__getattr__``): ``import tokenomy_langchain``
loads nothing else; the handler loads ``langchain_core.callbacks``/``outputs``; ``track``
and ``current_handler`` also load ``langchain_core.tracers.context`` (and with it
``langsmith.client``, about a second here); the wrappers load their own modules, and
``TokenomyMiddleware`` alone imports the ``langchain`` (agents) package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy_langchain._batch import batch_invoke, batch_requests, submit_batch
    from tokenomy_langchain._cache import LangChainEmbedder, TokenomyLLMCache
    from tokenomy_langchain._cascade import CascadeChatModel
    from tokenomy_langchain._chat_model import TokenomyChatModel
    from tokenomy_langchain._embeddings import TokenomyEmbeddings
    from tokenomy_langchain._handler import TokenomyCallbackHandler
    from tokenomy_langchain._memory import ChatModelSummarizer, TokenomyChatHistory
    from tokenomy_langchain._middleware import TokenomyMiddleware
    from tokenomy_langchain._rag import TokenomyBudgetRetriever, TokenomyContextCompressor
    from tokenomy_langchain._resilience import with_resilience
    from tokenomy_langchain._track import current_handler, track

__version__ = "0.1.0"
__all__ = [
    "CascadeChatModel",
    "ChatModelSummarizer",
    "LangChainEmbedder",
    "TokenomyBudgetRetriever",
    "TokenomyCallbackHandler",
    "TokenomyChatHistory",
    "TokenomyChatModel",
    "TokenomyContextCompressor",
    "TokenomyEmbeddings",
    "TokenomyLLMCache",
    "TokenomyMiddleware",
    "__version__",
    "batch_invoke",
    "batch_requests",
    "current_handler",
    "submit_batch",
    "track",
    "with_resilience",
]

_LAZY = {
    "batch_invoke": "tokenomy_langchain._batch",
    "batch_requests": "tokenomy_langchain._batch",
    "submit_batch": "tokenomy_langchain._batch",
    "CascadeChatModel": "tokenomy_langchain._cascade",
    "ChatModelSummarizer": "tokenomy_langchain._memory",
    "LangChainEmbedder": "tokenomy_langchain._cache",
    "TokenomyBudgetRetriever": "tokenomy_langchain._rag",
    "TokenomyCallbackHandler": "tokenomy_langchain._handler",
    "TokenomyChatHistory": "tokenomy_langchain._memory",
    "TokenomyChatModel": "tokenomy_langchain._chat_model",
    "TokenomyContextCompressor": "tokenomy_langchain._rag",
    "TokenomyEmbeddings": "tokenomy_langchain._embeddings",
    "TokenomyLLMCache": "tokenomy_langchain._cache",
    "TokenomyMiddleware": "tokenomy_langchain._middleware",
    "current_handler": "tokenomy_langchain._track",
    "track": "tokenomy_langchain._track",
    "with_resilience": "tokenomy_langchain._resilience",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenomy_langchain' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
