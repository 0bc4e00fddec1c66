"""``MemoryStats``: what one conversation's memory sent, what the full history would have
cost, and what its summaries cost. Kept as running totals (reading them costs nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["MemoryStats"]


@dataclass(slots=True)
class MemoryStats:
    """Running figures of one conversation (``conversation`` ``None``: the untagged one).

    * ``reads``: histories windowed (one per model call); ``tokens_sent`` /
      ``tokens_full``: their input tokens as sent (summary included) and as the full
      history would have been; ``last_sent``/``last_full`` the latest, ``largest_sent``.
    * ``cost_sent``/``cost_full``: those tokens priced as input of the target model
      (``None`` when it has no known price); :attr:`cost_saved` the difference.
    * ``summary_calls``/``summary_failures``/``summary_cost`` (``None`` once a summary call
      was unpriced)/``summary_input_tokens``/``summary_output_tokens``: the summary calls,
      also in the ledger with tag ``purpose=memory``; ``last_error`` the latest failure's
      class name; ``evicted``: messages folded into the summary (or dropped by a failed or
      impossible summary).
    """

    conversation: str | None = None
    reads: int = 0
    tokens_sent: int = 0
    tokens_full: int = 0
    last_sent: int = 0
    last_full: int = 0
    largest_sent: int = 0
    cost_sent: Decimal | None = Decimal(0)
    cost_full: Decimal | None = Decimal(0)
    summary_calls: int = 0
    summary_failures: int = 0
    summary_cost: Decimal | None = Decimal(0)
    summary_input_tokens: int = 0
    summary_output_tokens: int = 0
    evicted: int = 0
    last_error: str | None = None

    @property
    def tokens_saved(self) -> int:
        """Input tokens not sent thanks to the window."""
        return self.tokens_full - self.tokens_sent

    @property
    def cost_saved(self) -> Decimal | None:
        """What the unsent tokens would have cost (``None``: the model is unpriced)."""
        if self.cost_full is None or self.cost_sent is None:
            return None
        return self.cost_full - self.cost_sent

    @property
    def net_saved(self) -> Decimal | None:
        """:attr:`cost_saved` minus what the summaries cost."""
        saved = self.cost_saved
        if saved is None or self.summary_cost is None:
            return None
        return saved - self.summary_cost

    def add_read(
        self, sent: int, full: int, cost_sent: Decimal | None, cost_full: Decimal | None
    ) -> None:
        """Count one windowed history."""
        self.reads += 1
        self.tokens_sent += sent
        self.tokens_full += full
        self.last_sent, self.last_full = sent, full
        self.largest_sent = max(self.largest_sent, sent)
        self.cost_sent = (
            None if self.cost_sent is None or cost_sent is None else self.cost_sent + cost_sent
        )
        self.cost_full = (
            None if self.cost_full is None or cost_full is None else self.cost_full + cost_full
        )

    def add_summary(self, cost: Decimal | None, input_tokens: int, output_tokens: int) -> None:
        """Count one summary call that succeeded."""
        self.summary_calls += 1
        self.summary_cost = (
            None if self.summary_cost is None or cost is None else self.summary_cost + cost
        )
        self.summary_input_tokens += input_tokens
        self.summary_output_tokens += output_tokens

    def merge(self, other: MemoryStats) -> None:
        """Add ``other``'s figures to these (``last_*``/``last_error`` become ``other``'s)."""

        def plus(a: Decimal | None, b: Decimal | None) -> Decimal | None:
            return None if a is None or b is None else a + b

        self.reads += other.reads
        self.tokens_sent += other.tokens_sent
        self.tokens_full += other.tokens_full
        self.last_sent, self.last_full = other.last_sent, other.last_full
        self.largest_sent = max(self.largest_sent, other.largest_sent)
        self.cost_sent = plus(self.cost_sent, other.cost_sent)
        self.cost_full = plus(self.cost_full, other.cost_full)
        self.summary_calls += other.summary_calls
        self.summary_failures += other.summary_failures
        self.summary_cost = plus(self.summary_cost, other.summary_cost)
        self.summary_input_tokens += other.summary_input_tokens
        self.summary_output_tokens += other.summary_output_tokens
        self.evicted += other.evicted
        self.last_error = other.last_error or self.last_error

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (Decimals as strings)."""

        def money(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "conversation": self.conversation,
            "reads": self.reads,
            "tokens_sent": self.tokens_sent,
            "tokens_full": self.tokens_full,
            "tokens_saved": self.tokens_saved,
            "last_sent": self.last_sent,
            "last_full": self.last_full,
            "largest_sent": self.largest_sent,
            "cost_sent": money(self.cost_sent),
            "cost_full": money(self.cost_full),
            "cost_saved": money(self.cost_saved),
            "summary_calls": self.summary_calls,
            "summary_failures": self.summary_failures,
            "summary_cost": money(self.summary_cost),
            "summary_input_tokens": self.summary_input_tokens,
            "summary_output_tokens": self.summary_output_tokens,
            "net_saved": money(self.net_saved),
            "evicted": self.evicted,
            "last_error": self.last_error,
        }
