"""The :class:`PriceBook`: prices for thousands of models, overrides, name resolution."""

from __future__ import annotations

import os
import re
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokenomy.exceptions import UnknownModelPriceError, UnknownModelPriceWarning
from tokenomy.pricing._entries import entry_to_price
from tokenomy.pricing._model import Cost, ModelPrice
from tokenomy.pricing._names import normalise_provider, resolve_name
from tokenomy.pricing._snapshot import PriceSnapshot, load_bundled, load_litellm
from tokenomy.usage._model import Usage

__all__ = ["PriceBook", "get_price_book", "set_price_book"]

_DATED = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")


class PriceBook:
    """Prices by model, loaded lazily from the bundled litellm snapshot, plus user overrides.

    * :meth:`price` turns a :class:`~tokenomy.Usage` into a :class:`~tokenomy.pricing.Cost`
      (every dimension, long-context and service tiers, per-request fees), exactly in Decimal.
    * An unknown model is never $0: :meth:`price` returns ``None`` (the record is *unpriced*) and
      emits :class:`UnknownModelPriceWarning` once per model; with ``strict=True`` it raises
      :class:`UnknownModelPriceError` naming the model and how to add a price.
    * Books are immutable; :meth:`with_overrides` returns a new one sharing the loaded data.
    """

    def __init__(
        self,
        *,
        overrides: Mapping[str, ModelPrice] | None = None,
        aliases: Mapping[str, str] | None = None,
        strict: bool = False,
        source: str = "bundled",
        _data: tuple[PriceSnapshot, dict[str, dict[str, Any]]] | None = None,
    ) -> None:
        if source not in ("bundled", "litellm"):
            raise ValueError(f"source must be 'bundled' or 'litellm', not {source!r}")
        self._source = source
        self._data = _data
        self._overrides: dict[str, ModelPrice] = dict(overrides or {})
        self._aliases: dict[str, str] = {k: v for k, v in (aliases or {}).items()}
        self._aliases.update({k.lower(): v for k, v in (aliases or {}).items()})
        self.strict = strict
        self._lock = threading.Lock()
        self._prices: dict[str, ModelPrice | None] = {}
        self._resolved: dict[tuple[str, str | None], str | None] = {}
        self._entries: dict[tuple[str, str | None], tuple[str, ModelPrice] | None] = {}
        self._warned: set[str] = set()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def default(cls) -> PriceBook:
        """The process-wide book (see :func:`get_price_book`)."""
        return get_price_book()

    @classmethod
    def from_litellm(cls, **kwargs: Any) -> PriceBook:
        """A book over the installed litellm's own (newer, undated) price map."""
        return cls(source="litellm", **kwargs)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, strict: bool = False) -> PriceBook:
        """The bundled prices with the overrides and aliases of a TOML or JSON file."""
        from tokenomy.pricing._overrides import load_price_file

        models, aliases = load_price_file(Path(path))
        return cls(overrides=models, aliases=aliases, strict=strict)

    def with_overrides(
        self,
        models: Mapping[str, ModelPrice] | None = None,
        *,
        aliases: Mapping[str, str] | None = None,
        strict: bool | None = None,
    ) -> PriceBook:
        """A new book with these model prices and aliases on top of this one's."""
        book = PriceBook(
            overrides={**self._overrides, **(models or {})},
            aliases={**self._aliases, **(aliases or {})},
            strict=self.strict if strict is None else strict,
            source=self._source,
            _data=self._data,
        )
        return book

    # -- data ---------------------------------------------------------------------------

    def _load(self) -> tuple[PriceSnapshot, dict[str, dict[str, Any]]]:
        data = self._data
        if data is None:
            with self._lock:
                if self._data is None:
                    self._data = load_bundled() if self._source == "bundled" else load_litellm()
                data = self._data
        return data

    @property
    def snapshot(self) -> PriceSnapshot:
        """Which price data this book uses (``book.snapshot.version``)."""
        return self._load()[0]

    def __len__(self) -> int:
        return len(set(self._load()[1]) | set(self._overrides))

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.resolve(model) is not None

    def _entry_price(self, key: str) -> ModelPrice | None:
        try:
            return self._prices[key]
        except KeyError:
            pass
        if key in self._overrides:
            price: ModelPrice | None = self._overrides[key]
        else:
            entry = self._load()[1].get(key)
            price = None if entry is None else entry_to_price(entry, self.snapshot.version)
        self._prices[key] = price
        return price

    def _latest(self, base: str) -> str | None:
        base = base.lower()
        dated = [k for k in self._load()[1] if k.startswith(base + "-") and _DATED.search(k)]
        dated = [k for k in dated if _DATED.sub("", k) == base]
        return max(dated) if dated else None

    # -- lookups ------------------------------------------------------------------------

    def resolve(self, model: str, provider: str | None = None) -> str | None:
        """The key of the price entry ``model`` resolves to, or ``None``."""
        ck = (model, provider)
        try:
            return self._resolved[ck]
        except KeyError:
            pass
        key, _ = self._resolve_with_trail(model, provider)
        self._resolved[ck] = key
        return key

    def _resolve_with_trail(
        self, model: str, provider: str | None
    ) -> tuple[str | None, tuple[str, ...]]:
        known = _Known(self._overrides, self._load()[1])
        key, tried = resolve_name(model, provider, known, self._aliases, self._latest)
        if key is not None and self._entry_price(key) is None:
            return None, tried
        return key, tried

    def _priced_entry(
        self, model: str, provider: str | None = None
    ) -> tuple[str, ModelPrice] | None:
        """``(key, price)`` of the entry ``model`` resolves to, or ``None`` (no warning).

        One dict lookup once a name was seen: the recording hot path prices through this and
        :meth:`ModelPrice.priced`, and calls :meth:`_unknown` when it returns ``None``.
        """
        ck = (model, provider)
        try:
            return self._entries[ck]
        except KeyError:
            pass
        key = self.resolve(model, provider)
        price = None if key is None else self._entry_price(key)
        found = None if key is None or price is None else (key, price)
        self._entries[ck] = found
        return found

    def lookup(self, model: str, provider: str | None = None) -> ModelPrice | None:
        """The :class:`ModelPrice` of ``model`` or ``None`` (no warning)."""
        key = self.resolve(model, provider)
        return None if key is None else self._entry_price(key)

    def price(
        self,
        model: str,
        usage: Usage,
        *,
        provider: str | None = None,
        service_tier: str | None = None,
    ) -> Cost | None:
        """What ``usage`` on ``model`` cost, or ``None`` when the model has no known price."""
        key = self.resolve(model, provider)
        if key is None:
            self._unknown(model, provider)
            return None
        price = self._entry_price(key)
        if price is None:  # pragma: no cover - resolve() only returns priced keys
            self._unknown(model, provider)
            return None
        if usage.extra is not None and usage.extra.steps:
            from tokenomy.pricing._steps import price_with_steps

            costing, _ = price_with_steps(
                self, (key, price), usage, provider=provider, service_tier=service_tier
            )
            flat = costing[1]
            return Cost(
                total=costing[0],
                parts=dict(zip(flat[::2], flat[1::2], strict=True)),
                model=key,
                service_tier=costing[3],
                context_above=costing[4],
            )
        return price.cost(usage, model=key, service_tier=service_tier)

    def reset_warnings(self) -> None:
        """Forget which unknown models were already warned about (each warns once again)."""
        self._warned.clear()

    def check(self, model: str, provider: str | None = None) -> None:
        """Raise :class:`UnknownModelPriceError` when this book is strict and has no price for
        ``model``; a no-op otherwise (no warning either).

        For wrappers, before sending a request: in strict mode the call is refused before it
        is billed, instead of being recorded unpriced after it (see
        :func:`tokenomy.store_call`).
        """
        if self.strict and self._priced_entry(model, provider) is None:
            self._unknown(model, provider)

    def _unknown(self, model: str, provider: str | None) -> None:
        if self.strict:
            _, tried = self._resolve_with_trail(model, provider)
            raise UnknownModelPriceError(model, provider, tried)
        if model not in self._warned:
            self._warned.add(model)
            warnings.warn(
                f"No price known for model {model!r}"
                + (f" (provider {normalise_provider(provider)!r})" if provider else "")
                + ": its calls are recorded as unpriced (cost None), never $0. Add a price with "
                "PriceBook.with_overrides() or a TOKENOMY_PRICES file, or an alias to a known model.",
                UnknownModelPriceWarning,
                stacklevel=3,
            )


class _Known(Mapping[str, object]):
    """Membership over overrides and the snapshot without copying either."""

    def __init__(self, overrides: Mapping[str, ModelPrice], data: Mapping[str, Any]) -> None:
        self._o, self._d = overrides, data

    def __contains__(self, key: object) -> bool:
        return key in self._o or key in self._d

    def __getitem__(self, key: str) -> object:
        return self._o[key] if key in self._o else self._d[key]

    def __iter__(self) -> Any:
        yield from self._o
        yield from self._d

    def __len__(self) -> int:
        return len(self._o) + len(self._d)


_default: PriceBook | None = None
_default_lock = threading.Lock()


def get_price_book() -> PriceBook:
    """The process-wide book: the bundled snapshot, plus the overrides file named by
    ``TOKENOMY_PRICES`` and strict mode when ``TOKENOMY_STRICT_PRICES=1`` (read on first use)."""
    global _default
    book = _default
    if book is None:
        with _default_lock:
            if _default is None:
                strict = os.environ.get("TOKENOMY_STRICT_PRICES", "").lower() in ("1", "true")
                path = os.environ.get("TOKENOMY_PRICES")
                _default = (
                    PriceBook.from_file(path, strict=strict) if path else PriceBook(strict=strict)
                )
            book = _default
    return book


def set_price_book(book: PriceBook | None) -> PriceBook | None:
    """Replace the process-wide book (``None`` re-reads the environment); returns the old one."""
    global _default
    with _default_lock:
        old, _default = _default, book
    return old
