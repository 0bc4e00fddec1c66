"""TokenomyLLM over the real llama_index.llms.anthropic.Anthropic client on the simulator's
Anthropic endpoint: every call style, MaxTokens in the request body, a cut answer flagged.

llama-index-llms-anthropic 0.12.3 builds each message with ``anthropic.types.MessageParam(...)``
and always passes ``temperature``: it needs an anthropic SDK where MessageParam is a TypedDict
(a ``Union`` from 2.0 on) and ``messages.create`` takes ``temperature`` (gone in 1.x), which is
why requirements pin anthropic 0.x.
"""

from __future__ import annotations

import pytest
from li_fakes import STYLES, call_style
from li_wrapper_helpers import ANTHROPIC_MODEL, anthropic_llm, assert_ledger_is_simulator, wrap
from llama_index.core.base.llms.types import ChatMessage

import tokenomy_llamaindex as tli
from tokenomy import MaxTokens, MemoryLedger
from tokenomy.testing import Fault, ProviderSimulator
from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401


@pytest.fixture
def sim(provider_simulator: ProviderSimulator) -> ProviderSimulator:  # noqa: F811
    """The running simulator of this test."""
    return provider_simulator


def test_the_bare_anthropic_llm_sends_its_class_default(sim: ProviderSimulator) -> None:
    """Without tokenomy the Anthropic LLM reaches the simulator with its class default
    ``max_tokens`` (512), the value MaxTokens must replace below."""
    response = anthropic_llm(sim).chat([ChatMessage(role="user", content="Hi.")])
    assert response.message.content
    assert [r.body["max_tokens"] for r in sim.requests] == [512]


@pytest.mark.parametrize("style", STYLES)
def test_every_call_style_is_one_record(
    style: str, sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """Each call style through TokenomyLLM(Anthropic): one record with the simulator's model
    and usage while ``instrument()`` records into the same ledger."""
    tli.instrument(ledger=ledger)
    call_style(wrap(anthropic_llm(sim), ledger), style)
    assert_ledger_is_simulator(ledger.query(), sim)
    (record,) = ledger.query()
    assert record.provider == "anthropic" and record.model.startswith(ANTHROPIC_MODEL)


def test_max_tokens_reaches_the_request_body(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """MaxTokens replaces the Anthropic LLM's class default (512, not a caller's limit) in
    the body, streamed or not."""
    llm = wrap(anthropic_llm(sim), ledger, [MaxTokens(default=30)])
    llm.chat([ChatMessage(role="user", content="Tell me about Paris.")])
    list(llm.stream_complete("Tell me about Paris."))
    assert [r.body["max_tokens"] for r in sim.requests] == [30, 30]


def test_a_cut_answer_is_recorded_truncated(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """stop_reason "max_tokens" from the simulator: the record says truncated."""
    sim.inject(Fault.length(2))
    wrap(anthropic_llm(sim), ledger).chat([ChatMessage(role="user", content="Paris?")])
    (record,) = ledger.query()
    assert record.truncated  # type: ignore[attr-defined]
