"""Conversation memory for LlamaIndex: ``BaseMemory`` implementations over any ``chat_store``
that drop in for ``ChatMemoryBuffer`` and ``ChatSummaryMemoryBuffer``, and the summariser that
calls a LlamaIndex LLM.

``TokenomyMemoryBuffer.from_defaults(token_limit=3000, chat_store=..., chat_store_key=...)``
keeps the full history in the store and returns, from ``get()``, what
:class:`tokenomy.ConversationMemory` keeps under the budget: tool-call blocks and tool results
counted with the target model's tokenizer and kept or dropped together (``ChatMemoryBuffer``
counts only message text, and re-encodes the joined history once per message it drops).
``TokenomySummaryMemoryBuffer.from_defaults(llm=cheap_llm, token_limit=...)`` also folds the
turns that leave the window into a running summary (each summary call a ledger record tagged
``purpose=memory``). Each message is counted once (cached under a key of its content).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import LLM
from llama_index.core.memory.types import DEFAULT_CHAT_STORE_KEY, BaseChatStoreMemory
from llama_index.core.storage.chat_store import BaseChatStore, SimpleChatStore
from pydantic import ConfigDict, Field

from tokenomy import (
    ConfigurationError,
    ConversationMemory,
    MemoryStats,
    MemoryView,
    ModelRequest,
    ModelResponse,
    take_over_sdk_retries,
)
from tokenomy.memory import MessageCounter, MessageInfo, Summarizer
from tokenomy_llamaindex._translate import (
    chat_message_of,
    finish_reason_of,
    message_dict,
    response_message,
)
from tokenomy_llamaindex._usage import model_of, provider_of, provider_usage, service_tier_of

__all__ = ["LLMSummarizer", "TokenomyMemoryBuffer", "TokenomySummaryMemoryBuffer", "message_infos"]

#: ChatMemoryBuffer's default budget without an LLM.
DEFAULT_TOKEN_LIMIT = 3000


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _block_key(block: Any) -> Hashable:
    if isinstance(block, TextBlock):
        return block.text
    if isinstance(block, ToolCallBlock):
        return ("call", block.tool_call_id, block.tool_name, _dumps(block.tool_kwargs))
    return _dumps(block.model_dump(mode="json"))


def _key(message: ChatMessage) -> Hashable:
    role = message.role
    extra = message.additional_kwargs
    return (
        "li",
        role.value if isinstance(role, MessageRole) else str(role),
        tuple(_block_key(b) for b in message.blocks),
        _dumps(extra) if extra else None,
    )


def message_infos(counter: MessageCounter, messages: Sequence[ChatMessage]) -> list[MessageInfo]:
    """Each ``ChatMessage``'s :class:`~tokenomy.memory.MessageInfo` (tool-call blocks and
    ``additional_kwargs`` tool calls included), counted only the first time it is seen."""
    info_for = counter.info_for
    return [info_for(_key(m), lambda m=m: message_dict(m)) for m in messages]  # type: ignore[misc]


def _summary_message(view: MemoryView) -> ChatMessage | None:
    message = view.summary_message
    if message is None:
        return None
    role = MessageRole.SYSTEM if message["role"] == "system" else MessageRole.USER
    return ChatMessage(role=role, content=str(message["content"]))


class TokenomyMemoryBuffer(BaseChatStoreMemory):
    """A drop-in for ``ChatMemoryBuffer`` (module docstring).

    ``memory``: the :class:`tokenomy.ConversationMemory` doing the work (``from_defaults``
    builds one from ``token_limit``, ``max_turns``, ``model``/``provider``); the conversation
    is ``chat_store_key``. ``get(initial_token_count=n)`` leaves ``n`` tokens of the budget
    for what the caller sends beside the history (a chat engine's system prompt).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = Field(default=None, exclude=True, description="the tokenomy.ConversationMemory")
    token_limit: int | None = None
    max_turns: int | None = None
    model: str | None = None
    provider: str | None = None

    def model_post_init(self, context: Any, /) -> None:
        # a buffer rebuilt from to_dict()/to_string() gets a window memory with the same
        # limits (a summariser, a live object, is not serialised)
        super().model_post_init(context)
        if self.memory is None:
            self.memory = ConversationMemory(
                max_tokens=self.token_limit or DEFAULT_TOKEN_LIMIT,
                max_turns=self.max_turns,
                model=self.model,
                provider=self.provider,
            )

    @classmethod
    def class_name(cls) -> str:
        return "TokenomyMemoryBuffer"

    @classmethod
    def _memory_for(
        cls, llm: LLM | None, token_limit: int | None, kwargs: dict[str, Any]
    ) -> ConversationMemory:
        if token_limit is None:
            token_limit = (
                int(llm.metadata.context_window * 0.75) if llm is not None else DEFAULT_TOKEN_LIMIT
            )
        return ConversationMemory(max_tokens=token_limit, **kwargs)

    @classmethod
    def from_defaults(
        cls,
        chat_history: list[ChatMessage] | None = None,
        llm: LLM | None = None,
        chat_store: BaseChatStore | None = None,
        chat_store_key: str = DEFAULT_CHAT_STORE_KEY,
        token_limit: int | None = None,
        *,
        memory: ConversationMemory | None = None,
        max_turns: int | None = None,
        model: str | None = None,
        provider: str | None = None,
        **kwargs: Any,
    ) -> TokenomyMemoryBuffer:
        """Like ``ChatMemoryBuffer.from_defaults``: ``token_limit`` (default 3/4 of ``llm``'s
        context window, else 3000); more keywords go to :class:`tokenomy.ConversationMemory`."""
        if memory is None:
            memory = cls._memory_for(
                llm,
                token_limit,
                {"max_turns": max_turns, "model": model, "provider": provider, **kwargs},
            )
        elif not isinstance(memory, ConversationMemory):
            raise ConfigurationError(
                f"memory must be a tokenomy.ConversationMemory, got {type(memory).__name__}"
            )
        chat_store = chat_store or SimpleChatStore()
        if chat_history is not None:
            chat_store.set_messages(chat_store_key, chat_history)
        return cls(
            memory=memory,
            chat_store=chat_store,
            chat_store_key=chat_store_key,
            token_limit=memory.max_tokens,
            max_turns=memory.max_turns,
            model=model,
            provider=provider,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], **kwargs: Any) -> TokenomyMemoryBuffer:
        """Rebuild from :meth:`to_dict` (the chat store loaded as ``ChatMemoryBuffer`` does;
        the window's limits restored, a summariser is not serialised)."""
        from llama_index.core.storage.chat_store.loading import load_chat_store

        fields = {k: v for k, v in data.items() if k != "class_name"}
        if isinstance(fields.get("chat_store"), dict):
            fields["chat_store"] = load_chat_store(fields["chat_store"])
        return cls(**fields, **kwargs)

    @property
    def counter(self) -> MessageCounter:
        """The memory's token counter for this buffer's model."""
        counter: MessageCounter = self.memory.counter(self.model, self.provider)
        return counter

    @property
    def stats(self) -> MemoryStats:
        """This conversation's figures (tokens sent vs full, savings, summary cost)."""
        stats: MemoryStats = self.memory.stats(self.chat_store_key)
        return stats

    def _view(self, stored: list[ChatMessage], view: MemoryView) -> list[ChatMessage]:
        return view.arrange(stored, _summary_message(view))

    def get(
        self, input: str | None = None, initial_token_count: int = 0, **kwargs: Any
    ) -> list[ChatMessage]:
        """The window (and summary) of the stored history."""
        stored = self.get_all()
        counter = self.counter
        view = self.memory.select(
            message_infos(counter, stored),
            lambda a, b: [message_dict(m) for m in stored[a:b]],
            counter=counter,
            conversation=self.chat_store_key,
            reserve=initial_token_count,
        )
        return self._view(stored, view)

    async def aget(
        self, input: str | None = None, initial_token_count: int = 0, **kwargs: Any
    ) -> list[ChatMessage]:
        """:meth:`get`, with the summary call awaited."""
        stored = await self.aget_all()
        counter = self.counter
        view = await self.memory.aselect(
            message_infos(counter, stored),
            lambda a, b: [message_dict(m) for m in stored[a:b]],
            counter=counter,
            conversation=self.chat_store_key,
            reserve=initial_token_count,
        )
        return self._view(stored, view)

    def reset(self) -> None:
        super().reset()
        self.memory.reset(self.chat_store_key)

    async def areset(self) -> None:
        await super().areset()
        self.memory.reset(self.chat_store_key)


class TokenomySummaryMemoryBuffer(TokenomyMemoryBuffer):
    """A drop-in for ``ChatSummaryMemoryBuffer``: :class:`TokenomyMemoryBuffer` whose evicted
    turns ``llm`` (any LlamaIndex LLM, normally a cheap one) folds into a running summary."""

    @classmethod
    def class_name(cls) -> str:
        return "TokenomySummaryMemoryBuffer"

    @classmethod
    def from_defaults(
        cls,
        chat_history: list[ChatMessage] | None = None,
        llm: LLM | None = None,
        chat_store: BaseChatStore | None = None,
        chat_store_key: str = DEFAULT_CHAT_STORE_KEY,
        token_limit: int | None = None,
        *,
        summary_max_tokens: int = 300,
        **kwargs: Any,
    ) -> TokenomySummaryMemoryBuffer:
        """``llm`` summarises (required, as for ``ChatSummaryMemoryBuffer``); the rest as
        :meth:`TokenomyMemoryBuffer.from_defaults`."""
        if llm is None and "summarizer" not in kwargs:
            raise ConfigurationError(
                "TokenomySummaryMemoryBuffer needs llm= (the LlamaIndex LLM that writes the summary)"
            )
        summarizer = kwargs.pop("summarizer", None) or LLMSummarizer(llm)  # type: ignore[arg-type]
        buffer = super().from_defaults(
            chat_history,
            llm,
            chat_store,
            chat_store_key,
            token_limit,
            summarizer=summarizer,
            summary_max_tokens=summary_max_tokens,
            **kwargs,
        )
        assert isinstance(buffer, TokenomySummaryMemoryBuffer)
        return buffer


class LLMSummarizer(Summarizer):
    """A :class:`tokenomy.memory.Summarizer` calling a LlamaIndex LLM's ``chat``/``achat``
    (``llm``: a copy whose SDK client does not retry on its own, ``policies``: the
    ``Retry.like_sdk()`` that retries instead, each attempt a ledger record)."""

    def __init__(self, llm: LLM) -> None:
        if not isinstance(llm, LLM):
            raise ConfigurationError(
                f"LLMSummarizer needs a LlamaIndex LLM, got {type(llm).__name__}"
            )
        # the client's own retries would be attempts no ledger sees: a copy without them,
        # and Retry.like_sdk() as the summary calls' policy (the user's LLM is kept)
        self.llm, self.policies = take_over_sdk_retries(llm, [])
        model = getattr(llm, "model", None)
        if not isinstance(model, str) or not model:
            name = llm.metadata.model_name
            model = name if name and name != "unknown" else None
        self.model = model
        self.provider = provider_of({"class_name": llm.class_name()})
        self.framework = "llamaindex"

    def _args(self, request: ModelRequest) -> tuple[LLM, list[ChatMessage]]:
        llm = self.llm
        limit = request.max_tokens
        if limit is not None and getattr(llm, "max_tokens", limit) != limit:
            llm = llm.model_copy(update={"max_tokens": limit})
        return llm, [chat_message_of(d) for d in request.messages]

    def _response(self, native: ChatResponse) -> ModelResponse:
        return ModelResponse(
            message=response_message(native),
            usage=provider_usage(native),
            finish_reason=finish_reason_of(native),
            model=model_of(native, None),
            provider=self.provider,
            service_tier=service_tier_of(native),
            raw=native.raw,
            native=native,
        )

    def send(self, request: ModelRequest) -> ModelResponse:
        llm, messages = self._args(request)
        return self._response(llm.chat(messages))

    async def asend(self, request: ModelRequest) -> ModelResponse:
        llm, messages = self._args(request)
        return self._response(await llm.achat(messages))
