"""The shortest prompt prefix each provider will cache (a shorter breakpoint is ignored).

Anthropic publishes a minimum per model family (a ``cache_control`` breakpoint on a shorter
prefix is accepted but neither writes nor reads); OpenAI caches prompts from 1,024 tokens,
in steps of 128.
"""

from __future__ import annotations

import re

__all__ = ["OPENAI_MIN_CACHEABLE", "min_cacheable_tokens"]

OPENAI_MIN_CACHEABLE = 1024

# (pattern on the model name, minimum), first match wins; Anthropic's published minimums
_ANTHROPIC: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"haiku-4|4-5-haiku|haiku-4-5"), 4096),
    (re.compile(r"opus-4-[5-9]|opus-4\.[5-9]|opus-[5-9]"), 4096),
    (re.compile(r"haiku"), 2048),  # Claude 3 and 3.5 Haiku
)
_ANTHROPIC_DEFAULT = 1024  # Sonnet 3.7/4/4.5, Opus 4/4.1


def min_cacheable_tokens(model: str | None, provider: str | None = None) -> int:
    """The shortest cacheable prefix for ``model``: Anthropic's per-model minimum (1,024 for
    Sonnet and Opus 4/4.1, 2,048 for the Claude 3.x Haikus, 4,096 for Haiku 4.5 and Opus
    4.5 and later), else OpenAI's 1,024."""
    name = (model or "").lower()
    if provider == "anthropic" or "claude" in name:
        for pattern, minimum in _ANTHROPIC:
            if pattern.search(name):
                return minimum
        return _ANTHROPIC_DEFAULT
    return OPENAI_MIN_CACHEABLE
