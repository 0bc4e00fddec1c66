"""tokenomy: make LLM applications cheaper and accountable.

One flat public namespace, imported lazily: ``import tokenomy`` loads nothing heavy (no litellm,
LangChain, LlamaIndex, tiktoken, pydantic models or price data) and has no side effects. Each name
is imported from its private module on first access.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from tokenomy._response import ResponseCost, cost_of_response
    from tokenomy._run_tree import RunNode, RunTree, with_run_name
    from tokenomy._tracking import (
        Tracker,
        current_tags,
        current_tracker,
        current_trackers,
        flush,
        record_call,
        run_in_context,
        store_call,
        track,
    )
    from tokenomy._warn_once import WarnOnce, warn_once
    from tokenomy.exceptions import (
        ConfigurationError,
        EstimatedUsageWarning,
        LedgerError,
        LedgerFileError,
        MissingDependencyError,
        PriceFileError,
        PricingError,
        TokenCountError,
        TokenomyDeprecationWarning,
        TokenomyError,
        TokenomyWarning,
        UnknownModelPriceError,
        UnknownModelPriceWarning,
        UnpricedCallError,
        UsageParseError,
    )
    from tokenomy.ledger import (
        CacheInfo,
        CostRecord,
        GroupTotals,
        LedgerStore,
        MemoryLedger,
        PostgresLedger,
        RecordFilter,
        SQLiteLedger,
        default_ledger,
        open_ledger,
        set_default_ledger,
    )
    from tokenomy.ledger._stored import StoredCall
    from tokenomy.pipeline import (
        GENERATION_PARAMS,
        AsyncCallNext,
        CallNext,
        MaxTokens,
        ModelRequest,
        ModelResponse,
        Pipeline,
        Policy,
        RunInfo,
        StreamChunk,
        guard_async_iter,
        guard_iter,
        in_pipeline_call,
    )
    from tokenomy.pricing import Cost, ModelPrice, PriceBook, PriceSnapshot
    from tokenomy.rag import (
        BudgetedChunks,
        Chunk,
        ChunkBudget,
        ChunkBudgeter,
        Embedder,
        KeptChunk,
        MiniLMEmbedder,
        RagReport,
    )
    from tokenomy.report import Report
    from tokenomy.usage import Usage, parse_response

_LAZY: dict[str, str] = {
    "AsyncCallNext": "tokenomy.pipeline",
    "BudgetedChunks": "tokenomy.rag",
    "CacheInfo": "tokenomy.ledger",
    "CallNext": "tokenomy.pipeline",
    "Chunk": "tokenomy.rag",
    "ChunkBudget": "tokenomy.rag",
    "ChunkBudgeter": "tokenomy.rag",
    "ConfigurationError": "tokenomy.exceptions",
    "Cost": "tokenomy.pricing",
    "CostRecord": "tokenomy.ledger",
    "Embedder": "tokenomy.rag",
    "EstimatedUsageWarning": "tokenomy.exceptions",
    "GENERATION_PARAMS": "tokenomy.pipeline",
    "GroupTotals": "tokenomy.ledger",
    "KeptChunk": "tokenomy.rag",
    "LedgerError": "tokenomy.exceptions",
    "LedgerFileError": "tokenomy.exceptions",
    "LedgerStore": "tokenomy.ledger",
    "MaxTokens": "tokenomy.pipeline",
    "MemoryLedger": "tokenomy.ledger",
    "MiniLMEmbedder": "tokenomy.rag",
    "MissingDependencyError": "tokenomy.exceptions",
    "ModelPrice": "tokenomy.pricing",
    "ModelRequest": "tokenomy.pipeline",
    "ModelResponse": "tokenomy.pipeline",
    "Pipeline": "tokenomy.pipeline",
    "Policy": "tokenomy.pipeline",
    "PostgresLedger": "tokenomy.ledger",
    "PriceBook": "tokenomy.pricing",
    "PriceFileError": "tokenomy.exceptions",
    "PriceSnapshot": "tokenomy.pricing",
    "PricingError": "tokenomy.exceptions",
    "RagReport": "tokenomy.rag",
    "RecordFilter": "tokenomy.ledger",
    "Report": "tokenomy.report",
    "ResponseCost": "tokenomy._response",
    "RunInfo": "tokenomy.pipeline",
    "RunNode": "tokenomy._run_tree",
    "RunTree": "tokenomy._run_tree",
    "SQLiteLedger": "tokenomy.ledger",
    "StoredCall": "tokenomy.ledger._stored",
    "StreamChunk": "tokenomy.pipeline",
    "TokenCountError": "tokenomy.exceptions",
    "TokenomyDeprecationWarning": "tokenomy.exceptions",
    "TokenomyError": "tokenomy.exceptions",
    "TokenomyWarning": "tokenomy.exceptions",
    "Tracker": "tokenomy._tracking",
    "UnknownModelPriceError": "tokenomy.exceptions",
    "UnknownModelPriceWarning": "tokenomy.exceptions",
    "UnpricedCallError": "tokenomy.exceptions",
    "Usage": "tokenomy.usage",
    "UsageParseError": "tokenomy.exceptions",
    "WarnOnce": "tokenomy._warn_once",
    "cost_of_response": "tokenomy._response",
    "current_tags": "tokenomy._tracking",
    "current_tracker": "tokenomy._tracking",
    "current_trackers": "tokenomy._tracking",
    "default_ledger": "tokenomy.ledger",
    "flush": "tokenomy._tracking",
    "guard_async_iter": "tokenomy.pipeline",
    "guard_iter": "tokenomy.pipeline",
    "in_pipeline_call": "tokenomy.pipeline",
    "open_ledger": "tokenomy.ledger",
    "parse_response": "tokenomy.usage",
    "record_call": "tokenomy._tracking",
    "run_in_context": "tokenomy._tracking",
    "set_default_ledger": "tokenomy.ledger",
    "store_call": "tokenomy._tracking",
    "track": "tokenomy._tracking",
    "warn_once": "tokenomy._warn_once",
    "with_run_name": "tokenomy._run_tree",
}

__all__ = [  # noqa: RUF022 - plain sorted() order, pinned by tests/core/test_core_namespace.py
    "AsyncCallNext",
    "BudgetedChunks",
    "CacheInfo",
    "CallNext",
    "Chunk",
    "ChunkBudget",
    "ChunkBudgeter",
    "ConfigurationError",
    "Cost",
    "CostRecord",
    "Embedder",
    "EstimatedUsageWarning",
    "GENERATION_PARAMS",
    "GroupTotals",
    "KeptChunk",
    "LedgerError",
    "LedgerFileError",
    "LedgerStore",
    "MaxTokens",
    "MemoryLedger",
    "MiniLMEmbedder",
    "MissingDependencyError",
    "ModelPrice",
    "ModelRequest",
    "ModelResponse",
    "Pipeline",
    "Policy",
    "PostgresLedger",
    "PriceBook",
    "PriceFileError",
    "PriceSnapshot",
    "PricingError",
    "RagReport",
    "RecordFilter",
    "Report",
    "ResponseCost",
    "RunInfo",
    "RunNode",
    "RunTree",
    "SQLiteLedger",
    "StoredCall",
    "StreamChunk",
    "TokenCountError",
    "TokenomyDeprecationWarning",
    "TokenomyError",
    "TokenomyWarning",
    "Tracker",
    "UnknownModelPriceError",
    "UnknownModelPriceWarning",
    "UnpricedCallError",
    "Usage",
    "UsageParseError",
    "WarnOnce",
    "__version__",
    "cost_of_response",
    "current_tags",
    "current_tracker",
    "current_trackers",
    "default_ledger",
    "flush",
    "guard_async_iter",
    "guard_iter",
    "in_pipeline_call",
    "open_ledger",
    "parse_response",
    "record_call",
    "run_in_context",
    "set_default_ledger",
    "store_call",
    "track",
    "warn_once",
    "with_run_name",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenomy' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
