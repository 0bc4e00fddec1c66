"""LlamaIndex through provider batch APIs against the simulator: batch_chat over a real
llama-index OpenAI / Anthropic LLM's settings, and TokenomyLLM deferring tagged calls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic as anthropic_sdk
import openai
from li_wrapper_helpers import anthropic_llm, openai_llm
from llama_index.core.base.llms.types import ChatMessage, ChatResponse

import tokenomy_llamaindex as tli
from tokenomy import BatchRunner, Deferral, MemoryLedger, track
from tokenomy.batch import AnthropicBatchAPI, OpenAIBatchAPI
from tokenomy.testing import FakeClock, ProviderSimulator, echo


def test_batch_chat_openai_and_anthropic(tmp_path: Path) -> None:
    """batch_chat answers each conversation in order with a ChatResponse; every item is a
    batch-priced record with framework llamaindex; a wrapped TokenomyLLM works the same."""
    clock = FakeClock()
    with ProviderSimulator(batch_delay=30, clock=clock, answer=echo()) as sim:
        ledger = MemoryLedger()
        oai = OpenAIBatchAPI(
            openai.OpenAI(base_url=sim.openai_base_url, api_key="t", max_retries=0)
        )
        runner = BatchRunner(oai, store=tmp_path / "o.sqlite", ledger=ledger, sleep=clock.sleep)
        convs = [
            "alpha",
            [ChatMessage(role="system", content="brief"), ChatMessage(role="user", content="beta")],
        ]
        out = tli.batch_chat(openai_llm(sim), convs, runner)
        assert all(isinstance(r, ChatResponse) for r in out)
        assert [r.message.content for r in out] == ["alpha", "beta"]  # type: ignore[union-attr]
        claude = AnthropicBatchAPI(
            anthropic_sdk.Anthropic(base_url=sim.anthropic_base_url, api_key="t")
        )
        runner2 = BatchRunner(claude, store=tmp_path / "a.sqlite", ledger=ledger, sleep=clock.sleep)
        wrapped = tli.TokenomyLLM(anthropic_llm(sim))
        out2 = tli.batch_chat(wrapped, ["gamma"], runner2)
        assert out2[0].message.content == "gamma"  # type: ignore[union-attr]
        records = ledger.query()
        assert len(records) == 3
        assert {(r.service_tier, r.framework) for r in records} == {("batch", "llamaindex")}


def test_tokenomy_llm_defers_tagged_calls(tmp_path: Path) -> None:
    """Four threads chat through TokenomyLLM(llm, policies=[Deferral(max_items=4)]) inside a
    track(deferrable=true) block: one provider batch answers all four."""
    with ProviderSimulator(answer=echo()) as sim:
        ledger = MemoryLedger()
        oai = OpenAIBatchAPI(
            openai.OpenAI(base_url=sim.openai_base_url, api_key="t", max_retries=0)
        )
        runner = BatchRunner(oai, store=tmp_path / "d.sqlite", ledger=ledger, poll_interval=0.01)
        deferral = Deferral(runner, max_items=4, max_age=30)
        llm = tli.TokenomyLLM(openai_llm(sim), policies=[deferral], ledger=ledger)

        def ask(i: int) -> str:
            with track(deferrable="true", ledger=ledger):
                return str(llm.chat([ChatMessage(role="user", content=f"q{i}")]).message.content)

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(ask, range(4)))
        assert answers == [f"q{i}" for i in range(4)]
        assert len(sim.batch_ids) == 1
        assert [r.service_tier for r in ledger.query()] == ["batch"] * 4
