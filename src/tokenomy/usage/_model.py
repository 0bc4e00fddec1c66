"""The normalised :class:`Usage` of one model call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

__all__ = ["USAGE_FIELDS", "Usage", "UsageExtra"]

#: Token counts a :class:`Usage` carries, in their canonical order.
USAGE_FIELDS: tuple[str, ...] = (
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "reasoning",
)


@dataclass(frozen=True, slots=True)
class UsageExtra:
    """What a provider reported about one call beyond the six text-token counts.

    Rare, so kept apart (``Usage.extra`` is ``None`` on the usual call):

    * ``audio_input`` / ``audio_output``: audio tokens, PARTS of ``Usage.input`` /
      ``Usage.output`` billed at the model's audio rates (OpenAI ``audio_tokens``);
    * ``web_searches``: built-in web-search calls billed per call (OpenAI Responses
      ``web_search_call`` items, Anthropic ``server_tool_use.web_search_requests``);
    * ``image_generations``: built-in image-generation calls (OpenAI Responses
      ``image_generation_call`` items); ``images`` holds ``(image model, quality, size)`` of
      each (the model ``""`` when the response names none: the tool's default), priced per
      image (``pricing/_images.py``);
    * ``steps``: ``(model, Usage)`` of sampling steps run on a model named in the response
      (Anthropic ``usage.iterations`` of type ``advisor_message`` / ``fallback_message``),
      each priced at its own model's rates; their tokens are INCLUDED in the Usage's counts;
    * ``billed_usd``: what the provider says it billed (OpenRouter ``usage.cost``);
    * ``note``: an oddity of the report that was read as well as it could be (a stream
      that ended in an error, cached parts larger than the prompt): the record is flagged
      with it (tag ``usage_note``).
    """

    audio_input: int = 0
    audio_output: int = 0
    web_searches: int = 0
    image_generations: int = 0
    images: tuple[tuple[str, str, str], ...] = ()
    steps: tuple[tuple[str, Usage], ...] = ()
    billed_usd: Decimal | None = None
    note: str | None = None

    def __add__(self, other: object) -> UsageExtra:
        if not isinstance(other, UsageExtra):
            return NotImplemented
        billed = (
            self.billed_usd
            if other.billed_usd is None
            else other.billed_usd
            if self.billed_usd is None
            else self.billed_usd + other.billed_usd
        )
        notes = [n for n in (self.note, other.note) if n]
        return UsageExtra(
            audio_input=self.audio_input + other.audio_input,
            audio_output=self.audio_output + other.audio_output,
            web_searches=self.web_searches + other.web_searches,
            image_generations=self.image_generations + other.image_generations,
            images=self.images + other.images,
            steps=self.steps + other.steps,
            billed_usd=billed,
            note="; ".join(notes) if notes else None,
        )

    def is_empty(self) -> bool:
        """True when it says nothing (no counts, steps, bill or note)."""
        return self == _EMPTY_EXTRA


@dataclass(frozen=True, slots=True, init=False)
class Usage:
    """Tokens of one call, normalised across providers.

    Convention (the one LangChain's ``UsageMetadata`` uses):

    * ``input`` counts every prompt token, cached or not;
      ``cache_read``, ``cache_write_5m`` and ``cache_write_1h`` are the parts of it billed at
      other rates, so ``input >= cache_read + cache_write_5m + cache_write_1h``.
    * ``output`` counts every generated token; ``reasoning`` is the part of it spent reasoning.
    * ``estimated`` is true when the counts were estimated locally instead of reported by the
      provider.
    * ``extra`` holds the rarer things a provider reports (audio tokens, built-in tool calls,
      steps on other models, the billed amount, an oddity of the report): see
      :class:`UsageExtra`. ``None`` on the usual call.
    """

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    reasoning: int = 0
    estimated: bool = False
    extra: UsageExtra | None = None

    def __init__(
        self,
        input: int = 0,
        output: int = 0,
        cache_read: int = 0,
        cache_write_5m: int = 0,
        cache_write_1h: int = 0,
        reasoning: int = 0,
        estimated: bool = False,
        extra: UsageExtra | None = None,
    ) -> None:
        # A Usage is built for every recorded call. The frozen dataclass's generated
        # __init__ sets each field through object.__setattr__ and then calls __post_init__;
        # setting the slots directly (_SET, below) and checking the usual call -- six plain
        # non-negative ints that add up -- in one expression costs half as much. Anything
        # else gets the checks that say what is wrong.
        _SET_INPUT(self, input)
        _SET_OUTPUT(self, output)
        _SET_CACHE_READ(self, cache_read)
        _SET_CACHE_WRITE_5M(self, cache_write_5m)
        _SET_CACHE_WRITE_1H(self, cache_write_1h)
        _SET_REASONING(self, reasoning)
        _SET_ESTIMATED(self, estimated)
        _SET_EXTRA(self, extra)
        if not (
            type(input) is int
            and type(output) is int
            and type(reasoning) is int
            and type(cache_read) is int
            and type(cache_write_5m) is int
            and type(cache_write_1h) is int
            and 0 <= reasoning <= output
            and cache_read >= 0
            and cache_write_5m >= 0
            and cache_write_1h >= 0
            and cache_read + cache_write_5m + cache_write_1h <= input
        ):
            self._check()

    def _check(self) -> None:
        for name in USAGE_FIELDS:
            value = getattr(self, name)
            if type(value) is not int and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"Usage.{name} must be an int, got {value!r}")
            if value < 0:
                raise ValueError(f"Usage.{name} must be >= 0, got {value}")
        cached = self.cache_read + self.cache_write_5m + self.cache_write_1h
        if cached > self.input:
            raise ValueError(
                f"Usage.input ({self.input}) must include the cached tokens "
                f"(cache_read + cache_write_5m + cache_write_1h = {cached})"
            )
        if self.reasoning > self.output:
            raise ValueError(
                f"Usage.output ({self.output}) must include the reasoning tokens ({self.reasoning})"
            )

    def with_extra(self, extra: UsageExtra | None, *, estimated: bool | None = None) -> Usage:
        """A copy with ``extra`` (``None`` when it says nothing) and, if given, ``estimated``."""
        if extra is not None and extra.is_empty():
            extra = None
        return Usage(
            self.input,
            self.output,
            self.cache_read,
            self.cache_write_5m,
            self.cache_write_1h,
            self.reasoning,
            self.estimated if estimated is None else estimated,
            extra,
        )

    @property
    def cache_write(self) -> int:
        """Prompt tokens written to the provider cache (both lifetimes)."""
        return self.cache_write_5m + self.cache_write_1h

    @property
    def uncached_input(self) -> int:
        """Prompt tokens billed at the plain input rate."""
        return self.input - self.cache_read - self.cache_write_5m - self.cache_write_1h

    @property
    def visible_output(self) -> int:
        """Generated tokens that are not reasoning."""
        return self.output - self.reasoning

    @property
    def total(self) -> int:
        """All tokens of the call (prompt plus generated)."""
        return self.input + self.output

    def __add__(self, other: object) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            input=self.input + other.input,
            output=self.output + other.output,
            cache_read=self.cache_read + other.cache_read,
            cache_write_5m=self.cache_write_5m + other.cache_write_5m,
            cache_write_1h=self.cache_write_1h + other.cache_write_1h,
            reasoning=self.reasoning + other.reasoning,
            estimated=self.estimated or other.estimated,
            extra=self.extra
            if other.extra is None
            else other.extra
            if self.extra is None
            else self.extra + other.extra,
        )

    def counts(self) -> dict[str, int]:
        """The six token counts as a dict (no ``estimated`` flag)."""
        return {name: getattr(self, name) for name in USAGE_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """The counts plus ``estimated``."""
        out: dict[str, Any] = self.counts()
        out["estimated"] = self.estimated
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, estimated: bool | None = None) -> Usage:
        """Build from a mapping with (a subset of) the field names; unknown keys are rejected."""
        known = {f.name for f in fields(cls)} - {"extra"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Usage fields: {sorted(unknown)}")
        kwargs = {k: v for k, v in data.items() if v is not None}
        if estimated is not None:
            kwargs["estimated"] = estimated
        return cls(**kwargs)


# The slots' own setters (a frozen dataclass refuses plain attribute assignment).
_SET_INPUT = Usage.__dict__["input"].__set__
_SET_OUTPUT = Usage.__dict__["output"].__set__
_SET_CACHE_READ = Usage.__dict__["cache_read"].__set__
_SET_CACHE_WRITE_5M = Usage.__dict__["cache_write_5m"].__set__
_SET_CACHE_WRITE_1H = Usage.__dict__["cache_write_1h"].__set__
_SET_REASONING = Usage.__dict__["reasoning"].__set__
_SET_ESTIMATED = Usage.__dict__["estimated"].__set__
_SET_EXTRA = Usage.__dict__["extra"].__set__
_EMPTY_EXTRA = UsageExtra()
