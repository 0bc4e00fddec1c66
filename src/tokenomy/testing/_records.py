"""What the simulator answered: one :class:`SimCall` per completed model call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenomy.testing._request import SimRequest
from tokenomy.usage import Usage

__all__ = ["SimCall"]


@dataclass(frozen=True, slots=True)
class SimCall:
    """One call the simulator answered successfully (HTTP 200, well-formed body or stream).

    ``usage`` is what the simulated provider billed, normalised the tokenomy way (``input``
    counts every prompt token, cached or not; ``output`` includes reasoning).
    ``usage_reported`` is false when the client could not see it (a chat stream without
    ``stream_options.include_usage``). ``model`` is the name reported back (after
    ``model_aliases``), ``requested_model`` the one asked for. Failed requests (injected
    errors, timeouts, malformed or truncated bodies) appear in ``sim.requests`` only.
    """

    request: SimRequest
    provider: str
    api: str
    model: str
    requested_model: str
    streamed: bool
    usage: Usage
    usage_reported: bool
    finish_reasons: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    #: the batch that answered it, and the item's ``custom_id`` (``None`` for direct calls)
    batch_id: str | None = None
    custom_id: str | None = None

    @property
    def body(self) -> Any:
        """The request body (parsed JSON)."""
        return self.request.body

    @property
    def output_text(self) -> str:
        """The first choice's answer text."""
        return self.outputs[0] if self.outputs else ""
