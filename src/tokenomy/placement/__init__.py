"""Prompt-cache placement: where provider prompt caches pay, and putting breakpoints there."""

from __future__ import annotations

from tokenomy.placement._minimums import OPENAI_MIN_CACHEABLE, min_cacheable_tokens

__all__ = ["OPENAI_MIN_CACHEABLE", "min_cacheable_tokens"]
