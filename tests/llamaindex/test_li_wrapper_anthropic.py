"""TokenomyLLM over the real llama_index.llms.anthropic.Anthropic client on the simulator's
Anthropic endpoint: every call style and MaxTokens in the request body.

Known breakage of the installed versions: llama-index-llms-anthropic 0.12.3 builds each message
with ``anthropic.types.MessageParam(...)``, which anthropic 2.12.0 turned into a ``Union`` (not
callable), so *every* call of that LLM raises ``TypeError: Cannot instantiate typing.Union``
before a request is sent, with or without tokenomy. The tests are strict xfails pinned to that
error: they fail (XPASS) as soon as a compatible pair is installed, and then pin the wrapper.
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

BROKEN = pytest.mark.xfail(
    raises=TypeError,
    strict=True,
    reason="llama-index-llms-anthropic 0.12.3 calls anthropic.types.MessageParam, a Union in "
    "anthropic 2.12.0: every Anthropic LLM call fails before sending",
)


@pytest.fixture
def sim(provider_simulator: ProviderSimulator) -> ProviderSimulator:  # noqa: F811
    """The running simulator of this test."""
    return provider_simulator


def test_the_anthropic_llm_itself_is_broken_by_the_installed_sdk(sim: ProviderSimulator) -> None:
    """The breakage is the LLM's, not the wrapper's: the bare Anthropic LLM fails the same way
    and the simulator receives nothing (when this starts failing, drop the xfails below)."""
    with pytest.raises(TypeError, match="Union"):
        anthropic_llm(sim).chat([ChatMessage(role="user", content="Hi.")])
    assert sim.requests == []


@BROKEN
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


@BROKEN
def test_max_tokens_reaches_the_request_body(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """MaxTokens replaces the Anthropic LLM's class default (512, not a caller's limit) in
    the body, streamed or not."""
    llm = wrap(anthropic_llm(sim), ledger, [MaxTokens(default=30)])
    llm.chat([ChatMessage(role="user", content="Tell me about Paris.")])
    list(llm.stream_complete("Tell me about Paris."))
    assert [r.body["max_tokens"] for r in sim.requests] == [30, 30]


@BROKEN
def test_a_cut_answer_is_recorded_truncated(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """stop_reason "max_tokens" from the simulator: the record says truncated."""
    sim.inject(Fault.length(2))
    wrap(anthropic_llm(sim), ledger).chat([ChatMessage(role="user", content="Paris?")])
    (record,) = ledger.query()
    assert record.truncated  # type: ignore[attr-defined]
