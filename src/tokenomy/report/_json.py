"""Indented JSON text, fast: what ``json.dumps(obj, indent=n)`` writes, byte for byte.

``json.dumps`` with an ``indent`` uses the standard library's pure-Python encoder (the C one
writes compact text only): a generator per nested value, about half of ``tokenomy report
--format json``'s own work on a big ledger (its output lists a few hundred records). This one
appends to one list instead. It knows the types a report's dict holds (``dict`` with ``str``
keys, ``list``, ``tuple``, ``str``, ``int``, ``float``, ``bool``, ``None``); for anything else it
hands the whole value to ``json.dumps`` (same text, or the same error).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _text  # the C function when available
from typing import Any

__all__ = ["dumps"]

_INF = float("inf")
_int = int.__repr__
_float = float.__repr__


class _UnknownTypeError(Exception):
    """A value this encoder does not write: ``json.dumps`` does."""


def _number(o: float) -> str:
    if o != o:
        return "NaN"
    if o == _INF:
        return "Infinity"
    if o == -_INF:
        return "-Infinity"
    return _float(o)


def _write(o: Any, out: list[str], nl: str, step: str) -> None:
    if isinstance(o, str):
        out.append(_text(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, int):
        out.append(_int(o))
    elif isinstance(o, float):
        out.append(_number(o))
    elif isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        inner = nl + step
        sep = "{" + inner
        for k, v in o.items():
            if not isinstance(k, str):
                raise _UnknownTypeError
            out.append(sep)
            out.append(_text(k))
            out.append(": ")
            _write(v, out, inner, step)
            sep = "," + inner
        out.append(nl + "}")
    elif isinstance(o, list | tuple):
        if not o:
            out.append("[]")
            return
        inner = nl + step
        sep = "[" + inner
        for v in o:
            out.append(sep)
            _write(v, out, inner, step)
            sep = "," + inner
        out.append(nl + "]")
    else:
        raise _UnknownTypeError


def dumps(obj: Any, indent: int = 2) -> str:
    """``json.dumps(obj, indent=indent)`` (default separators, ASCII, keys unsorted)."""
    out: list[str] = []
    try:
        _write(obj, out, "\n", " " * indent)
    except (_UnknownTypeError, RecursionError):
        return json.dumps(obj, indent=indent)
    return "".join(out)
