"""The request hashes (issue 15) on LangChain records: the callback handler and the
TokenomyChatModel wrapper fill ``prefix_hash`` / ``request_hash`` of the same request alike,
as :func:`tokenomy.request_hashes` defines them, through a real ChatOpenAI and the simulator."""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage, convert_to_openai_messages
from lc_sim import LONG_PREFIX, openai_chat

import tokenomy
from tokenomy import MemoryLedger, SQLiteLedger
from tokenomy.testing import ProviderSimulator
from tokenomy_langchain import TokenomyCallbackHandler, TokenomyChatModel


def test_handler_and_wrapper_hash_the_same_request(provider_simulator: ProviderSimulator) -> None:
    """One request sent through the handler and through the wrapper: both records carry the
    hashes request_hashes gives for its OpenAI-shape messages; a different question changes
    request_hash only, a different system prompt both."""
    messages = [SystemMessage(LONG_PREFIX), HumanMessage("How do I reset my password?")]
    handled = MemoryLedger()
    model = openai_chat(provider_simulator)
    model.invoke(messages, config={"callbacks": [TokenomyCallbackHandler(ledger=handled)]})
    model.invoke(
        [SystemMessage(LONG_PREFIX), HumanMessage("Where are invoices?")],
        config={"callbacks": [TokenomyCallbackHandler(ledger=handled)]},
    )
    model.invoke(
        [SystemMessage("Be brief."), HumanMessage("Where are invoices?")],
        config={"callbacks": [TokenomyCallbackHandler(ledger=handled)]},
    )
    wrapped = MemoryLedger()
    TokenomyChatModel(openai_chat(provider_simulator), ledger=wrapped).invoke(messages)
    first, second, third = handled.query()
    (through_wrapper,) = wrapped.query()
    expected = tokenomy.request_hashes(convert_to_openai_messages(messages))
    assert first.request_hash == expected.request_hash == through_wrapper.request_hash
    assert first.prefix_hash == expected.prefix_hash == through_wrapper.prefix_hash
    assert first.prefix_tokens == expected.prefix_tokens and first.prefix_tokens > 1000
    assert first.message_count == 2
    assert second.prefix_hash == first.prefix_hash
    assert second.request_hash != first.request_hash
    assert third.prefix_hash != first.prefix_hash
    assert first.prompt_text is None  # no text unless opted in


def test_hashes_reach_sqlite_and_text_only_on_opt_in(
    provider_simulator: ProviderSimulator, tmp_path: object
) -> None:
    """Through a SQLite ledger (hashed on its writer thread) the hashes read back; with
    record_prompt_text() the last user message is kept too."""
    path = f"{tmp_path}/l.db"
    tokenomy.record_prompt_text(True)
    try:
        with SQLiteLedger(path) as ledger:
            openai_chat(provider_simulator).invoke(
                [SystemMessage("Be brief."), HumanMessage("hello there")],
                config={"callbacks": [TokenomyCallbackHandler(ledger=ledger)]},
            )
            ledger.flush()
            (record,) = ledger.query()
    finally:
        tokenomy.record_prompt_text(None)
    assert record.prompt_text == "hello there"
    assert record.request_hash is not None and len(record.request_hash) == 32


def test_fast_path_equals_convert_to_openai_messages() -> None:
    """The handler's quick normalisation of plain messages hashes as convert_to_openai_messages
    would; messages it does not cover (tool calls, content blocks) go through the latter."""
    from langchain_core.messages import AIMessage, ToolMessage

    from tokenomy_langchain._request import request_source

    cases = [
        [SystemMessage("S", name="policy"), HumanMessage("Hi"), AIMessage("Hello"), HumanMessage("Bye")],
        [HumanMessage([{"type": "text", "text": "blocks"}])],
        [
            HumanMessage("weather?"),
            AIMessage("", tool_calls=[{"name": "w", "args": {"c": "Paris"}, "id": "t1"}]),
            ToolMessage("Sunny", tool_call_id="t1"),
        ],
    ]
    for messages in cases:
        got = request_source([messages], "chat", {"temperature": 0})()
        want = tokenomy.request_hashes(convert_to_openai_messages(messages), params={"temperature": 0})
        assert tokenomy.request_hashes(got.messages, params=got.params) == want
