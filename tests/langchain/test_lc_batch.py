"""LangChain through provider batch APIs against the simulator: batch_invoke over real
ChatOpenAI / ChatAnthropic settings, and a chain's model step deferred by tokenomy.Deferral
under chain.batch()."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic as anthropic_sdk
import openai
import pytest
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from lc_sim import anthropic, openai_chat

import tokenomy_langchain
from tokenomy import BatchRunner, Deferral, MemoryLedger
from tokenomy.batch import AnthropicBatchAPI, DeferredItemError, OpenAIBatchAPI
from tokenomy.testing import FakeClock, ProviderSimulator, echo


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bsim(clock: FakeClock) -> Iterator[ProviderSimulator]:
    with ProviderSimulator(batch_delay=30, clock=clock, answer=echo()) as sim:
        yield sim


def test_batch_invoke_openai_and_anthropic(
    bsim: ProviderSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """batch_invoke answers each input in order with an AIMessage, the model name and
    max_tokens taken from the LangChain model, every item recorded at batch rates with the
    framework; a failing item is returned as DeferredItemError with return_exceptions."""
    ledger = MemoryLedger()
    oai = OpenAIBatchAPI(openai.OpenAI(base_url=bsim.openai_base_url, api_key="t", max_retries=0))
    runner = BatchRunner(oai, store=tmp_path / "o.sqlite", ledger=ledger, sleep=clock.sleep)
    model = openai_chat(bsim, max_tokens=50)
    inputs = ["alpha", [SystemMessage("be brief"), ("human", "beta")]]
    answers = tokenomy_langchain.batch_invoke(model, inputs, runner, tags={"feature": "lc"})
    assert all(isinstance(a, AIMessage) for a in answers)
    assert [a.content for a in answers] == ["alpha", "beta"]  # type: ignore[union-attr]
    body = bsim.calls[0].request.body
    assert body["model"] == "gpt-4o-mini" and body["max_tokens"] == 50
    records = ledger.query()
    assert {(r.service_tier, r.framework, r.tags["feature"]) for r in records} == {
        ("batch", "langchain", "lc")
    }
    claude = AnthropicBatchAPI(
        anthropic_sdk.Anthropic(base_url=bsim.anthropic_base_url, api_key="t")
    )
    bsim.fail_batch_items(custom_ids=["i1"], times=None)
    runner2 = BatchRunner(claude, store=tmp_path / "a.sqlite", ledger=ledger, sleep=clock.sleep)
    out = tokenomy_langchain.batch_invoke(
        anthropic(bsim), ["gamma", "delta"], runner2, return_exceptions=True
    )
    assert out[0].content == "gamma"  # type: ignore[union-attr]
    assert isinstance(out[1], DeferredItemError)
    with pytest.raises(DeferredItemError):
        tokenomy_langchain.batch_invoke(anthropic(bsim), ["x", "y"], runner2)


def test_chain_model_step_deferred_under_chain_batch(
    bsim: ProviderSimulator, tmp_path: Path
) -> None:
    """prompt | TokenomyChatModel(ChatOpenAI, policies=[Deferral]) | parser, with
    chain.batch() over six inputs tagged deferrable: one provider batch answers all six."""
    bsim.batch_delay = 0
    ledger = MemoryLedger()
    oai = OpenAIBatchAPI(openai.OpenAI(base_url=bsim.openai_base_url, api_key="t", max_retries=0))
    runner = BatchRunner(oai, store=tmp_path / "c.sqlite", ledger=ledger, poll_interval=0.01)
    deferral = Deferral(runner, features=["digest"], max_items=6, max_age=30)
    model = tokenomy_langchain.TokenomyChatModel(
        openai_chat(bsim), policies=[deferral], ledger=ledger
    )
    chain = ChatPromptTemplate.from_messages([("human", "{topic}")]) | model | StrOutputParser()
    with tokenomy_langchain.track(feature="digest", ledger=ledger):
        outputs = chain.batch([{"topic": f"t{i}"} for i in range(6)], config={"max_concurrency": 6})
    assert outputs == [f"t{i}" for i in range(6)]
    assert len(bsim.batch_ids) == 1 and len(deferral.jobs) == 1
    records = ledger.query()
    assert len(records) == 6 and {r.service_tier for r in records} == {"batch"}
