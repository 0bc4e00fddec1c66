"""Prompt-cache placement: where provider prompt caches pay, and putting breakpoints there.

:class:`CachePlacement` is the pipeline policy (Anthropic ``cache_control`` breakpoints,
at most four, 5-minute or 1-hour from the observed reuse; for OpenAI, features whose prefix
changes every call are reported). :class:`ReuseSource` is where the reuse evidence comes from
(:class:`InProcessReuse` by default). :func:`unread_cache_writes` finds the writes never read.
"""

from __future__ import annotations

from tokenomy.placement._minimums import OPENAI_MIN_CACHEABLE, min_cacheable_tokens
from tokenomy.placement._plan import Rates
from tokenomy.placement._policy import CachePlacement, PrefixChurn
from tokenomy.placement._reuse import InProcessReuse, ReuseSource, ReuseStats
from tokenomy.placement._unread import UnreadWrites, unread_cache_writes

__all__ = [
    "OPENAI_MIN_CACHEABLE",
    "CachePlacement",
    "InProcessReuse",
    "PrefixChurn",
    "Rates",
    "ReuseSource",
    "ReuseStats",
    "UnreadWrites",
    "min_cacheable_tokens",
    "unread_cache_writes",
]
