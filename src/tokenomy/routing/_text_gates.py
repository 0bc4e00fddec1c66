"""Gates that read the answer alone: its structure, content, markers, confidence, logprobs.

None calls a model, so each costs microseconds: :class:`StructuredOutput` (a pydantic model or
a JSON schema), :class:`Matches` (a regex that must, or must not, match), :class:`Markers`
(refusal and uncertainty phrases, and the ``UNCERTAIN`` answer :class:`Uncertain` asks for),
:class:`SelfConfidence` (a confidence the model reports), :class:`Logprobs` (token
log-probabilities, when the provider returned them), :class:`NotTruncated` and
:class:`Verifier` (your own check).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline import ModelRequest, ModelResponse
from tokenomy.routing._gate import Gate, Verdict

__all__ = [
    "CONFIDENCE_INSTRUCTION",
    "REFUSAL_MARKERS",
    "UNCERTAIN_INSTRUCTION",
    "Markers",
    "Matches",
    "NotTruncated",
    "SelfConfidence",
    "StructuredOutput",
    "Uncertain",
    "Verifier",
    "logprobs_of",
    "with_instruction",
]

#: phrases that mark a refusal or an unsure answer (matched case-insensitively)
REFUSAL_MARKERS: tuple[str, ...] = (
    "i can't help",
    "i cannot help",
    "i can't assist",
    "i cannot assist",
    "i'm not able to",
    "i am not able to",
    "i'm unable to",
    "i am unable to",
    "i don't know",
    "i do not know",
    "i'm not sure",
    "i am not sure",
    "not enough information",
    "cannot be determined",
    "as an ai",
)

UNCERTAIN_INSTRUCTION = (
    "If you are not sure you can answer correctly, reply with the single word UNCERTAIN "
    "and nothing else."
)
CONFIDENCE_INSTRUCTION = (
    "After your answer, add a last line 'Confidence: N' where N (0-100) is how sure you are "
    "that the answer is correct."
)


def with_instruction(request: ModelRequest, instruction: str) -> ModelRequest:
    """``request`` with ``instruction`` added to its system message (one is added first when
    there is none); a completion prompt gets it as a first line."""
    if request.kind == "completion":
        return request.replace(prompt=f"{instruction}\n\n{request.prompt or ''}")
    messages = [dict(m) for m in request.messages]
    for message in messages:
        if message.get("role") == "system" and isinstance(message.get("content"), str):
            if instruction not in message["content"]:
                message["content"] = f"{message['content']}\n\n{instruction}"
            return request.replace(messages=messages)
    return request.replace(messages=[{"role": "system", "content": instruction}, *messages])


def _answer_json(response: ModelResponse) -> Any:
    calls = response.tool_calls
    if calls:
        arguments = (calls[0].get("function") or {}).get("arguments")
        return json.loads(arguments) if isinstance(arguments, str) else arguments
    text = response.text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.S)
    return json.loads(fenced.group(1) if fenced else text)


class StructuredOutput(Gate):
    """The answer (its text, or its first tool call's arguments) is JSON that validates
    against ``schema``: a pydantic model class or a JSON schema dict (validated with the
    ``jsonschema`` package when installed, else its ``type``/``required``/``properties``/
    ``enum``/``items`` keywords)."""

    name = "structured_output"

    def __init__(self, schema: type[Any] | Mapping[str, Any]) -> None:
        if not isinstance(schema, Mapping) and not hasattr(schema, "model_validate"):
            raise ConfigurationError(
                "StructuredOutput takes a pydantic model class or a JSON schema dict, got "
                f"{schema!r}"
            )
        self.schema = schema

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        try:
            value = _answer_json(response)
        except (ValueError, TypeError) as exc:
            return Verdict.of(False, f"not JSON ({type(exc).__name__})")
        schema = self.schema
        if not isinstance(schema, Mapping):
            try:
                schema.model_validate(value)
            except Exception as exc:  # pydantic.ValidationError
                return Verdict.of(False, f"invalid: {str(exc).splitlines()[0]}")
            return Verdict.of(True, "valid")
        problem = _schema_problem(value, schema)
        return Verdict.of(problem is None, problem or "valid")


def _schema_problem(value: Any, schema: Mapping[str, Any]) -> str | None:
    import importlib

    try:
        jsonschema: Any = importlib.import_module("jsonschema")
    except ImportError:
        return _mini_problem(value, schema, "$")
    try:
        jsonschema.validate(value, dict(schema))
    except jsonschema.ValidationError as exc:
        return f"invalid: {exc.message}"
    return None


_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def _mini_problem(value: Any, schema: Mapping[str, Any], at: str) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _TYPES:
        ok = isinstance(value, _TYPES[kind]) and not (
            kind in ("integer", "number") and isinstance(value, bool)
        )
        if not ok:
            return f"invalid: {at} is not {kind}"
    if "enum" in schema and value not in schema["enum"]:
        return f"invalid: {at} not in enum"
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                return f"invalid: {at}.{key} missing"
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                problem = _mini_problem(value[key], sub, f"{at}.{key}")
                if problem:
                    return problem
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            problem = _mini_problem(item, schema["items"], f"{at}[{i}]")
            if problem:
                return problem
    return None


class Matches(Gate):
    """The answer matches ``pattern`` (a regex, searched), or with ``absent=True`` must not."""

    name = "matches"

    def __init__(self, pattern: str, *, absent: bool = False, flags: int = 0) -> None:
        self.pattern = re.compile(pattern, flags)
        self.absent = absent

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        found = self.pattern.search(response.text) is not None
        if self.absent:
            return Verdict.of(not found, "found" if found else "absent")
        return Verdict.of(found, "matched" if found else f"no match for {self.pattern.pattern!r}")


class Markers(Gate):
    """Fails an answer holding a refusal or uncertainty marker (``markers``, matched
    case-insensitively), or answering ``UNCERTAIN``; also fails an empty answer with no tool
    call."""

    name = "markers"

    def __init__(self, markers: Sequence[str] = REFUSAL_MARKERS) -> None:
        self.markers = tuple(m.lower() for m in markers)

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        text = response.text
        if not text.strip() and not response.tool_calls:
            return Verdict.of(False, "empty answer")
        if re.match(r"^\W*UNCERTAIN\W*$", text.strip()):
            return Verdict.of(False, "answered UNCERTAIN")
        low = text.lower()
        for marker in self.markers:
            if marker in low:
                return Verdict.of(False, f"marker {marker!r}")
        return Verdict.of(True, "no marker")


class Uncertain(Markers):
    """:class:`Markers`, plus an instruction (``instruction``, in the system message) that
    lets the model answer ``UNCERTAIN`` rather than guess."""

    name = "uncertain"

    def __init__(
        self, instruction: str = UNCERTAIN_INSTRUCTION, markers: Sequence[str] = REFUSAL_MARKERS
    ) -> None:
        super().__init__(markers)
        self.instruction = instruction

    def prepare(self, request: ModelRequest) -> ModelRequest:
        return with_instruction(request, self.instruction)


class SelfConfidence(Gate):
    """The confidence the model reports (``Confidence: 85`` or ``85%``, read with
    ``pattern``) reaches ``minimum`` (0-1). ``ask=True`` adds :data:`CONFIDENCE_INSTRUCTION`.
    An answer with no confidence fails (score 0)."""

    name = "self_confidence"

    def __init__(
        self,
        minimum: float = 0.8,
        *,
        ask: bool = True,
        pattern: str = r"confidence\W{0,3}(\d{1,3}(?:\.\d+)?)\s*(%?)",
    ) -> None:
        if not 0.0 <= minimum <= 1.0:
            raise ConfigurationError(f"SelfConfidence minimum must be in [0, 1], got {minimum!r}")
        self.minimum = minimum
        self.ask = ask
        self.pattern = re.compile(pattern, re.I)

    def prepare(self, request: ModelRequest) -> ModelRequest:
        return with_instruction(request, CONFIDENCE_INSTRUCTION) if self.ask else request

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        found = self.pattern.findall(response.text)
        if not found:
            return Verdict(False, 0.0, "no confidence reported")
        number, percent = found[-1]
        value = float(number)
        value = value / 100.0 if percent or value > 1.0 else value
        value = max(0.0, min(1.0, value))
        return Verdict(value >= self.minimum, value, f"confidence {value:.2f}")


def logprobs_of(response: ModelResponse) -> list[float] | None:
    """The token log-probabilities of the answer: OpenAI chat ``choices[0].logprobs`` in
    ``response.raw``, or ``response_metadata['logprobs']`` of a LangChain message (the
    response's ``native``/``raw``); ``None`` when absent."""
    for source in (response.raw, response.native):
        for getter in (_from_openai, _from_metadata):
            found = getter(source)
            if found is not None:
                return found
    return None


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _from_openai(raw: Any) -> list[float] | None:
    choices = _get(raw, "choices")
    if isinstance(choices, Sequence) and choices:
        return _content_logprobs(_get(choices[0], "logprobs"))
    return None


def _from_metadata(raw: Any) -> list[float] | None:
    metadata = _get(raw, "response_metadata")
    return _content_logprobs(_get(metadata, "logprobs") if metadata is not None else None)


def _content_logprobs(block: Any) -> list[float] | None:
    content = _get(block, "content") if block is not None else None
    if not isinstance(content, Sequence) or not content:
        return None
    values = [_get(item, "logprob") for item in content]
    return [float(v) for v in values if isinstance(v, int | float)] or None


class Logprobs(Gate):
    """The answer's mean token probability (``exp`` of the mean log-probability) reaches
    ``minimum``. Ask the provider for them (``logprobs=True``); an answer without them
    passes with score ``missing_score`` (the gate cannot judge it)."""

    name = "logprobs"

    def __init__(self, minimum: float = 0.8, *, missing_score: float = 1.0) -> None:
        self.minimum = minimum
        self.missing_score = missing_score

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        values = logprobs_of(response)
        if not values:
            return Verdict(True, self.missing_score, "no logprobs")
        score = math.exp(sum(values) / len(values))
        return Verdict(score >= self.minimum, score, f"mean token p {score:.3f}")


class NotTruncated(Gate):
    """Fails an answer cut by the output-token limit (``finish_reason`` length/max_tokens)."""

    name = "not_truncated"

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        if response.truncated:
            return Verdict.of(False, f"finish_reason {response.finish_reason}")
        return Verdict.of(True, "complete")


class Verifier(Gate):
    """Your own check: ``fn(request, response)`` returns a bool (pass/fail) or a score in
    [0, 1] (passing at ``threshold``)."""

    name = "verifier"

    def __init__(
        self,
        fn: Callable[[ModelRequest, ModelResponse], bool | float],
        *,
        threshold: float = 0.5,
        name: str | None = None,
    ) -> None:
        self.fn = fn
        self.threshold = threshold
        if name:
            self.name = name

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        value = self.fn(request, response)
        if isinstance(value, bool):
            return Verdict.of(value, "verified" if value else "rejected")
        score = float(value)
        return Verdict(score >= self.threshold, score, f"score {score:.2f}")
