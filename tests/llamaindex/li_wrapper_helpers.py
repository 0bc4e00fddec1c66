"""Shared set-up of the TokenomyLLM tests: the real OpenAI and Anthropic LlamaIndex LLMs on the
provider simulator, and the check that the ledger equals what the simulator served."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.anthropic import Anthropic
from llama_index.llms.openai import OpenAI

import tokenomy_llamaindex as tli
from tokenomy import CostRecord, MemoryLedger, Policy
from tokenomy.testing import ProviderSimulator

API_KEY = "sk-simulator-test"
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-sonnet-4-5"


def openai_llm(sim: ProviderSimulator, **kwargs: Any) -> OpenAI:
    """gpt-4o-mini on the simulator, asking for usage at the end of streams."""
    return tli.include_stream_usage(
        OpenAI(
            model=OPENAI_MODEL,
            api_base=sim.openai_base_url,
            api_key=API_KEY,
            max_retries=0,
            **kwargs,
        )
    )


def anthropic_llm(sim: ProviderSimulator, **kwargs: Any) -> Anthropic:
    """A Claude model on the simulator's Anthropic endpoint."""
    return Anthropic(
        model=ANTHROPIC_MODEL,
        base_url=sim.anthropic_base_url,
        api_key=API_KEY,
        max_retries=0,
        **kwargs,
    )


def embed_model(sim: ProviderSimulator) -> OpenAIEmbedding:
    """text-embedding-3-small on the simulator."""
    return OpenAIEmbedding(
        model="text-embedding-3-small",
        api_base=sim.openai_base_url,
        api_key=API_KEY,
        max_retries=0,
    )


def wrap(llm: Any, ledger: MemoryLedger, policies: Sequence[Policy] = ()) -> tli.TokenomyLLM:
    """``llm`` behind a TokenomyLLM recording into ``ledger``."""
    return tli.TokenomyLLM(llm, policies=list(policies), ledger=ledger)


def assert_ledger_is_simulator(records: list[CostRecord], sim: ProviderSimulator) -> None:
    """One record per call the simulator served, in order: same model, same tokens, the
    provider's (not estimated) usage for chat calls, streamed as served."""
    calls = sim.calls
    assert len(records) == len(calls), (records, calls)
    for record, call in zip(records, calls, strict=True):
        assert record.model == call.model, (record, call)
        assert record.usage.counts() == call.usage.counts(), (record, call)
        if call.api == "embeddings":
            assert record.kind == "embedding"
        else:
            assert not record.estimated, record
            assert record.streamed is call.streamed, (record, call)
            assert record.framework == "llamaindex"
