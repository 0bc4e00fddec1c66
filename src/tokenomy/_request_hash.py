"""What a request was, without its text: the hashes every record carries (issue 15).

A record keeps two hashes of the request that produced it, so a review can count repeated
prefixes (a provider prompt cache would have served them) and exact repeats (a response cache
would have) without storing any prompt:

* ``prefix_hash``: the request's **stable prefix**, its tool definitions and its leading
  system (or developer) messages. ``None`` when the request has neither.
* ``request_hash``: the **whole request**: the messages, the tools and the sampling parameters
  that change the answer (:data:`HASHED_PARAMS`). The model is not in either hash (it is its
  own column): group by ``(model, request_hash)`` to count what a cache keyed on both would serve.

Both are computed by :func:`request_hashes` from the request in the normalised shape the
pipeline uses (OpenAI chat message dicts, OpenAI tool dicts), so a call recorded by a handler
and the same call through a wrapper hash the same. The exact definition (stable: other code
and older ledgers rely on it; documented in ``docs/ARCHITECTURE.md``, "The cost review"):

    canonical(x) = json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              default=str).encode("utf-8")
    field(v)     = "" for None, v for a str, "\\x00" + canonical(v) as text otherwise
    frame(m)     = (field(role) + "\\x1f" + field(content) + "\\x1f" + field(name) + "\\x1f"
                    + field(tool_calls) + "\\x1f" + field(tool_call_id) + "\\x1e").encode("utf-8"),
                   role "developer" read as "system"
    tools_part   = b"\\x1d" + canonical(tools) when there are tools, else b""
    params_part  = b"\\x1c" + canonical({k: params[k] for k in HASHED_PARAMS if params.get(k)
                   is not None}) when any, else b""
    prefix_hash  = blake2b(frame(m) for the LEADING system messages + tools_part,
                           digest_size=16, person=b"tokenomy-pfx-v1").hexdigest()
    request_hash = blake2b(frame(m) for every message + tools_part + params_part,
                           digest_size=16, person=b"tokenomy-req-v1").hexdigest()

(The framing, rather than one JSON document of the request, keeps the usual request's hash at a
couple of microseconds: it is computed for every recorded call, on the SQL writer thread.)
A completion prompt is the one message ``{"role": "user", "content": prompt}``.
``prefix_tokens`` is the prefix's size in tokens (``o200k_base`` over ``canonical`` of the
prefix's contents: an estimate, within a few tokens of what a provider bills),
``message_count`` the number of messages. Prompt text is kept only when the user opts in
(:func:`record_prompt_text` or ``TOKENOMY_RECORD_PROMPTS=1``): then ``prompt_text`` is the
last user message's text (at most 2,000 characters), from which the review counts
near-duplicate prompts.

Hashing costs a few microseconds (normalising a framework's messages more), so the record path never does it on the calling thread:
handlers and wrappers pass :func:`tokenomy.store_call` a zero-argument callable returning the
normalised request (``request=``), and the hashes are computed when the call is stored (a SQL
store's writer thread) or first read (a memory ledger).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

__all__ = [
    "HASHED_PARAMS",
    "NormalisedRequest",
    "RequestHashes",
    "record_prompt_text",
    "request_hashes",
    "resolve_request",
]

#: The sampling parameters in ``request_hash`` (those that change the answer).
HASHED_PARAMS: tuple[str, ...] = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "n",
    "response_format",
    "tool_choice",
    "presence_penalty",
    "frequency_penalty",
)
_TEXT_MAX = 2000


class NormalisedRequest(NamedTuple):
    """A request in the pipeline's shape: messages (OpenAI chat dicts) or a prompt string,
    tool definitions (OpenAI tool dicts) and call parameters."""

    messages: Sequence[Mapping[str, Any]] | str
    tools: Sequence[Any] | None = None
    params: Mapping[str, Any] | None = None


class RequestHashes(NamedTuple):
    """What a record keeps of its request (see the module docstring)."""

    prefix_hash: str | None
    request_hash: str
    prefix_tokens: int | None
    message_count: int
    prompt_text: str | None


_record_text: bool | None = None


def record_prompt_text(enabled: bool | None = True) -> None:
    """Opt in (or out) of keeping the last user message's text on each record (for the
    review's near-duplicate count). ``None`` goes back to ``TOKENOMY_RECORD_PROMPTS`` (read
    once per process)."""
    global _record_text
    _record_text = enabled


_env_text: bool | None = None


def _text_enabled() -> bool:
    global _env_text
    if _record_text is not None:
        return _record_text
    if _env_text is None:  # read once per process
        value = os.environ.get("TOKENOMY_RECORD_PROMPTS", "").strip().lower()
        _env_text = value in ("1", "true", "yes")
    return _env_text


# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str),
# with the encoder built once (building it is most of the time of a small request's dump)
_ENCODE = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode


def _canonical(value: Any) -> bytes:
    return _ENCODE(value).encode("utf-8")


def _field(value: Any) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return value
    return "\x00" + _ENCODE(value)


def _frame(m: Mapping[str, Any]) -> bytes:
    """One message as hashed: its five fields, separated by 0x1F, ended by 0x1E."""
    role = m.get("role")
    if role == "developer":
        role = "system"
    return (
        f"{_field(role)}\x1f{_field(m.get('content'))}\x1f{_field(m.get('name'))}\x1f"
        f"{_field(m.get('tool_calls'))}\x1f{_field(m.get('tool_call_id'))}\x1e"
    ).encode()


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return " ".join(
            str(p.get("text", "")) if isinstance(p, Mapping) else str(p) for p in content
        )
    return "" if content is None else str(content)


def request_hashes(
    messages: Sequence[Mapping[str, Any]] | str,
    *,
    tools: Sequence[Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> RequestHashes:
    """The :class:`RequestHashes` of a normalised request (see the module docstring)."""
    if isinstance(messages, str):
        msgs: list[Mapping[str, Any]] = [{"role": "user", "content": messages}]
    else:
        msgs = list(messages)
    frames = [_frame(m) for m in msgs]
    leading = 0
    for m in msgs:
        if m.get("role") not in ("system", "developer"):
            break
        leading += 1
    tools_part = b"\x1d" + _canonical(list(tools)) if tools else b""
    prefix_hash: str | None = None
    prefix_tokens: int | None = None
    if leading or tools_part:
        prefix_hash = hashlib.blake2b(
            b"".join(frames[:leading]) + tools_part, digest_size=16, person=b"tokenomy-pfx-v1"
        ).hexdigest()
        prefix_tokens = _PREFIX_TOKENS.get(prefix_hash)
        if prefix_tokens is None:  # a stable prefix is counted once per process
            prefix_tokens = _count(
                "\n".join(_text_of(m.get("content")) for m in msgs[:leading])
                + ("\n" + tools_part[1:].decode("utf-8") if tools_part else "")
            )
            if len(_PREFIX_TOKENS) >= _PREFIX_TOKENS_MAX:
                _PREFIX_TOKENS.pop(next(iter(_PREFIX_TOKENS)))  # the oldest entry
            _PREFIX_TOKENS[prefix_hash] = prefix_tokens
    hashed = {k: params[k] for k in HASHED_PARAMS if params and params.get(k) is not None}
    params_part = b"\x1c" + _canonical(hashed) if hashed else b""
    request_hash = hashlib.blake2b(
        b"".join(frames) + tools_part + params_part, digest_size=16, person=b"tokenomy-req-v1"
    ).hexdigest()
    text: str | None = None
    if _text_enabled():
        users = [m for m in msgs if m.get("role") == "user"]
        if users:
            text = _text_of(users[-1].get("content"))[:_TEXT_MAX]
    return RequestHashes(prefix_hash, request_hash, prefix_tokens, len(msgs), text)


#: ``prefix_tokens`` by ``prefix_hash`` (the same prefix has the same size): counting a long
#: system prompt with the tokenizer is most of a request's hashing time. Bounded, oldest out;
#: a lost race between threads only counts a prefix twice.
_PREFIX_TOKENS: dict[str, int] = {}
_PREFIX_TOKENS_MAX = 4096


def _count(text: str) -> int:
    from tokenomy.tokens._encoding import encoding_for_model

    try:
        return len(encoding_for_model("gpt-4o").encode(text, disallowed_special=()))
    except Exception:  # no tokenizer files: about four characters a token
        return (len(text) + 3) // 4


def resolve_request(
    source: Callable[[], NormalisedRequest | None] | NormalisedRequest | RequestHashes | None,
) -> RequestHashes | None:
    """The hashes of what a handler or wrapper passed as ``store_call(request=...)``: a
    callable returning the normalised request (called now), the request itself, or hashes
    already computed. ``None`` when there is none or normalising it fails (a record is never
    lost over its hashes)."""
    if source is None or isinstance(source, RequestHashes):
        return source
    try:
        req = source if isinstance(source, NormalisedRequest) else source()
        if req is None:
            return None
        return request_hashes(req.messages, tools=req.tools, params=req.params)
    except Exception:
        return None
