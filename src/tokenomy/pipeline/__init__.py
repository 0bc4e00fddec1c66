"""The call pipeline: policies that act before, around and after a model call.

Written once here, framework-free; each framework's wrapper (``tokenomy_langchain.
TokenomyChatModel``, ``tokenomy_llamaindex.TokenomyLLM``...) translates its call into a
:class:`ModelRequest`, runs :meth:`Pipeline.call` with a sender of its own, and turns the
:class:`ModelResponse` back. Every name here is also exported by :mod:`tokenomy`.
"""

from __future__ import annotations

from tokenomy.pipeline._max_tokens import MaxTokens
from tokenomy.pipeline._pipeline import AsyncSend, Pipeline, Send
from tokenomy.pipeline._policy import AsyncCallNext, CallNext, Policy
from tokenomy.pipeline._record import guard_async_iter, guard_iter, in_pipeline_call
from tokenomy.pipeline._request import (
    GENERATION_PARAMS,
    CallKind,
    Message,
    ModelRequest,
    RunInfo,
)
from tokenomy.pipeline._response import TRUNCATED_REASONS, ModelResponse, StreamChunk

__all__ = [
    "GENERATION_PARAMS",
    "TRUNCATED_REASONS",
    "AsyncCallNext",
    "AsyncSend",
    "CallKind",
    "CallNext",
    "MaxTokens",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "Pipeline",
    "Policy",
    "RunInfo",
    "Send",
    "StreamChunk",
    "guard_async_iter",
    "guard_iter",
    "in_pipeline_call",
]
