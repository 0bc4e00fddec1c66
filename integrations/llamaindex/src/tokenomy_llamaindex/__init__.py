"""tokenomy for LlamaIndex: what every LLM and embedding call cost, per run, feature, user.

Quick start::

    import tokenomy_llamaindex as tli

    with tli.track(feature="search", user="u42") as t:
        query_engine.query("...")
    print(t.cost, t.report())

``track()`` attaches the handlers to LlamaIndex's root dispatcher on first use and records
the calls made inside its block; ``instrument()`` records every call of the process;
``TokenomyCallbackHandler`` does the same through the legacy ``CallbackManager``.

Conversation memory: ``TokenomyMemoryBuffer`` / ``TokenomySummaryMemoryBuffer`` drop in for
``ChatMemoryBuffer`` / ``ChatSummaryMemoryBuffer`` (a token-budget window over any
``chat_store``, tool calls counted and kept whole, evicted turns summarised by ``llm`` with each
summary call recorded), over a :class:`tokenomy.ConversationMemory`.

To act on calls, not just watch them, wrap the LLM: ``TokenomyLLM(llm, policies=[...])`` is an
LLM (usable as ``Settings.llm``, in engines and agents, with tool calling and structured
output) that runs every call through ``tokenomy.Pipeline`` and records each provider call
once, even with the handlers attached; it adds no LlamaIndex spans or events of its own (the
wrapped LLM's are seen as without it)::

    Settings.llm = tli.TokenomyLLM(OpenAI(model="gpt-4o-mini"), policies=[tokenomy.MaxTokens(400)])

To send less retrieved context, budget it: ``index.as_query_engine(node_postprocessors=[
tli.TokenomyNodePostprocessor(model="gpt-4o-mini", budget=512)])`` keeps what answers the
query within 512 tokens (``tokenomy.ChunkBudgeter``); the per-query report (tokens retrieved
and sent, chunks dropped and why, $ saved) becomes ``rag_*`` tags of the LLM call's record.

What a record holds:

* one record per provider call, for ``complete``/``chat``/``stream_*`` and their async
  variants, made directly or by query engines, chat engines, agents and workflows; when
  LlamaIndex methods delegate to each other (``chat`` on a completion-only LLM, a
  ``StructuredLLM``...) only the innermost call is recorded, and ``kind``/``name`` are its
  (``"completion"``, ``"MockLLM.complete"``);
* tokens from the provider's response (``raw``, else ``additional_kwargs``), cache reads and
  reasoning included; streams use the final chunk, so OpenAI LLMs need
  ``include_stream_usage(llm)``; without reported usage the tokens are estimated with
  ``tokenomy.tokens`` and the record is flagged ``estimated`` (an ``EstimatedUsageWarning``
  says so once per LLM class);
* ``model`` as the provider reports it (``raw.model``), else the LLM's metadata, else
  ``"unknown"`` (unpriced, cost ``None``); ``latency_ms``; ``ttft_ms`` for streams;
* ``run_id`` = the LLM call's span id, ``parent_run_id`` = the enclosing span,
  ``root_run_id`` = the root span (``RetrieverQueryEngine.query-<uuid>``), whose name is tag
  ``run_name`` unless one is set; a streaming query engine starts its LLM call when the answer
  is read, after the query span closed, so that call is a run of its own;
* embeddings: one record per batch (``kind="embedding"``), tokens counted locally
  (cl100k_base for ``text-embedding-*``, the encoding OpenAI counts them in) because
  ``EmbeddingEndEvent`` carries no usage, so flagged ``estimated``; a hit in an
  ``embeddings_cache`` is still counted (LlamaIndex does not say which batches hit);
* a failed call is recorded with ``error`` = the exception's class name: zero tokens when
  nothing came back, the pieces received (estimated) when a stream broke or was closed early.

Every name is imported on first use (module ``__getattr__``): ``import tokenomy_llamaindex``
loads nothing else; any of its names loads ``llama_index.core`` (whose package ``__init__``
imports most of LlamaIndex, seconds here, and is needed by every handler and the wrapper).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy_llamaindex._attach import (
        include_stream_usage,
        instrument,
        track,
        uninstrument,
    )
    from tokenomy_llamaindex._batch import batch_chat, submit_batch
    from tokenomy_llamaindex._cache import LlamaIndexEmbedder
    from tokenomy_llamaindex._callbacks import TokenomyCallbackHandler
    from tokenomy_llamaindex._cascade import CascadeLLM
    from tokenomy_llamaindex._events import TokenomyEventHandler
    from tokenomy_llamaindex._memory import (
        LLMSummarizer,
        TokenomyMemoryBuffer,
        TokenomySummaryMemoryBuffer,
    )
    from tokenomy_llamaindex._rag import TokenomyNodePostprocessor
    from tokenomy_llamaindex._spans import TokenomySpanHandler
    from tokenomy_llamaindex._wrapper import TokenomyLLM

__version__ = "0.1.0"
__all__ = [
    "CascadeLLM",
    "LLMSummarizer",
    "LlamaIndexEmbedder",
    "TokenomyCallbackHandler",
    "TokenomyEventHandler",
    "TokenomyLLM",
    "TokenomyMemoryBuffer",
    "TokenomyNodePostprocessor",
    "TokenomySpanHandler",
    "TokenomySummaryMemoryBuffer",
    "__version__",
    "batch_chat",
    "include_stream_usage",
    "instrument",
    "submit_batch",
    "track",
    "uninstrument",
]

_LAZY = {
    "batch_chat": "tokenomy_llamaindex._batch",
    "submit_batch": "tokenomy_llamaindex._batch",
    "CascadeLLM": "tokenomy_llamaindex._cascade",
    "LLMSummarizer": "tokenomy_llamaindex._memory",
    "LlamaIndexEmbedder": "tokenomy_llamaindex._cache",
    "TokenomyCallbackHandler": "tokenomy_llamaindex._callbacks",
    "TokenomyEventHandler": "tokenomy_llamaindex._events",
    "TokenomyLLM": "tokenomy_llamaindex._wrapper",
    "TokenomyMemoryBuffer": "tokenomy_llamaindex._memory",
    "TokenomyNodePostprocessor": "tokenomy_llamaindex._rag",
    "TokenomySpanHandler": "tokenomy_llamaindex._spans",
    "TokenomySummaryMemoryBuffer": "tokenomy_llamaindex._memory",
    "include_stream_usage": "tokenomy_llamaindex._attach",
    "instrument": "tokenomy_llamaindex._attach",
    "track": "tokenomy_llamaindex._attach",
    "uninstrument": "tokenomy_llamaindex._attach",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenomy_llamaindex' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
