"""The reservation's prompt bound against what providers really counted, on the shared
LangChain cassettes (real recorded traffic): never below. The pipeline sees every request as
OpenAI chat messages (the wrappers translate), so recorded OpenAI chat, Responses and
Anthropic requests are turned into that shape first; requests that do not translate simply
(tool round trips, files, server tools) are left out, and the sample sizes are asserted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared_data import reported_prompt_tokens, shared_file
from tokenomy import Budget, MemoryBudgetStore, ModelRequest

pytestmark = pytest.mark.shared_data


def _text(content: Any, kinds: set[str]) -> str | None:
    """Plain text of a content string or a list of text parts; None for anything else."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") in kinds for p in content):
        return "".join(str(p.get("text", "")) for p in content)
    return None


def _chat_request(api: str, body: dict[str, Any]) -> ModelRequest | None:
    """The request as the pipeline would see it (OpenAI chat dicts), or None."""
    model = str(body.get("model"))
    if api == "chat.completions":
        params = {k: body[k] for k in ("tools", "response_format") if body.get(k)}
        return ModelRequest(model=model, messages=body["messages"], params=params, provider="openai")
    messages: list[dict[str, Any]] = []
    if api == "responses":
        if body.get("tools") or body.get("previous_response_id") or body.get("text", {}).get("format"):
            return None
        items = body.get("input")
        items = [{"role": "user", "content": items}] if isinstance(items, str) else items
        if body.get("instructions"):
            messages.append({"role": "system", "content": body["instructions"]})
        for item in items or ():
            text = _text(item.get("content"), {"input_text", "output_text", "text"})
            if item.get("role") not in ("user", "assistant", "system", "developer") or text is None:
                return None
            messages.append({"role": "system" if item["role"] == "developer" else item["role"], "content": text})
        return ModelRequest(model=model, messages=messages, provider="openai")
    if body.get("tools") or body.get("thinking") or body.get("output_config"):
        return None
    system = body.get("system")
    if system is not None:
        text = _text(system, {"text"})
        if text is None:
            return None
        messages.append({"role": "system", "content": text})
    for message in body.get("messages") or ():
        text = _text(message.get("content"), {"text"})
        if text is None:
            return None
        messages.append({"role": message["role"], "content": text})
    return ModelRequest(model=model, messages=messages, provider="anthropic")


def test_prompt_bound_is_never_below_the_providers_count() -> None:
    """For every recorded request that translates, the budget's prompt bound (the count, plus
    the margin where it is an estimate) is at least what the provider billed."""
    budget = Budget(limit_tokens=10**9, store=MemoryBudgetStore())
    rows: dict[str, list[tuple[int, int, bool]]] = {"chat.completions": [], "responses": [], "messages": []}
    for line in shared_file("usage/langchain-cassettes.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        api = record["api"]
        if api not in rows or record["status"] != 200:
            continue
        request = _chat_request(api, record["request"])
        reported = reported_prompt_tokens(api, record["response_body"])
        if request is None or reported is None or request.model is None:
            continue
        worst = budget.worst(request, request.model)
        rows[api].append((worst.prompt_tokens, reported, worst.estimated))
    sizes = {api: len(r) for api, r in rows.items()}
    assert sizes["chat.completions"] >= 5 and sizes["responses"] >= 20 and sizes["messages"] >= 5, sizes
    below = {api: [(w, r) for w, r, _ in found if w < r] for api, found in rows.items()}
    assert below == {api: [] for api in rows}, below
