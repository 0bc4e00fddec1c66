"""Anthropic Messages usage (also Bedrock InvokeModel and Vertex AI bodies, same format).

Anthropic's ``input_tokens`` EXCLUDES the cache: the prompt is
``input_tokens + cache_creation_input_tokens + cache_read_input_tokens``. Cache writes are
split by lifetime in ``cache_creation.ephemeral_5m_input_tokens`` /
``ephemeral_1h_input_tokens`` when the API reports it; an unsplit write is a 5-minute one
(the default lifetime). ``output_tokens`` includes the thinking tokens, reported (by newer
models) as ``output_tokens_details.thinking_tokens``.

With server-side compaction the response's ``usage.iterations`` lists each sampling step
(``compaction`` and ``message``), and the top-level counts cover the final step only:
Anthropic bills the sum of the iterations, so that sum is what is returned. An iteration
that names its ``model`` (``advisor_message``: the advisor tool's sub-inference on a stronger
model; ``fallback_message``) is also kept in ``extra.steps``, so it is priced at its own
model's rates. ``server_tool_use.web_search_requests`` (billed per search) is
``extra.web_searches``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._model import Usage, UsageExtra
from tokenomy.usage._plain import as_mapping, count, first, make_usage, sub

__all__ = ["anthropic_usage", "usage_from_anthropic"]

_WHAT = "Anthropic usage"


def _counts(u: Mapping[str, Any]) -> tuple[int, int, int, int, int, int | None]:
    """(input, output, cache_read, write_5m, write_1h, reasoning or None) of one usage."""
    base = count(u, "input_tokens", what=_WHAT)
    output = count(u, "output_tokens", what=_WHAT)
    if base is None and output is None:
        raise UsageParseError(
            f"{_WHAT}: neither 'input_tokens' nor 'output_tokens' among {sorted(u)}",
            expected="a Messages usage object (input_tokens, output_tokens, cache_*_input_tokens)",
        )
    read = first(count(u, "cache_read_input_tokens", what=_WHAT))
    creation = count(u, "cache_creation_input_tokens", what=_WHAT)
    split = sub(u, "cache_creation")
    w5 = first(count(split, "ephemeral_5m_input_tokens", what=_WHAT))
    w1 = first(count(split, "ephemeral_1h_input_tokens", what=_WHAT))
    # The split is a breakdown of cache_creation_input_tokens; whatever the split does not
    # cover (no split reported, or an older API version) was written with the default
    # 5-minute lifetime. Take the larger of the two totals so no written token is dropped.
    writes = max(first(creation), w5 + w1)
    w5 = writes - w1
    reasoning = count(sub(u, "output_tokens_details"), "thinking_tokens", what=_WHAT)
    return first(base) + read + writes, first(output), read, w5, w1, reasoning


def _searches(u: Mapping[str, Any]) -> int:
    return first(count(sub(u, "server_tool_use"), "web_search_requests", what=_WHAT))


def anthropic_usage(u: Mapping[str, Any]) -> Usage:
    """Normalise one Anthropic ``usage`` mapping (summing ``iterations`` when present)."""
    usage = _anthropic_tokens(u)
    steps = []
    iterations = u.get("iterations")
    if isinstance(iterations, list):
        for step in iterations:
            model = step.get("model") if isinstance(step, Mapping) else None
            if isinstance(model, str) and model:
                inp, out, read, w5, w1, reasoning = _counts(step)
                steps.append(
                    (
                        model,
                        make_usage(
                            _WHAT + f" (iteration on {model})",
                            input=inp,
                            output=out,
                            cache_read=read,
                            cache_write_5m=w5,
                            cache_write_1h=w1,
                            reasoning=first(reasoning),
                        ),
                    )
                )
    searches = _searches(u)
    if not steps and not searches:
        return usage
    return usage.with_extra(UsageExtra(web_searches=searches, steps=tuple(steps)))


def _anthropic_tokens(u: Mapping[str, Any]) -> Usage:
    iterations = u.get("iterations")
    top = _counts(u)
    steps = (
        [it for it in iterations if isinstance(it, Mapping)] if isinstance(iterations, list) else []
    )
    if not steps:
        inp, out, read, w5, w1, reasoning = top
        return make_usage(
            _WHAT,
            input=inp,
            output=out,
            cache_read=read,
            cache_write_5m=w5,
            cache_write_1h=w1,
            reasoning=first(reasoning),
        )
    totals = [0, 0, 0, 0, 0]
    step_reasoning: int | None = None
    for step in steps:
        *numbers, r = _counts(step)
        totals = [a + b for a, b in zip(totals, numbers, strict=True)]
        if r is not None:
            step_reasoning = first(step_reasoning) + r
    inp, out, read, w5, w1 = totals
    return make_usage(
        _WHAT + " (summed over usage.iterations)",
        input=inp,
        output=out,
        cache_read=read,
        cache_write_5m=w5,
        cache_write_1h=w1,
        # Iterations do not break down thinking; the top-level figure covers the final step.
        reasoning=first(step_reasoning, top[5]),
    )


def usage_from_anthropic(obj: Any) -> Usage:
    """Usage of an Anthropic Messages response, ``message_start`` event or ``usage`` object.

    For a whole stream use :class:`~tokenomy.usage.StreamUsage` (``message_delta`` counts are
    cumulative and must be merged with ``message_start``'s, not added).
    """
    data = as_mapping(obj)
    if data is None:
        raise UsageParseError(
            f"{_WHAT}: got {type(obj).__name__}, not a response",
            expected="an Anthropic Message (object or dict) or its 'usage'",
        )
    if "input_tokens" in data or "output_tokens" in data:
        return anthropic_usage(data)
    message = data.get("message")
    if isinstance(message, Mapping) and isinstance(message.get("usage"), Mapping):
        data = message
    usage = data.get("usage")
    if not isinstance(usage, Mapping):
        raise UsageParseError(
            f"{_WHAT}: no usage object (usage={usage!r}; keys {sorted(data)[:12]})",
            expected="an Anthropic Message with 'usage' (input_tokens, output_tokens, ...)",
        )
    return anthropic_usage(usage)
