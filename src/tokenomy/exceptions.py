"""The tokenomy error tree and warning classes.

Every error is typed, carries the numbers that caused it, and says what to do next::

    TokenomyError
    ├── ConfigurationError                 bad settings or arguments
    │   └── MissingDependencyError         an optional extra is not installed (names the extra)
    ├── PricingError
    │   ├── UnknownModelPriceError         strict mode: no price for a model (names it, says how to add one)
    │   ├── PriceFileError                 an overrides file cannot be read
    │   └── UnpricedCallError              a call was recorded unpriced because pricing failed (carries it)
    ├── UsageParseError                    a provider response could not be read (says what was expected)
    ├── LedgerError
    │   └── LedgerFileError                a database file is corrupt or not a tokenomy ledger (never overwritten)
    ├── TokenCountError                    a request body cannot be tokenized
    ├── MemoryBudgetError                  what a call must send does not fit a memory's token budget
    └── BudgetError
        ├── BudgetExceededError            a call would pass a budget's hard limit (raised before sending)
        └── BudgetStoreError               a budget store cannot be reached or read (fail-closed)
    └── CircuitOpenError                   a provider/model's circuit breaker is open (raised before sending)

    TokenomyWarning (UserWarning)
    ├── UnknownModelPriceWarning           emitted once per model: its records are unpriced (cost None)
    └── EstimatedUsageWarning              usage was estimated because the provider reported none
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BudgetError",
    "BudgetExceededError",
    "BudgetStoreError",
    "CircuitOpenError",
    "ConfigurationError",
    "EstimatedUsageWarning",
    "LedgerError",
    "LedgerFileError",
    "MemoryBudgetError",
    "MissingDependencyError",
    "PriceFileError",
    "PricingError",
    "TokenCountError",
    "TokenomyDeprecationWarning",
    "TokenomyError",
    "TokenomyWarning",
    "UnknownModelPriceError",
    "UnknownModelPriceWarning",
    "UnpricedCallError",
    "UsageParseError",
]


class TokenomyError(Exception):
    """Base class of every error tokenomy raises."""


class ConfigurationError(TokenomyError, ValueError):
    """A setting or argument is invalid."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        self.feature = feature
        super().__init__(
            f"{feature} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'tokenomy[{extra}]'"
        )


class PricingError(TokenomyError):
    """Base class of pricing errors."""


class UnknownModelPriceError(PricingError, LookupError):
    """Strict pricing found no price for ``model``."""

    def __init__(self, model: str, provider: str | None = None, tried: tuple[str, ...] = ()) -> None:
        self.model = model
        self.provider = provider
        self.tried = tried
        where = f" (provider {provider!r})" if provider else ""
        super().__init__(
            f"No price known for model {model!r}{where}; tried {list(tried) or [model]}. "
            f"Add one with PriceBook.with_overrides({{{model!r}: ModelPrice(input=..., output=...)}}), "
            f"a prices file (TOKENOMY_PRICES=prices.toml with [models.{model!r}] "
            f"input_per_million/output_per_million), or map it to a known model with "
            f"aliases={{{model!r}: 'gpt-4o'}}."
        )


class UnpricedCallError(PricingError):
    """Pricing a call failed (strict mode and an unknown model, a malformed price file...), so
    it was recorded *unpriced* (tag ``unpriced_reason`` = the error's class name), then this
    was raised. ``stored`` is the stored call (``stored.to_record()`` is its record),
    ``cause`` the pricing error."""

    def __init__(self, stored: Any, cause: BaseException) -> None:
        self.stored = stored
        self.cause = cause
        super().__init__(
            f"the call to model {stored.model!r} was recorded unpriced (record "
            f"{stored.record_id}) because pricing failed: {cause}. Its cost is unknown, not "
            f"zero; fix the price (a price file, PriceBook.with_overrides) or turn strict mode "
            f"off, and check wrappers with PriceBook.check() before sending"
        )


class PriceFileError(PricingError, ValueError):
    """A price overrides file could not be read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Cannot read prices from {path}: {reason}")


class UsageParseError(TokenomyError, ValueError):
    """A provider response could not be turned into :class:`~tokenomy.Usage`."""

    def __init__(self, reason: str, *, expected: str | None = None) -> None:
        self.reason = reason
        self.expected = expected
        msg = reason if expected is None else f"{reason}. Expected {expected}"
        super().__init__(msg)


class LedgerError(TokenomyError):
    """Base class of ledger errors."""


class LedgerFileError(LedgerError):
    """A ledger database is corrupt, foreign or from a newer tokenomy; it is left untouched."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"{path} cannot be used as a tokenomy ledger: {reason}. The file was not modified; "
            f"point TOKENOMY_LEDGER (or --ledger) at another path."
        )


class TokenCountError(TokenomyError, ValueError):
    """A request body could not be tokenized."""


class MemoryBudgetError(TokenomyError, ValueError):
    """What a call must send (system messages, the current user turn, its last tool results)
    is larger than a conversation memory's token budget, so no window fits it."""

    def __init__(self, needed: int, budget: int) -> None:
        self.needed = needed
        self.budget = budget
        super().__init__(
            f"the conversation's system messages and current turn need {needed} tokens, over "
            f"the memory's budget of {budget}; raise max_tokens to at least {needed} or "
            f"shorten the system prompt / the current message"
        )


class BudgetError(TokenomyError):
    """Base class of budget errors."""


class BudgetExceededError(BudgetError):
    """A call would pass a budget's hard limit; raised before any request is sent.

    ``budget``: the budget's name; ``scope``: the tag values it was kept for (``{}`` for a
    global budget); ``limit``/``spent``/``reserved``: in USD (``Decimal``) for a dollar limit,
    in tokens (``int``) for a token limit (``unit`` says which); ``needed``: the least this
    call would have reserved; ``resets_at``: when the window starts afresh (``None`` for
    windows that do not reset by the clock: per request, per run).
    """

    def __init__(
        self,
        *,
        budget: str,
        scope: dict[str, str],
        unit: str,
        limit: Any,
        spent: Any,
        reserved: Any,
        needed: Any,
        resets_at: Any,
        model: str | None = None,
    ) -> None:
        self.budget = budget
        self.scope = scope
        self.unit = unit
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.needed = needed
        self.resets_at = resets_at
        self.model = model
        money = unit == "usd"

        def show(v: Any) -> str:
            return f"${v}" if money else f"{v} tokens"

        where = ", ".join(f"{k}={v}" for k, v in scope.items()) or "global"
        when = f"; the window resets at {resets_at.isoformat()}" if resets_at else ""
        super().__init__(
            f"budget {budget!r} ({where}) cannot take this call"
            f"{f' to {model}' if model else ''}: limit {show(limit)}, spent {show(spent)}, "
            f"reserved by calls in flight {show(reserved)}, this call needs at least "
            f"{show(needed)}{when}. Raise the limit, wait for the reset, or use "
            "on_exceed='downgrade' with a cheaper model."
        )


class BudgetStoreError(BudgetError):
    """A budget store could not be reached or read. With ``fail_open=False`` (the default) the
    call is refused; the message names the store and the cause."""

    def __init__(self, store: str, reason: str) -> None:
        self.store = store
        self.reason = reason
        super().__init__(
            f"budget store {store} is unavailable ({reason}); the call was refused before "
            "sending. Check the server, or set Budget(fail_open=True) to let calls through "
            "unbudgeted while it is down."
        )


class CircuitOpenError(TokenomyError):
    """A circuit breaker is open for ``provider``/``model``: the call was refused before
    anything was sent. ``opened_at``: when it opened; ``retry_at``: when a trial call will
    be let through (both timezone-aware datetimes, UTC); ``failures``: the consecutive
    failures that opened it."""

    def __init__(
        self, *, provider: str | None, model: str | None, opened_at: Any, retry_at: Any,
        failures: int,
    ) -> None:
        self.provider = provider
        self.model = model
        self.opened_at = opened_at
        self.retry_at = retry_at
        self.failures = failures
        where = f"{provider or 'unknown provider'}/{model or 'default model'}"
        super().__init__(
            f"circuit breaker open for {where} since {opened_at.isoformat()} after {failures} "
            f"consecutive failures; a trial call will be let through at {retry_at.isoformat()}. "
            "Wait, or configure CircuitBreaker(fallback_model=...) to fall through to another "
            "model."
        )


class TokenomyWarning(UserWarning):
    """Base class of tokenomy warnings."""


class UnknownModelPriceWarning(TokenomyWarning):
    """A model has no known price; its records are marked unpriced (cost ``None``), never $0."""


class EstimatedUsageWarning(TokenomyWarning):
    """The provider reported no usage, so tokens were estimated (records flagged ``estimated``)."""


class TokenomyDeprecationWarning(DeprecationWarning):
    """A tokenomy API is deprecated."""
