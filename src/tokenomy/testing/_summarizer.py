"""``FakeSummarizer``: a deterministic, local :class:`~tokenomy.Summarizer` for tests.

It calls no model: its answer is extractive (the previous summary, then the first words of
each new user and assistant line), with the usage a provider would report (counted by
:class:`MockSender`), so summary calls are recorded and priced as ``model``'s. ``fail``:
an exception to raise on every call (a failing summariser); ``calls`` counts the calls.
"""

from __future__ import annotations

from tokenomy.memory import Summarizer
from tokenomy.pipeline import ModelRequest, ModelResponse
from tokenomy.testing._pipeline import MockSender

__all__ = ["FakeSummarizer"]

_WORDS = 12


class FakeSummarizer(Summarizer):
    """Deterministic extractive summaries (module docstring)."""

    def __init__(
        self,
        *,
        model: str = "gpt-4o-mini",
        provider: str | None = "openai",
        fail: BaseException | None = None,
    ) -> None:
        self.model = model
        self.provider = provider
        self.fail = fail
        self.sender = MockSender(self._answer, model=model)

    @property
    def calls(self) -> int:
        """Summary requests received."""
        return self.sender.calls

    @property
    def requests(self) -> list[ModelRequest]:
        """The summary requests received, in order."""
        return self.sender.requests

    def send(self, request: ModelRequest) -> ModelResponse:
        return self.sender.send(request)

    async def asend(self, request: ModelRequest) -> ModelResponse:
        return await self.sender.asend(request)

    def _answer(self, request: ModelRequest) -> str | BaseException:
        if self.fail is not None:
            return self.fail
        prompt = str(request.messages[-1].get("content") or "")
        previous, _, rest = prompt.partition("New turns:\n")
        previous = previous.removeprefix("Summary so far:\n").strip()
        notes = []
        for line in rest.split("\n\nWrite the updated summary")[0].splitlines():
            if line.startswith(("User:", "Assistant:")):
                notes.append(" ".join(line.split()[:_WORDS]))
        return "\n".join([p for p in (previous, "; ".join(notes)) if p])
