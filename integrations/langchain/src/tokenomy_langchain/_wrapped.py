"""What the callback handler needs to know about the wrappers, without importing them."""

from __future__ import annotations

__all__ = ["WRAPPER_LLM_TYPE"]

#: ``TokenomyChatModel._llm_type``: the ``invocation_params["_type"]`` of the wrapper's own
#: model run, which :class:`~tokenomy_langchain.TokenomyCallbackHandler` skips (the wrapper's
#: pipeline records the call).
WRAPPER_LLM_TYPE = "tokenomy-chat"
