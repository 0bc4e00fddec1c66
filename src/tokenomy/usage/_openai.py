"""OpenAI usage: Chat Completions (also legacy completions and embeddings) and the Responses API.

OpenAI counts every prompt token in ``prompt_tokens`` / ``input_tokens``: the cache reads
(``cached_tokens``) and cache writes (``cache_write_tokens``, GPT-5.6 and later) are parts of
it, each billed at its own rate, never on top. ``reasoning_tokens`` are part of
``completion_tokens`` / ``output_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._fast import openai_chat_counts
from tokenomy.usage._model import Usage, UsageExtra
from tokenomy.usage._plain import as_mapping, count, first, make_usage, sub

__all__ = ["usage_from_openai_chat", "usage_from_openai_responses"]

# OpenAI's field is ``cache_write_tokens``; ``cache_creation_tokens`` is the name some
# OpenAI-compatible gateways use for the same count.
_CACHE_WRITE_KEYS = ("cache_write_tokens", "cache_creation_tokens")


def _usage_of(obj: Any, *, what: str, marker: str) -> Mapping[str, Any]:
    data = as_mapping(obj)
    if data is None:
        raise UsageParseError(
            f"{what}: got {type(obj).__name__}, not a response",
            expected="a response object or dict, or its 'usage'",
        )
    if marker in data:
        return data
    # A Responses stream event carries the response under "response".
    inner = data.get("response")
    if isinstance(inner, Mapping) and "usage" in inner:
        data = inner
    usage = data.get("usage")
    if isinstance(usage, Mapping):
        return usage
    if "usage" in data:
        raise UsageParseError(
            f"{what}: the response's usage is {usage!r}",
            expected=(
                "a final response with usage (a streamed chat completion reports it only in "
                "its last chunk, and only when requested with "
                "stream_options={'include_usage': True})"
            ),
        )
    raise UsageParseError(
        f"{what}: no 'usage' and no {marker!r} among the keys {sorted(data)[:12]}",
        expected=f"a response with 'usage' or the usage object itself (with {marker!r})",
    )


def usage_from_openai_chat(obj: Any) -> Usage:
    """Usage of a Chat Completions response, chunk or ``usage`` object (dict or SDK object).

    ``input`` = ``prompt_tokens`` (which includes ``prompt_tokens_details.cached_tokens``
    and ``cache_write_tokens``); ``output`` = ``completion_tokens`` (which includes
    ``completion_tokens_details.reasoning_tokens``). Cache writes are reported as
    ``cache_write_5m`` (OpenAI has one write rate). Also reads legacy completions and
    embeddings responses (no completion tokens: output 0).
    """
    counts = openai_chat_counts(obj)
    return _full_openai_chat(obj) if counts is None else Usage(*counts)


def _full_openai_chat(obj: Any) -> Usage:
    what = "OpenAI chat completion usage"
    u = _usage_of(obj, what=what, marker="prompt_tokens")
    prompt = count(u, "prompt_tokens", what=what)
    if prompt is None:
        raise UsageParseError(
            f"{what}: no 'prompt_tokens' among {sorted(u)}",
            expected="usage with prompt_tokens and completion_tokens",
        )
    details = sub(u, "prompt_tokens_details")
    out_details = sub(u, "completion_tokens_details")
    read = first(count(details, "cached_tokens", what=what))
    writes = first(count(details, *_CACHE_WRITE_KEYS, what=what))
    read, writes, note = _cached_parts(prompt, read, writes)
    usage = make_usage(
        what,
        input=prompt,
        output=first(count(u, "completion_tokens", what=what)),
        cache_read=read,
        cache_write_5m=writes,
        reasoning=first(count(out_details, "reasoning_tokens", what=what)),
    )
    extra = UsageExtra(
        audio_input=first(count(details, "audio_tokens", what=what)),
        audio_output=first(count(out_details, "audio_tokens", what=what)),
        billed_usd=billed_of(u),
        note=note,
    )
    return usage.with_extra(extra, estimated=True if note is not None else None)


def _cached_parts(prompt: int, read: int, writes: int) -> tuple[int, int, str | None]:
    """``(cache reads, cache writes, note)``: the reported parts, or when together they exceed
    the prompt (OpenRouter's Gemini reports the same 2,161 of 2,168 prompt tokens as both read
    and written), the best reading: the reads as reported (at most the prompt) and the writes
    cut to what the prompt leaves, with a note saying so (a billed call is never lost to an
    inconsistent report)."""
    if read + writes <= prompt:
        return read, writes, None
    kept_read = min(read, prompt)
    kept_writes = prompt - kept_read if writes else 0
    note = (
        f"cached_tokens ({read}) + cache_write_tokens ({writes}) exceed prompt_tokens "
        f"({prompt}): read as {kept_read} cache reads and {kept_writes} cache writes"
    )
    return kept_read, min(writes, kept_writes), note


def billed_of(u: Mapping[str, Any]) -> Decimal | None:
    """What the provider says it billed for the call (OpenRouter's ``usage.cost``, USD), exact
    as written; ``None`` when absent or not a number."""
    value = u.get("cost")
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, int | str):
        return None
    try:
        billed = Decimal(value)
    except InvalidOperation:
        return None
    return billed if billed.is_finite() and billed >= 0 else None


def usage_from_openai_responses(obj: Any) -> Usage:
    """Usage of a Responses API response, stream event or ``usage`` object.

    ``input`` = ``input_tokens`` (which includes ``input_tokens_details.cached_tokens`` and
    ``cache_write_tokens``); ``output`` = ``output_tokens`` (which includes
    ``output_tokens_details.reasoning_tokens``). Stream events (``response.completed``,
    ``response.incomplete``, ``response.failed``) carry the response under ``response``.
    """
    what = "OpenAI Responses usage"
    u = _usage_of(obj, what=what, marker="input_tokens")
    inp = count(u, "input_tokens", what=what)
    if inp is None:
        raise UsageParseError(
            f"{what}: no 'input_tokens' among {sorted(u)}",
            expected="usage with input_tokens and output_tokens",
        )
    details = sub(u, "input_tokens_details")
    out_details = sub(u, "output_tokens_details")
    read = first(count(details, "cached_tokens", what=what))
    writes = first(count(details, *_CACHE_WRITE_KEYS, what=what))
    read, writes, note = _cached_parts(inp, read, writes)
    usage = make_usage(
        what,
        input=inp,
        output=first(count(u, "output_tokens", what=what)),
        cache_read=read,
        cache_write_5m=writes,
        reasoning=first(count(out_details, "reasoning_tokens", what=what)),
    )
    searches, images = tool_calls(obj)
    extra = UsageExtra(
        web_searches=searches,
        image_generations=len(images),
        images=images,
        billed_usd=billed_of(u),
        note=note,
    )
    return usage.with_extra(extra, estimated=True if note is not None else None)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def tool_calls(obj: Any) -> tuple[int, tuple[tuple[str, str, str], ...]]:
    """The ``web_search_call`` items in a Responses response's ``output`` (each billed per
    call), and ``(image model, quality, size)`` of each ``image_generation_call`` item (billed
    per image: the item reports its quality and size, the response's ``tools`` the image model
    when not the default, else ``""``); nothing when ``obj`` is only the usage."""
    data = as_mapping(obj)
    if data is None:
        return 0, ()
    inner = data.get("response")
    if isinstance(inner, Mapping):
        data = inner
    output = data.get("output")
    if not isinstance(output, list):
        return 0, ()
    searches = 0
    images: list[tuple[str, str, str]] = []
    for item in output:
        kind = _field(item, "type")
        if kind == "web_search_call":
            searches += 1
        elif kind == "image_generation_call":
            images.append(("", str(_field(item, "quality") or ""), str(_field(item, "size") or "")))
    if images:
        tools = data.get("tools")
        model = next(
            (
                str(_field(t, "model"))
                for t in (tools if isinstance(tools, list) else ())
                if _field(t, "type") == "image_generation" and _field(t, "model")
            ),
            "",
        )
        images = [(model, q, s) for _, q, s in images]
    return searches, tuple(images)
