"""The request hashes (issue 15) on LlamaIndex records: the instrumentation handler and the
TokenomyLLM wrapper fill ``prefix_hash`` / ``request_hash`` of the same chat alike, as
:func:`tokenomy.request_hashes` defines them (the real OpenAI LLM against the simulator)."""

from __future__ import annotations

from li_wrapper_helpers import openai_llm, wrap
from llama_index.core.base.llms.types import ChatMessage

import tokenomy
import tokenomy_llamaindex as tli
from tokenomy import MemoryLedger
from tokenomy.testing import ProviderSimulator
from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401


def test_handler_and_wrapper_hash_the_same_chat(provider_simulator: ProviderSimulator) -> None:  # noqa: F811
    """A chat recorded by the handler (inside track()) and through TokenomyLLM: equal hashes,
    those of the OpenAI-shape messages."""
    messages = [
        ChatMessage(role="system", content="You answer questions about the handbook."),
        ChatMessage(role="user", content="How do I reset my password?"),
    ]
    handled = MemoryLedger()
    with tli.track(ledger=handled):
        openai_llm(provider_simulator).chat(messages)
    wrapped = MemoryLedger()
    wrap(openai_llm(provider_simulator), wrapped).chat(messages)
    (by_handler,) = handled.query()
    (by_wrapper,) = wrapped.query()
    expected = tokenomy.request_hashes(
        [
            {"role": "system", "content": "You answer questions about the handbook."},
            {"role": "user", "content": "How do I reset my password?"},
        ]
    )
    assert by_handler.request_hash == expected.request_hash == by_wrapper.request_hash
    assert by_handler.prefix_hash == expected.prefix_hash == by_wrapper.prefix_hash
    assert by_handler.message_count == 2
