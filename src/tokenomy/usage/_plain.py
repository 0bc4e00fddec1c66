"""Turning SDK objects into plain dicts, and reading token counts out of them safely."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._model import Usage

__all__ = ["as_mapping", "count", "first", "is_sequence", "make_usage", "sub", "to_plain"]

_MAX_DEPTH = 64


def to_plain(obj: Any, _depth: int = 0) -> Any:
    """``obj`` as plain JSON-like data: pydantic models (SDK objects) via ``model_dump()``.

    The SDKs are never imported: anything with a callable ``model_dump`` (pydantic v2, as
    in the openai, anthropic and google-genai SDKs) or ``to_dict`` is converted, and mappings
    and lists are converted element by element (LlamaIndex keeps SDK objects inside dicts).
    """
    if _depth > _MAX_DEPTH:
        return obj
    if obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return obj
    if isinstance(obj, Mapping):
        return {k: to_plain(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v, _depth + 1) for v in obj]
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        try:
            dumped = dump(mode="json")
        except Exception:  # an unserialisable field (e.g. an SDK object in an Any field)
            try:
                dumped = dump()
            except Exception:
                return obj
        return to_plain(dumped, _depth + 1)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_plain(to_dict(), _depth + 1)
    return obj


def as_mapping(obj: Any) -> Mapping[str, Any] | None:
    """``obj`` as a plain mapping, or ``None`` when it is not one (after :func:`to_plain`)."""
    plain = to_plain(obj)
    return plain if isinstance(plain, Mapping) else None


def sub(data: Mapping[str, Any] | None, *keys: str) -> Mapping[str, Any]:
    """The first of ``keys`` whose value is a mapping (an empty mapping if none is)."""
    if data is None:
        return {}
    for key in keys:
        value = data.get(key)
        if isinstance(value, Mapping):
            return value
    return {}


def count(data: Mapping[str, Any] | None, *keys: str, what: str = "usage") -> int | None:
    """The first of ``keys`` present with a non-null value, as a non-negative int.

    Counts are ints on the wire; a float with no fractional part (some gateways) is accepted.
    Anything else raises :class:`UsageParseError` naming the key and the value.
    """
    if data is None:
        return None
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool):
            break
        if isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        else:
            raise UsageParseError(
                f"{what}: {key!r} is {value!r}, not a token count",
                expected="a non-negative integer",
            )
        if number < 0:
            raise UsageParseError(
                f"{what}: {key!r} is {number}, a negative token count",
                expected="a non-negative integer",
            )
        return number
    return None


def first(*values: int | None) -> int:
    """The first value that is not ``None`` (0 if all are)."""
    for value in values:
        if value is not None:
            return value
    return 0


def make_usage(
    what: str,
    *,
    input: int,
    output: int,
    cache_read: int = 0,
    cache_write_5m: int = 0,
    cache_write_1h: int = 0,
    reasoning: int = 0,
) -> Usage:
    """A :class:`Usage`, or a :class:`UsageParseError` carrying the numbers that disagree."""
    try:
        return Usage(
            input=input,
            output=output,
            cache_read=cache_read,
            cache_write_5m=cache_write_5m,
            cache_write_1h=cache_write_1h,
            reasoning=reasoning,
        )
    except (TypeError, ValueError) as exc:
        raise UsageParseError(
            f"{what} reports inconsistent counts (input={input}, output={output}, "
            f"cache_read={cache_read}, cache_write_5m={cache_write_5m}, "
            f"cache_write_1h={cache_write_1h}, reasoning={reasoning}): {exc}",
            expected="cached tokens to be part of the prompt and reasoning part of the output; "
            "check that the usage object was not altered",
        ) from exc


def is_sequence(obj: Any) -> bool:
    """A list-like of events (not a string, bytes or a mapping)."""
    return isinstance(obj, Sequence) and not isinstance(obj, (str, bytes, bytearray, Mapping))
