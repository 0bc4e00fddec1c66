"""Conversation memory for LangChain: a windowed (and summarised) view over any history store,
and the summariser that calls a LangChain chat model.

``TokenomyChatHistory(store, memory)`` is a ``BaseChatMessageHistory``: the store (in-memory,
SQL, Redis, ...) keeps the full conversation; reading ``messages`` (or ``aget_messages``)
returns what :class:`tokenomy.ConversationMemory` keeps under its budget, with the running
summary, so ``RunnableWithMessageHistory(chain, lambda sid: TokenomyChatHistory(store_for(sid),
memory, conversation=sid))`` sends the window instead of the whole history. Each message is
counted once: its count is cached under a key of its content, so a read of hundreds of messages
costs a lookup each, not a tokenizer pass.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    BaseMessage,
    HumanMessage,
    SystemMessage,
    convert_to_messages,
    convert_to_openai_messages,
)

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
from tokenomy_langchain._translate import model_info, response_of

__all__ = ["ChatModelSummarizer", "TokenomyChatHistory", "message_infos"]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _key(message: BaseMessage) -> Hashable:
    fields = message.__dict__  # pydantic fields: no __getattr__ fallback per missing attribute
    content = fields.get("content")
    calls = fields.get("tool_calls")
    return (
        "lc",
        fields.get("type"),
        content if isinstance(content, str) else _dumps(content),
        _dumps(calls) if calls else None,
        fields.get("tool_call_id"),
        fields.get("name"),
    )


def _as_dict(message: BaseMessage) -> dict[str, Any]:
    converted: dict[str, Any] = convert_to_openai_messages([message])[0]
    return converted


def message_infos(counter: MessageCounter, messages: Sequence[BaseMessage]) -> list[MessageInfo]:
    """Each LangChain message's :class:`~tokenomy.memory.MessageInfo`, converted to an OpenAI
    dict and counted only the first time its content is seen."""
    info_for = counter.info_for
    return [info_for(_key(m), lambda m=m: _as_dict(m)) for m in messages]  # type: ignore[misc]


def _dicts(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    return [_as_dict(m) for m in messages]


def _summary_message(view: MemoryView) -> BaseMessage | None:
    message = view.summary_message
    if message is None:
        return None
    content = str(message["content"])
    return SystemMessage(content) if message["role"] == "system" else HumanMessage(content)


class TokenomyChatHistory(BaseChatMessageHistory):
    """A windowed, summarised view of ``history`` (any ``BaseChatMessageHistory``).

    * ``memory``: the :class:`tokenomy.ConversationMemory` (budget, turns, summariser);
      one memory can serve many histories, told apart by ``conversation`` (the session id).
    * ``model``/``provider``: whose tokenizer counts, when the memory names none.

    Writes go to ``history`` unchanged; ``clear()`` clears it and forgets the summary.
    ``full_messages`` is the whole stored history; :attr:`stats` the conversation's figures.
    """

    def __init__(
        self,
        history: BaseChatMessageHistory,
        memory: ConversationMemory,
        *,
        conversation: str | None = None,
        model: str | None = None,
        provider: str | None = None,
    ) -> None:
        if not isinstance(history, BaseChatMessageHistory):
            raise ConfigurationError(
                "TokenomyChatHistory wraps a LangChain BaseChatMessageHistory (such as "
                f"InMemoryChatMessageHistory), got {type(history).__name__}"
            )
        if not isinstance(memory, ConversationMemory):
            raise ConfigurationError(
                f"memory must be a tokenomy.ConversationMemory, got {type(memory).__name__}"
            )
        self.history = history
        self.memory = memory
        self.conversation = conversation
        self.counter = memory.counter(model, provider)

    def __repr__(self) -> str:
        return (
            f"TokenomyChatHistory({type(self.history).__name__}, conversation="
            f"{self.conversation!r}, memory={self.memory!r})"
        )

    @property
    def full_messages(self) -> list[BaseMessage]:
        """Every stored message."""
        return list(self.history.messages)

    @property
    def stats(self) -> MemoryStats:
        """This conversation's figures (tokens sent vs full, savings, summary cost)."""
        return self.memory.stats(self.conversation)

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The window (and summary) of the stored history."""
        stored = list(self.history.messages)
        infos = message_infos(self.counter, stored)
        view = self.memory.select(
            infos,
            lambda a, b: _dicts(stored[a:b]),
            counter=self.counter,
            conversation=self.conversation,
        )
        return view.arrange(stored, _summary_message(view))

    async def aget_messages(self) -> list[BaseMessage]:
        """The window, with the summary call awaited."""
        stored = list(await self.history.aget_messages())
        infos = message_infos(self.counter, stored)
        view = await self.memory.aselect(
            infos,
            lambda a, b: _dicts(stored[a:b]),
            counter=self.counter,
            conversation=self.conversation,
        )
        return view.arrange(stored, _summary_message(view))

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        self.history.add_messages(messages)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        await self.history.aadd_messages(messages)

    def clear(self) -> None:
        self.history.clear()
        self.memory.reset(self.conversation)

    async def aclear(self) -> None:
        await self.history.aclear()
        self.memory.reset(self.conversation)


class ChatModelSummarizer(Summarizer):
    """A :class:`tokenomy.memory.Summarizer` calling a LangChain chat model (normally a cheap
    one: ``ChatModelSummarizer(ChatOpenAI(model="gpt-4o-mini"))``). The memory runs each call
    through a pipeline, so it is recorded once (tag ``purpose=memory``), even with
    :func:`tokenomy_langchain.track` or a handler attached; the model's SDK client retries
    are taken over (``chat_model`` is a copy without them, ``policies`` a
    ``Retry.like_sdk()``), so each attempt is a record."""

    def __init__(self, model: BaseChatModel) -> None:
        if not isinstance(model, BaseChatModel):
            raise ConfigurationError(
                f"ChatModelSummarizer needs a LangChain chat model, got {type(model).__name__}"
            )
        # the client's own retries would be attempts no ledger sees: a copy without them,
        # and Retry.like_sdk() as the summary calls' policy (the user's model is kept)
        self.chat_model, self.policies = take_over_sdk_retries(model, [])
        self.model, self.provider = model_info(model, {})
        self.framework = "langchain"

    def _args(self, request: ModelRequest) -> tuple[list[BaseMessage], dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        return convert_to_messages(list(request.messages)), kwargs

    def send(self, request: ModelRequest) -> ModelResponse:
        messages, kwargs = self._args(request)
        return response_of(self.chat_model.invoke(messages, **kwargs), provider=self.provider)

    async def asend(self, request: ModelRequest) -> ModelResponse:
        messages, kwargs = self._args(request)
        answer = await self.chat_model.ainvoke(messages, **kwargs)
        return response_of(answer, provider=self.provider)
