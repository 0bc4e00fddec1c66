"""A local provider simulator for tests and demos: OpenAI and Anthropic over real HTTP.

``ProviderSimulator`` serves ``/v1/chat/completions``, ``/v1/responses``, ``/v1/embeddings``,
``/v1/models`` and Anthropic's ``/v1/messages`` on loopback, wire-compatible with the official
SDKs (and the LangChain / LlamaIndex clients built on them). Answers are deterministic, usage is
counted with ``tokenomy.tokens``, prompt caching and faults are simulated, and every request and
answered call is recorded. Importing this package starts nothing.

    from tokenomy.testing import Fault, ProviderSimulator

    with ProviderSimulator(answer="Paris.") as sim:
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="test")
        client.chat.completions.create(model="gpt-4o", messages=[...])
        assert sim.calls[-1].usage.output == 2

The pytest fixture lives in :mod:`tokenomy.testing.pytest_plugin`; the command line is
``tokenomy simulate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokenomy.testing._answers import (
    DEFAULT_ANSWER,
    Answer,
    AnswerLike,
    AnswerRule,
    ToolCall,
    echo,
    template,
)
from tokenomy.testing._clock import FakeClock
from tokenomy.testing._embedder import HashingEmbedder
from tokenomy.testing._embeddings import embedding_vector
from tokenomy.testing._faults import FAULT_HEADER, Fault, Injection
from tokenomy.testing._pipeline import MockSender, RecordingPolicy
from tokenomy.testing._records import SimCall
from tokenomy.testing._request import SimRequest
from tokenomy.testing._simulator import ProviderSimulator

if TYPE_CHECKING:
    from tokenomy.testing._summarizer import FakeSummarizer

__all__ = [
    "DEFAULT_ANSWER",
    "FAULT_HEADER",
    "Answer",
    "AnswerLike",
    "AnswerRule",
    "FakeClock",
    "FakeSummarizer",
    "Fault",
    "HashingEmbedder",
    "Injection",
    "MockSender",
    "ProviderSimulator",
    "RecordingPolicy",
    "SimCall",
    "SimRequest",
    "ToolCall",
    "echo",
    "embedding_vector",
    "template",
]


def __getattr__(name: str) -> Any:
    # FakeSummarizer loads tokenomy.memory: only when a test asks for it (this package is
    # imported by the pytest plugin in every test session)
    if name == "FakeSummarizer":
        from tokenomy.testing._summarizer import FakeSummarizer

        globals()[name] = FakeSummarizer
        return FakeSummarizer
    raise AttributeError(f"module 'tokenomy.testing' has no attribute {name!r}")
