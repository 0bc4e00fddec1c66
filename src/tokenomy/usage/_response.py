""":func:`parse_response`: one raw provider response, as received or as recorded.

A response can be a JSON body, the text of a Server-Sent Events stream (``data:`` lines,
optionally with ``event:`` lines, as OpenAI, Anthropic and Gemini's ``alt=sse`` send them),
a JSON list of chunks or events (how many tools record a stream, and Gemini's
``streamGenerateContent`` without ``alt=sse``), newline-delimited JSON, or the same already
decoded (a mapping, an SDK object, a list). The wire format is told by the SHAPE of the
body, never by a provider label.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._detect import EXPECTED, detect_api, error_message
from tokenomy.usage._parsed import ParsedResponse
from tokenomy.usage._plain import is_sequence, to_plain
from tokenomy.usage._stream import StreamUsage

__all__ = ["iter_sse", "parse_response", "read_events"]

_EVENT_TYPES_PREFIXES = ("response.", "message_", "content_block_")


def iter_sse(text: str) -> Iterable[tuple[str | None, str]]:
    """``(event name, data)`` of each event of an SSE text (multi-line data joined)."""
    name: str | None = None
    data: list[str] = []
    for raw_line in text.splitlines():
        line = raw_line.rstrip("\r")
        if not line.strip():
            if data:
                yield name, "\n".join(data)
            name, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value.strip() or None
        elif field == "data":
            data.append(value)
    if data:
        yield name, "\n".join(data)


def _sse_events(text: str) -> list[Any]:
    events: list[Any] = []
    for index, (name, data) in enumerate(iter_sse(text)):
        payload = data.strip()
        if not payload or payload == "[DONE]":
            continue
        try:
            event = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise UsageParseError(
                f"event {index + 1} of the SSE stream is not JSON ({exc.msg} at char "
                f"{exc.pos}): {payload[:80]!r}",
                expected="'data:' lines holding JSON objects",
            ) from exc
        if isinstance(event, dict) and name and "type" not in event and name != "message":
            event["type"] = name
        events.append(event)
    return events


def _decode_text(body: str) -> tuple[Any, bool]:
    """(decoded body, streamed) of a text body."""
    text = body.lstrip("\ufeff").strip()
    if not text:
        raise UsageParseError("the response is empty", expected=EXPECTED)
    if text[0] in "{[":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if len(lines) > 1:
                try:  # newline-delimited JSON: one event per line
                    return [json.loads(ln) for ln in lines], True
                except json.JSONDecodeError:
                    pass
            raise UsageParseError(
                f"the response looks like JSON but does not parse ({exc.msg} at line "
                f"{exc.lineno} column {exc.colno})",
                expected=EXPECTED,
            ) from exc
        return value, isinstance(value, list)
    if any(ln.startswith(("data:", "event:")) for ln in text.splitlines()):
        return _sse_events(text), True
    raise UsageParseError(
        f"the response is neither JSON nor SSE text (it starts {text[:40]!r})", expected=EXPECTED
    )


def _unwrap_chunk(event: Any) -> Any:
    """A boto3 InvokeModelWithResponseStream chunk ``{"chunk": {"bytes": ...}}``, decoded."""
    if isinstance(event, Mapping) and isinstance(event.get("chunk"), Mapping):
        payload = event["chunk"].get("bytes")
        if isinstance(payload, str):
            try:
                payload = base64.b64decode(payload, validate=True)
            except ValueError:
                payload = payload.encode()
        if isinstance(payload, (bytes, bytearray)):
            try:
                return json.loads(payload)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise UsageParseError(
                    f"a Bedrock stream chunk's bytes are not JSON: {exc}",
                    expected="chunk.bytes holding a JSON event",
                ) from exc
    return event


def read_events(body: Any) -> tuple[list[Any], bool]:
    """The events of ``body`` (a single body is one event) and whether it was a stream."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageParseError(
                f"the response is not UTF-8 text (byte {exc.start})", expected=EXPECTED
            ) from exc
    streamed = False
    if isinstance(body, str):
        body, streamed = _decode_text(body)
    plain = to_plain(body)
    if is_sequence(plain):
        events = [_unwrap_chunk(e) for e in plain]
        if not events:
            raise UsageParseError("the stream is an empty list", expected=EXPECTED)
        return events, True
    if isinstance(plain, Mapping):
        kind = plain.get("type")
        event_like = isinstance(kind, str) and kind.startswith(_EVENT_TYPES_PREFIXES)
        return [_unwrap_chunk(plain)], streamed or event_like
    raise UsageParseError(f"cannot read a response from a {type(body).__name__}", expected=EXPECTED)


def parse_response(
    body: str | bytes | Mapping[str, Any] | Any, *, provider: str | None = None
) -> ParsedResponse:
    """Parse one raw provider response into a :class:`ParsedResponse`.

    ``body`` is a JSON body (text, bytes or decoded), SSE text, a JSON list of stream
    chunks/events, or an SDK response object. ``provider`` is a label kept in the result
    when it fits the body (``"azure"`` for an OpenAI-format body, ``"bedrock"`` for an
    Anthropic-format one); the format itself is always told by the body's shape. Raises
    :class:`~tokenomy.exceptions.UsageParseError` naming what was expected when the body
    cannot be read or reports no usage.
    """
    events, streamed = read_events(body)
    stream = StreamUsage()
    for event in events:
        stream.feed(event)
    if stream.api is None and len(events) == 1 and isinstance(events[0], Mapping):
        problem = error_message(events[0])
        if problem is not None:
            raise UsageParseError(
                f"the body is an error response ({problem}), which reports no usage",
                expected=EXPECTED,
            )
        if detect_api(events[0]) == "langchain":
            raise UsageParseError(
                "this is a LangChain UsageMetadata, not a provider response: use "
                "tokenomy.usage.usage_from_langchain() (it has no model or provider)",
                expected=EXPECTED,
            )
        raise UsageParseError(
            f"no known response format (keys {sorted(events[0])[:12]})", expected=EXPECTED
        )
    return stream.result(provider=provider, streamed=streamed)
