"""Gates that check a worked numeric answer against itself and its question, no model needed.

A GSM8K-style answer shows its calculations (``16 - 3 = 13``, ``<<9*2=18>>18``) and ends with a
final number. Wrong answers of a cheap model often betray themselves in that work:
:class:`ConsistentAnswer` (the final number is the result of a calculation the answer shows,
the last one best: a final number that comes from nowhere was guessed or re-stated),
:class:`AnswerLine` (the marked answer line is one number, not ``225 minutes or 3 hours``),
:class:`GroundedSteps` (every operand of the calculations is a number the question gives, in
digits or words, an earlier result, or a common constant: an invented quantity is a misread)
and :class:`ShowsWork` (the answer shows enough steps). Their scores feed the :class:`Scored`
gate that ``tokenomy route calibrate`` fits.
"""

from __future__ import annotations

import re

from tokenomy.pipeline import ModelRequest, ModelResponse
from tokenomy.routing._gate import Gate, Verdict
from tokenomy.routing._math_gates import _ANY, _MARKED, _number, calculations, final_number
from tokenomy.routing._math_gates import prompt_text as _prompt_text

__all__ = [
    "COMMON_CONSTANTS",
    "AnswerLine",
    "ConsistentAnswer",
    "GroundedSteps",
    "ShowsWork",
    "given_numbers",
]

#: numbers a worked answer may use without the question giving them (units, halves, percent)
COMMON_CONSTANTS: frozenset[float] = frozenset(
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 24, 28, 30, 31, 52, 60, 100, 365, 1000, 0.5, 0.25}
)

_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "half": 0.5, "twice": 2, "double": 2, "triple": 3, "thrice": 3, "quarter": 0.25,
    "third": 3, "dozen": 12, "once": 1,
}
_OPERAND = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SAME = 1e-6


def given_numbers(question: str) -> set[float]:
    """The numbers ``question`` gives: in digits (a percentage also as a fraction) and in
    words (``three``, ``half``, ``twice``, ``dozen``)."""
    found: set[float] = set()
    for text in _ANY.findall(question):
        value = _number(text)
        if value is not None:
            found.update((value, value / 100) if "%" in question else (value,))
    found.update(float(_WORDS[w]) for w in re.findall(r"[a-z]+", question.lower()) if w in _WORDS)
    return found


def _among(value: float, values: list[float] | set[float] | frozenset[float]) -> bool:
    return any(abs(value - v) <= _SAME * max(1.0, abs(v)) for v in values)


class ConsistentAnswer(Gate):
    """The final number is the result of a calculation the answer shows. Score 1.0 when it is
    the last calculation's result, 0.5 when an earlier one's (passes), 0.0 when it is none's
    or the answer shows no calculation (fails)."""

    name = "consistent_answer"

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        text = response.text
        final = final_number(text)
        results = [claim for _, _, claim in calculations(text)]
        if final is None:
            return Verdict.of(False, "no final number")
        if not results:
            return Verdict.of(False, "no calculation shown")
        if _among(final, results[-1:]):
            return Verdict(True, 1.0, f"{final:g} is the last calculation's result")
        if _among(final, results):
            return Verdict(True, 0.5, f"{final:g} is an earlier calculation's result")
        return Verdict.of(False, f"{final:g} is no calculation's result")


class AnswerLine(Gate):
    """The answer's last marked line (``#### 18``, ``The answer is $18.``) holds one number
    and nothing else but a currency sign, a percent sign or a full stop."""

    name = "answer_line"

    _CLEAN = re.compile(r"[$€£]?\s*-?[\d,]*\.?\d+\s*%?\s*\.?")

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        text = response.text
        marks = list(_MARKED.finditer(text))
        if not marks:
            return Verdict.of(False, "no marked answer line")
        start = marks[-1].start(1)
        line = text[start:].split("\n", 1)[0].strip().strip("*").strip()
        rest = text[start:].split("\n", 1)[1].strip() if "\n" in text[start:] else ""
        if self._CLEAN.fullmatch(line) and not rest:
            return Verdict.of(True, f"answer line {line!r}")
        return Verdict.of(False, f"answer line {line[:40]!r} is not one number")


class GroundedSteps(Gate):
    """Every operand of the answer's calculations is a number the question gives
    (:func:`given_numbers`), an earlier calculation's result or one of ``constants``. Score:
    the share grounded (1.0 when no calculation is shown)."""

    name = "grounded_steps"

    def __init__(self, *, constants: frozenset[float] | set[float] = COMMON_CONSTANTS) -> None:
        self.constants = frozenset(float(c) for c in constants)

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        known = given_numbers(_prompt_text(request)) | self.constants
        total = grounded = 0
        first = ""
        for expression, value, claim in calculations(response.text):
            for operand in _OPERAND.findall(expression):
                number = _number(operand)
                total += 1
                if number is not None and _among(number, known):
                    grounded += 1
                else:
                    first = first or operand
            known |= {value, claim}
        if not total:
            return Verdict(True, 1.0, "no calculation shown")
        score = grounded / total
        if grounded < total:
            return Verdict(False, score, f"{total - grounded} of {total} operands from nowhere "
                                         f"({first})")
        return Verdict(True, 1.0, f"{total} operands grounded")


class ShowsWork(Gate):
    """The answer shows at least ``min_steps`` calculations. Score: the share of
    ``min_steps`` shown (capped at 1.0)."""

    name = "shows_work"

    def __init__(self, *, min_steps: int = 3) -> None:
        self.min_steps = max(1, int(min_steps))

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        steps = len(calculations(response.text))
        score = min(1.0, steps / self.min_steps)
        return Verdict(steps >= self.min_steps, score, f"{steps} calculations shown")
