"""Gates for numeric answers (GSM8K-style word problems), no model needed.

:class:`FinalNumber` (a final answer can be read: ``#### 42``, ``The answer is 42``, or the last
number; optionally a whole number), :class:`ArithmeticCheck` (every calculation the answer
writes down, ``<<3*60=180>>`` or ``3 x 60 = 180``, is right: recomputed with a small safe
evaluator, never ``eval``), :class:`UsesPromptNumbers` (the answer uses the numbers the question
gives) and :class:`PromptChars` (the question is short: long ones are harder).
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

from tokenomy.pipeline import ModelRequest, ModelResponse
from tokenomy.routing._gate import Gate, Verdict

__all__ = [
    "ArithmeticCheck",
    "FinalNumber",
    "PromptChars",
    "UsesPromptNumbers",
    "calculate",
    "calculations",
    "final_number",
    "prompt_text",
]

_NUMBER = r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+"
_MARKED = re.compile(r"(?:####|answer is|answer:)\s*\**\s*[$€£]?\s*(" + _NUMBER + ")", re.I)
_ANY = re.compile(_NUMBER)


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def final_number(text: str) -> float | None:
    """The answer's final number: after ``####`` / "answer is" (the last such mark), else the
    last number in the text; ``None`` when there is none."""
    marked = _MARKED.findall(text)
    if marked:
        return _number(marked[-1])
    found = _ANY.findall(text)
    return _number(found[-1]) if found else None


def prompt_text(request: ModelRequest) -> str:
    """The request's prompt: the completion prompt, or its user messages' text joined."""
    if request.kind == "completion":
        return request.prompt or ""
    parts = []
    for message in request.messages:
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "\n".join(parts)


class FinalNumber(Gate):
    """A final number can be read from the answer: marked (``####``, "answer is"), or with
    ``marked=False`` any last number; ``whole=True``: and it is a whole number >= 0."""

    name = "final_number"

    def __init__(self, *, marked: bool = True, whole: bool = False) -> None:
        self.marked = marked
        self.whole = whole

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        text = response.text
        if self.marked:
            found = _MARKED.findall(text)
            value = _number(found[-1]) if found else None
        else:
            value = final_number(text)
        if value is None:
            return Verdict.of(False, "no final number")
        if self.whole and (value != int(value) or value < 0):
            return Verdict.of(False, f"final number {value:g} is not a whole number")
        return Verdict.of(True, f"final number {value:g}")


_OPS: dict[type[Any], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 12:
            raise ValueError("exponent too large")
        return float(_OPS[type(node.op)](left, right))
    raise ValueError("not arithmetic")


def calculate(expression: str) -> float | None:
    """``expression`` (numbers, + - * / // % ** and brackets; ``x``/``×`` as times) computed,
    or ``None`` when it is not plain arithmetic."""
    text = expression.replace(",", "").replace("×", "*").replace("÷", "/").replace("^", "**")
    text = re.sub(r"(?<=[\d)\s])x(?=[\s\d(])", "*", text).replace("$", "")
    try:
        return _evaluate(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None


_ANNOTATED = re.compile(r"<<([^=<>]+)=([^<>]+)>>")
_REPEATED = re.compile(r"<<[^=<>]+=[^<>]+>>\s*[\d,]*(?:\.\d+)?")
_WRITTEN = re.compile(
    r"(?<![\w.])((?:\$?\d[\d,]*(?:\.\d+)?\s*[-+*/x×÷]\s*)+\$?\d[\d,]*(?:\.\d+)?)"
    r"\s*=\s*\$?(-?\d[\d,]*(?:\.\d+)?)"
)


def calculations(text: str) -> list[tuple[str, float, float]]:
    """The calculations ``text`` writes down, in text order: ``(expression, computed value,
    stated result)`` for each ``<<a*b=c>>`` annotation and each written ``a x b = c`` (one an
    annotation repeats counted once), those that are plain arithmetic."""
    found: list[tuple[int, str, str]] = [
        (m.start(), m.group(1), m.group(2)) for m in _ANNOTATED.finditer(text)
    ]
    # a written step an annotation repeats (``13 - 4 = <<13-4=9>>9``) is counted once
    rest = _REPEATED.sub(lambda m: " " * len(m.group(0)), text)
    found.extend((m.start(), m.group(1), m.group(2)) for m in _WRITTEN.finditer(rest))
    out = []
    for _, expression, stated in sorted(found):
        value, claim = calculate(expression), _number(stated.strip().rstrip("."))
        if value is not None and claim is not None:
            out.append((expression.strip(), value, claim))
    return out


class ArithmeticCheck(Gate):
    """Every calculation the answer writes (``<<a*b=c>>`` annotations and ``a x b = c``) is
    right within ``tolerance`` (relative; rounding to cents passes). Score: the share right
    (1.0 when the answer shows none)."""

    name = "arithmetic"

    def __init__(self, *, tolerance: float = 0.01) -> None:
        self.tolerance = tolerance

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        checked = wrong = 0
        first = ""
        for expression, value, claim in calculations(response.text):
            checked += 1
            if abs(value - claim) > self.tolerance * max(1.0, abs(value)):
                wrong += 1
                first = first or f"{expression} = {claim:g}"
        if not checked:
            return Verdict(True, 1.0, "no calculation shown")
        score = 1.0 - wrong / checked
        if wrong:
            return Verdict(False, score, f"{wrong} of {checked} calculations wrong ({first})")
        return Verdict(True, score, f"{checked} calculations right")


class UsesPromptNumbers(Gate):
    """The answer mentions every number the question gives but ``max_unused`` (an answer that
    ignores a given quantity is often wrong)."""

    name = "uses_prompt_numbers"

    def __init__(self, *, max_unused: int = 0) -> None:
        self.max_unused = max_unused

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        given = {n.replace(",", "") for n in _ANY.findall(prompt_text(request))}
        used = {n.replace(",", "") for n in _ANY.findall(response.text)}
        unused = len(given - used)
        score = 1.0 if not given else 1.0 - unused / len(given)
        return Verdict(unused <= self.max_unused, score, f"{unused} given numbers unused")


class PromptChars(Gate):
    """The question is at most ``limit`` characters (a long question is a hard one: its cheap
    answer is escalated)."""

    name = "prompt_chars"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        size = len(prompt_text(request))
        score = 1.0 if size <= self.limit else self.limit / size
        return Verdict(size <= self.limit, score, f"prompt {size} chars")
