"""In-process LangChain models for the handler's unit tests (real BaseChatModel / BaseLLM).

``TinyChat`` answers like a provider integration does: an ``AIMessage`` whose
``usage_metadata`` holds the response's usage (copied onto every choice when ``n > 1``, as
langchain-openai does) and whose ``response_metadata`` names the model; its stream puts the
usage on the last chunk. ``TinyLLM`` is a legacy completion model reporting
``llm_output["token_usage"]`` for a whole batch, as langchain-openai's ``OpenAI`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import (
    ChatGeneration,
    ChatGenerationChunk,
    ChatResult,
    Generation,
    LLMResult,
)

DEFAULT_USAGE: dict[str, Any] = {"input_tokens": 12, "output_tokens": 5, "total_tokens": 17}


class TinyChat(BaseChatModel):
    """A chat model that answers ``reply`` with ``usage`` (``None``: reports no usage)."""

    model_name: str | None = "gpt-4o-mini"
    provider: str = "openai"
    reply: str = "ok then"
    usage: dict[str, Any] | None = DEFAULT_USAGE
    n: int = 1
    fail_with: str | None = None
    report_model: bool = True
    response_metadata: dict[str, Any] | None = None  # extra response metadata (finish_reason...)

    @property
    def _llm_type(self) -> str:
        return "tiny-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "reply": self.reply}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(ls_provider=self.provider, ls_model_type="chat")
        if self.model_name:
            params["ls_model_name"] = self.model_name
        return params

    def _message(self) -> AIMessage:
        meta = {"model_name": self.model_name} if self.report_model and self.model_name else {}
        meta.update(self.response_metadata or {})
        return AIMessage(
            self.reply,
            usage_metadata=dict(self.usage) if self.usage else None,  # type: ignore[arg-type]
            response_metadata=meta,
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.fail_with:
            raise RuntimeError(self.fail_with)
        return ChatResult(
            generations=[ChatGeneration(message=self._message()) for _ in range(self.n)]
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        words = self.reply.split(" ")
        for i, word in enumerate(words):
            text = word if i == 0 else " " + word
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
            if self.fail_with and i == 0:
                raise RuntimeError(self.fail_with)
        meta = {"model_name": self.model_name} if self.report_model and self.model_name else {}
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=dict(self.usage) if self.usage else None,  # type: ignore[arg-type]
                response_metadata=meta,
            )
        )


class TinyLLM(BaseLLM):
    """A legacy completion model: one provider call per batch, usage in ``llm_output``."""

    model_name: str = "gpt-3.5-turbo-instruct"
    prompt_tokens_each: int = 7
    completion_tokens_each: int = 3

    @property
    def _llm_type(self) -> str:
        return "tiny-llm"

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        n = len(prompts)
        return LLMResult(
            generations=[[Generation(text=f"answer {i}")] for i in range(n)],
            llm_output={
                "token_usage": {
                    "prompt_tokens": self.prompt_tokens_each * n,
                    "completion_tokens": self.completion_tokens_each * n,
                    "total_tokens": (self.prompt_tokens_each + self.completion_tokens_each) * n,
                },
                "model_name": self.model_name,
            },
        )
