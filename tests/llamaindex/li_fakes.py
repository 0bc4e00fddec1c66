"""In-process LlamaIndex LLMs built the way LlamaIndex's own are (real base classes and
callback decorators), reporting OpenAI-shaped usage in ``raw`` like llama-index-llms-openai.

``UsageLLM`` is completion-only (a ``CustomLLM``: its chat methods delegate to ``complete``),
``ChatOnlyLLM`` is chat-only (its completion methods delegate to ``chat``, the way
``StructuredLLM`` does), so both emit nested chat + completion events for one provider call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.llms.llm import LLM

from tokenomy import PriceBook, Usage

MESSAGES = [ChatMessage(role="user", content="What is the capital of France?")]
ANSWER = "Paris is the capital of France."
PIECES = ("Paris ", "is the ", "capital of France.")


def usage_dict(u: Usage) -> dict[str, Any]:
    """``u`` the way OpenAI's chat completions API reports it."""
    return {
        "prompt_tokens": u.input,
        "completion_tokens": u.output,
        "total_tokens": u.total,
        "prompt_tokens_details": {"cached_tokens": u.cache_read},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning},
    }


def price(model: str, u: Usage) -> Any:
    """What the default price book charges for ``u`` on ``model``."""
    cost = PriceBook.default().price(model, u)
    assert cost is not None
    return cost.total


class _Reporting:
    model: str
    usage: Any
    report: bool

    def _raw(self, *, final: bool = True) -> dict[str, Any] | None:
        if not self.report:
            return None
        raw: dict[str, Any] = {"model": self.model, "object": "chat.completion"}
        if final:
            raw["usage"] = usage_dict(self.usage)
        else:
            raw["usage"] = None
        return raw


class UsageLLM(_Reporting, CustomLLM):
    """Completion-only LLM; streams PIECES, the final piece carrying the usage."""

    model: str = "gpt-4o-mini"
    usage: Any = Usage(input=12, output=5)
    report: bool = True
    fail_after: int | None = None  # stream_complete raises after this many pieces

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=ANSWER, raw=self._raw())

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> Generator[CompletionResponse, None, None]:
        def gen() -> Generator[CompletionResponse, None, None]:
            text = ""
            for i, piece in enumerate(PIECES):
                if self.fail_after is not None and i >= self.fail_after:
                    raise ConnectionError("stream cut")
                text += piece
                yield CompletionResponse(
                    text=text, delta=piece, raw=self._raw(final=i == len(PIECES) - 1)
                )

        return gen()


class ChatOnlyLLM(_Reporting, LLM):
    """Chat-only LLM: ``complete``/``acomplete``/``stream_complete`` delegate to chat."""

    model: str = "gpt-4o-mini"
    usage: Any = Usage(input=12, output=5)
    report: bool = True
    answer: str = ANSWER

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model, is_chat_model=True)

    def _response(self) -> ChatResponse:
        message = ChatMessage(role=MessageRole.ASSISTANT, content=self.answer)
        return ChatResponse(message=message, raw=self._raw())

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._response()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._response()

    @llm_chat_callback()
    def stream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> Generator[ChatResponse, None, None]:
        def gen() -> Generator[ChatResponse, None, None]:
            text = ""
            for i, piece in enumerate(PIECES):
                text += piece
                yield ChatResponse(
                    message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                    delta=piece,
                    raw=self._raw(final=i == len(PIECES) - 1),
                )

        return gen()

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> AsyncGenerator[ChatResponse, None]:
        async def gen() -> AsyncGenerator[ChatResponse, None]:
            for response in self.stream_chat(messages, **kwargs):
                yield response

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> Generator[CompletionResponse, None, None]:
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> AsyncGenerator[CompletionResponse, None]:
        return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)


async def drain(agen: Any) -> None:
    """Consume an async stream."""
    async for _ in agen:
        pass


def call_style(llm: Any, style: str) -> None:
    """Make one call of ``style`` on ``llm``, consuming streams to the end."""
    if style == "complete":
        llm.complete("What is the capital of France?")
    elif style == "chat":
        llm.chat(MESSAGES)
    elif style == "stream_complete":
        list(llm.stream_complete("What is the capital of France?"))
    elif style == "stream_chat":
        list(llm.stream_chat(MESSAGES))
    elif style == "acomplete":
        asyncio.run(llm.acomplete("What is the capital of France?"))
    elif style == "achat":
        asyncio.run(llm.achat(MESSAGES))
    elif style == "astream_complete":

        async def run_astream_complete() -> None:
            await drain(await llm.astream_complete("What is the capital of France?"))

        asyncio.run(run_astream_complete())
    elif style == "astream_chat":

        async def run_astream_chat() -> None:
            await drain(await llm.astream_chat(MESSAGES))

        asyncio.run(run_astream_chat())
    else:  # pragma: no cover
        raise AssertionError(style)


STYLES = [
    "complete",
    "chat",
    "stream_complete",
    "stream_chat",
    "acomplete",
    "achat",
    "astream_complete",
    "astream_chat",
]
