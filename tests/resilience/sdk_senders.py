"""Senders for the resilience tests: the real ``openai``/``anthropic`` SDK clients, talking
HTTP to the provider simulator, with their own retries off (``max_retries=0``) so that every
attempt is the pipeline's and reaches the ledger. A ``timeout`` in the request's params (what
``Retry(attempt_timeout=..., total_timeout=...)`` sets) goes to the SDK call's own ``timeout``
option, as the LangChain/LlamaIndex wrappers pass it."""

from __future__ import annotations

from typing import Any

import anthropic
import openai

from tokenomy import ModelRequest, ModelResponse, parse_response
from tokenomy.testing import ProviderSimulator

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def request(model: str = "gpt-4o-mini", provider: str = "openai", **kw: Any) -> ModelRequest:
    return ModelRequest(model=model, provider=provider, messages=MESSAGES, **kw)


def openai_client(sim: ProviderSimulator, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=sim.openai_base_url, api_key="test", max_retries=0, timeout=timeout
    )


def openai_send(sim: ProviderSimulator, timeout: float = 5.0) -> Any:
    """``send(request)`` through ``openai.OpenAI(...).chat.completions.create``."""
    client = openai_client(sim, timeout)

    def send(req: ModelRequest) -> ModelResponse:
        raw = client.chat.completions.create(
            model=req.model or "gpt-4o-mini", messages=list(req.messages),  # type: ignore[arg-type]
            timeout=req.params.get("timeout", client.timeout),
        )
        parsed = parse_response(raw)
        return ModelResponse(
            message={"role": "assistant", "content": raw.choices[0].message.content or ""},
            usage=parsed.usage, finish_reason=parsed.finish_reason, model=raw.model,
            provider="openai", raw=raw,
        )

    return send


def openai_asend(sim: ProviderSimulator, timeout: float = 5.0) -> Any:
    """The async ``send`` through ``openai.AsyncOpenAI``."""
    client = openai.AsyncOpenAI(
        base_url=sim.openai_base_url, api_key="test", max_retries=0, timeout=timeout
    )

    async def send(req: ModelRequest) -> ModelResponse:
        raw = await client.chat.completions.create(
            model=req.model or "gpt-4o-mini", messages=list(req.messages),  # type: ignore[arg-type]
            timeout=req.params.get("timeout", client.timeout),
        )
        parsed = parse_response(raw)
        return ModelResponse(
            message={"role": "assistant", "content": raw.choices[0].message.content or ""},
            usage=parsed.usage, finish_reason=parsed.finish_reason, model=raw.model,
            provider="openai", raw=raw,
        )

    return send


def anthropic_send(sim: ProviderSimulator, timeout: float = 5.0) -> Any:
    """``send(request)`` through ``anthropic.Anthropic(...).messages.create``."""
    client = anthropic.Anthropic(
        base_url=sim.anthropic_base_url, api_key="test", max_retries=0, timeout=timeout
    )

    def send(req: ModelRequest) -> ModelResponse:
        raw = client.messages.create(
            model=req.model or "claude-haiku-4-5", max_tokens=100,
            messages=list(req.messages),  # type: ignore[arg-type]
            timeout=req.params.get("timeout", client.timeout),
        )
        parsed = parse_response(raw)
        text = "".join(getattr(b, "text", "") for b in raw.content)
        return ModelResponse(
            message={"role": "assistant", "content": text}, usage=parsed.usage,
            finish_reason=parsed.finish_reason, model=raw.model, provider="anthropic", raw=raw,
        )

    return send
