"""Usage of streamed responses: :class:`StreamUsage` reads the events one at a time.

Where each format reports a stream's usage:

* OpenAI Chat Completions: the last chunk (``choices: []``) carries ``usage`` when the
  request set ``stream_options={"include_usage": True}``; without it there is none.
* OpenAI Responses: ``response.completed`` (or ``response.incomplete`` /
  ``response.failed``) carries the final ``response.usage``.
* Anthropic Messages: ``message_start`` has the prompt counts, ``message_delta`` the
  CUMULATIVE counts so far (it may repeat the input and cache fields). The latest non-null
  value of each field is kept; nothing is added up.
* Gemini: every chunk has ``usageMetadata`` with the counts so far; merged the same way.
* Bedrock: ConverseStream's ``metadata`` event; InvokeModel streams of Anthropic models
  are Anthropic events (plus ``amazon-bedrock-invocationMetrics`` in the last one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._anthropic import anthropic_usage
from tokenomy.usage._bedrock import METRICS_KEY, bedrock_headers, usage_from_bedrock
from tokenomy.usage._detect import detect_api, error_message
from tokenomy.usage._gemini import gemini_metadata, usage_from_gemini
from tokenomy.usage._model import Usage, UsageExtra
from tokenomy.usage._openai import usage_from_openai_chat, usage_from_openai_responses
from tokenomy.usage._parsed import ParsedResponse, provider_for
from tokenomy.usage._plain import as_mapping

__all__ = ["StreamUsage"]

_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Overwrite ``into`` with the non-null values of ``update`` (nested mappings merged)."""
    for key, value in update.items():
        if value is None:
            continue
        current = into.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            _merge(current, value)
        elif isinstance(value, Mapping):
            into[key] = {}
            _merge(into[key], value)
        else:
            into[key] = value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class StreamUsage:
    """Accumulates the usage and metadata of one streamed response, event by event.

    Feed every chunk or event (a dict, or the SDK's event object) in order with
    :meth:`feed`; the format is told by the first event's shape. :meth:`usage` is the usage
    so far (``None`` before any was reported), :meth:`result` the :class:`ParsedResponse`.
    Also accepts a whole non-streamed body as a single event.
    """

    def __init__(self) -> None:
        self.api: str | None = None
        self.model: str | None = None
        self.response_id: str | None = None
        self.service_tier: str | None = None
        self.finish_reason: str | None = None
        self.events = 0
        self.error: str | None = None
        self._usage: dict[str, Any] | None = None
        self._bedrock: Mapping[str, Any] | None = None
        self._output: list[Any] | None = None  # a Responses response's output items
        self._tools: list[Any] | None = None  # ... and its tools (the image model, if named)

    def feed(self, event: Any) -> None:
        """Take one chunk or event into account (``None`` and ``"[DONE]"`` are ignored)."""
        if event is None or event == "[DONE]":
            return
        d = as_mapping(event)
        if d is None:
            raise UsageParseError(
                f"a stream event must be a mapping or an SDK event object, got "
                f"{type(event).__name__}",
                expected="one chunk or event of a streamed response",
            )
        self.events += 1
        problem = error_message(d)
        if problem is not None and d.get("type") in (None, "error"):
            self.error = problem
            if not isinstance(d.get("usage"), Mapping):
                return
            # OpenRouter ends a failed stream with an error chunk that still carries what
            # was billed: keep its usage (the record says the stream ended in an error)
        api = detect_api(d)
        if api is None or api == "langchain":
            return
        if self.api is None:
            self.api = api
        elif api != self.api:
            return
        if api in ("chat.completions", "completions", "embeddings"):
            self._feed_chat(d)
        elif api == "responses":
            self._feed_responses(d)
        elif api == "messages":
            self._feed_messages(d)
        elif api == "gemini":
            self._feed_gemini(d)
        else:
            self._feed_bedrock(d)

    def _set(self, *, model: Any = None, rid: Any = None, tier: Any = None) -> None:
        self.model = _text(model) or self.model
        self.response_id = _text(rid) or self.response_id
        self.service_tier = _text(tier) or self.service_tier

    def _feed_chat(self, d: Mapping[str, Any]) -> None:
        self._set(model=d.get("model"), rid=d.get("id"), tier=d.get("service_tier"))
        choices = d.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, Mapping) and _text(choice.get("finish_reason")):
                    self.finish_reason = choice["finish_reason"]
        usage = d.get("usage")
        if isinstance(usage, Mapping):
            self._usage = dict(usage)

    def _feed_responses(self, d: Mapping[str, Any]) -> None:
        kind = d.get("type")
        resp = d.get("response")
        if not isinstance(resp, Mapping):
            resp = d if d.get("object") == "response" or "usage" in d else None
        if resp is None:
            return
        self._set(model=resp.get("model"), rid=resp.get("id"), tier=resp.get("service_tier"))
        usage = resp.get("usage")
        if isinstance(usage, Mapping):
            self._usage = dict(usage)
        output = resp.get("output")
        if isinstance(output, list) and output:
            self._output = output
        tools = resp.get("tools")
        if isinstance(tools, list) and tools:
            self._tools = tools
        status = resp.get("status")
        if kind in _TERMINAL or (kind is None and status not in (None, "in_progress", "queued")):
            details = resp.get("incomplete_details")
            reason = details.get("reason") if isinstance(details, Mapping) else None
            self.finish_reason = _text(reason) or _text(status) or self.finish_reason
            err = resp.get("error")
            if isinstance(err, Mapping) and err.get("message"):
                self.error = str(err["message"])

    def _merge_usage(self, usage: Any) -> None:
        if isinstance(usage, Mapping):
            if self._usage is None:
                self._usage = {}
            _merge(self._usage, usage)
            self.service_tier = _text(usage.get("service_tier")) or self.service_tier

    def _feed_messages(self, d: Mapping[str, Any]) -> None:
        kind = d.get("type")
        if kind in ("message_start", "message"):
            msg = d.get("message") if kind == "message_start" else d
            if isinstance(msg, Mapping):
                self._set(model=msg.get("model"), rid=msg.get("id"))
                self.finish_reason = _text(msg.get("stop_reason")) or self.finish_reason
                self._merge_usage(msg.get("usage"))
        elif kind == "message_delta":
            delta = d.get("delta")
            if isinstance(delta, Mapping):
                self.finish_reason = _text(delta.get("stop_reason")) or self.finish_reason
            self._merge_usage(d.get("usage"))
        elif kind is None and ("input_tokens" in d or "output_tokens" in d):
            self._merge_usage(d)
        if isinstance(d.get(METRICS_KEY), Mapping):
            self._bedrock = {METRICS_KEY: d[METRICS_KEY]}

    def _feed_gemini(self, d: Mapping[str, Any]) -> None:
        self._set(
            model=d.get("modelVersion") or d.get("model_version"),
            rid=d.get("responseId") or d.get("response_id"),
        )
        candidates = d.get("candidates")
        if isinstance(candidates, list):
            for cand in candidates:
                if isinstance(cand, Mapping):
                    reason = _text(cand.get("finishReason")) or _text(cand.get("finish_reason"))
                    self.finish_reason = reason or self.finish_reason
        meta = gemini_metadata(d)
        if meta is not None:
            if self._usage is None:
                self._usage = {}
            _merge(self._usage, meta)

    def _feed_bedrock(self, d: Mapping[str, Any]) -> None:
        stop = d.get("messageStop")
        if isinstance(stop, Mapping):
            self.finish_reason = _text(stop.get("stopReason")) or self.finish_reason
        self.finish_reason = _text(d.get("stopReason")) or self.finish_reason
        meta = d.get("ResponseMetadata")
        if isinstance(meta, Mapping):
            self.response_id = _text(meta.get("RequestId")) or self.response_id
        inner = d.get("metadata")
        source = inner if isinstance(inner, Mapping) else d
        if (
            isinstance(source.get("usage"), Mapping)
            or "inputTokens" in source
            or isinstance(source.get(METRICS_KEY), Mapping)
            or bedrock_headers(source) is not None
        ):
            self._bedrock = source

    def usage(self) -> Usage | None:
        """The usage reported so far (``None`` if none yet).

        When the stream ended in an error after reporting usage, the usage carries the error
        as its ``extra.note`` (the record is flagged with it)."""
        usage = self._read_usage()
        if usage is not None and self.error:
            usage = usage.with_extra(
                (usage.extra or UsageExtra())
                + UsageExtra(note=f"the stream ended with an error: {self.error}")
            )
        return usage

    def _read_usage(self) -> Usage | None:
        if self.api in ("chat.completions", "completions", "embeddings"):
            return None if self._usage is None else usage_from_openai_chat(self._usage)
        if self.api == "responses":
            if self._usage is None:
                return None
            return usage_from_openai_responses(
                {"usage": self._usage, "output": self._output or [], "tools": self._tools or []}
            )
        if self.api == "messages":
            if self._usage is not None:
                return anthropic_usage(self._usage)
            return None if self._bedrock is None else usage_from_bedrock(self._bedrock)
        if self.api == "gemini":
            return None if self._usage is None else usage_from_gemini(self._usage)
        if self.api == "bedrock" and self._bedrock is not None:
            return usage_from_bedrock(self._bedrock)
        return None

    def require_usage(self) -> Usage:
        """:meth:`usage`, or a :class:`UsageParseError` saying why there is none."""
        usage = self.usage()
        if usage is not None:
            return usage
        if self.events == 0:
            reason = "the stream has no events"
        elif self.api is None:
            reason = f"none of the stream's {self.events} events is in a known format"
        else:
            reason = f"the {self.api} stream ({self.events} events) reports no usage"
        if self.error:
            reason += f"; it ended with an error: {self.error}"
        if self.api == "chat.completions":
            expected = (
                "a final chunk with 'usage': request it with stream_options={'include_usage': True}"
            )
        else:
            expected = "the stream's final event with usage (the stream may have been cut short)"
        raise UsageParseError(reason, expected=expected)

    def result(self, *, provider: str | None = None, streamed: bool = True) -> ParsedResponse:
        """The :class:`ParsedResponse` of the stream (raises if no usage was reported)."""
        usage = self.require_usage()
        api = self.api or "unknown"
        return ParsedResponse(
            provider=provider_for(api, provider),
            api=api,
            model=self.model,
            usage=usage,
            streamed=streamed,
            service_tier=self.service_tier,
            response_id=self.response_id,
            finish_reason=self.finish_reason,
        )
