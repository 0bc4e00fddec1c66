"""The :class:`CostRecord`: one model call, priced and attributed."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from tokenomy.ledger._billed import BILLED_TOLERANCE, billed_mismatch
from tokenomy.pricing._model import Cost
from tokenomy.usage._model import USAGE_FIELDS, Usage

__all__ = ["BILLED_TOLERANCE", "CacheInfo", "CostRecord", "billed_mismatch", "new_id"]

CacheOutcome = Literal["miss", "exact", "semantic"]
CallKind = Literal["chat", "completion", "embedding", "other"]


def new_id() -> str:
    """A fresh record or run id: a random UUID4 string, the form LangChain run ids take.

    Built from ``os.urandom`` directly (about half the time of ``str(uuid.uuid4())``; ids are
    made on every recorded call).
    """
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _now() -> datetime:
    return datetime.now(UTC)


class CacheInfo(BaseModel):
    """The cache outcome of a call: a hit spends $0 and ``saved`` holds what it would have cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: CacheOutcome = "miss"
    saved: Decimal | None = None
    similarity: float | None = None

    @field_serializer("saved")
    def _ser_saved(self, v: Decimal | None) -> str | None:
        return None if v is None else str(v)


_MISS = CacheInfo()
_NO_USAGE = Usage()


class CostRecord(BaseModel):
    """One model call: who made it, what it used, what it cost.

    No prompt or completion text is kept. ``cost`` is ``None`` when the model has no known
    price (``priced`` is then false): never $0. ``usable`` can be set later (for example by a
    quality gate) through :meth:`LedgerStore.mark_usable`. ``truncated`` is true when the
    response was cut by its length limit (OpenAI ``finish_reason="length"``, Anthropic
    ``stop_reason="max_tokens"``). A call whose pricing failed is recorded unpriced with tag
    ``unpriced_reason`` naming the error (see :func:`tokenomy.store_call`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    record_id: str = Field(default_factory=new_id)
    run_id: str | None = None
    parent_run_id: str | None = None
    root_run_id: str | None = None
    timestamp: datetime = Field(default_factory=_now)
    provider: str | None = None
    model: str = "unknown"
    kind: CallKind = "chat"
    usage: Usage = Field(default_factory=Usage)
    cost: Cost | None = None
    priced: bool = False
    estimated: bool = False
    latency_ms: float | None = None
    ttft_ms: float | None = None
    streamed: bool = False
    tags: dict[str, str] = Field(default_factory=dict)
    cache: CacheInfo = _MISS
    attempt: int = 1
    error: str | None = None
    usable: bool | None = None
    service_tier: str | None = None
    name: str | None = None
    framework: str | None = None
    truncated: bool = False
    billed_usd: Decimal | None = None
    # what the request was (tokenomy/_request_hash.py): hashes, never text unless opted in
    prefix_hash: str | None = None
    request_hash: str | None = None
    prefix_tokens: int | None = None
    message_count: int | None = None
    prompt_text: str | None = None

    # -- (de)serialisation of the two dataclass fields in the export shape ---------------

    @field_validator("usage", mode="before")
    @classmethod
    def _val_usage(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return Usage.from_dict({k: v[k] for k in v if k in USAGE_FIELDS or k == "estimated"})
        return v

    @field_validator("cost", mode="before")
    @classmethod
    def _val_cost(cls, v: Any) -> Any:
        if isinstance(v, dict):
            total = Decimal(str(v["total"]))
            parts = {k: Decimal(str(x)) for k, x in v.items() if k not in ("total", "model")}
            return Cost(total=total, parts=parts, model=str(v.get("model", "")))
        return v

    @field_validator("tags", mode="before")
    @classmethod
    def _val_tags(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): str(x) for k, x in v.items() if x is not None}
        return v

    @field_serializer("usage")
    def _ser_usage(self, v: Usage) -> dict[str, int]:
        return v.counts()

    @field_serializer("cost")
    def _ser_cost(self, v: Cost | None) -> dict[str, str] | None:
        return None if v is None else v.to_dict()

    @field_serializer("billed_usd")
    def _ser_billed(self, v: Decimal | None) -> str | None:
        return None if v is None else str(v)

    # -- trusted construction ----------------------------------------------------------

    @classmethod
    def _construct(cls, values: dict[str, Any], fields_set: set[str]) -> CostRecord:
        """A record of ``values`` (every field, of its declared type) without validation: what
        ``model_construct`` does for this model, minus its per-field loop. ``fields_set`` may
        be shared between records (pydantic copies it before changing it)."""
        record = object.__new__(cls)
        object.__setattr__(record, "__dict__", values)
        object.__setattr__(record, "__pydantic_fields_set__", fields_set)
        object.__setattr__(record, "__pydantic_extra__", None)
        object.__setattr__(record, "__pydantic_private__", None)
        return record

    # -- conveniences ----------------------------------------------------------------------

    @property
    def total_cost(self) -> Decimal | None:
        """USD spent on this call (``Decimal(0)`` for a cache hit; ``None`` when unpriced)."""
        return None if self.cost is None else self.cost.total

    @property
    def charged_usd(self) -> Decimal | None:
        """What the call cost as reports should count it: the provider's bill
        (``billed_usd``) where it reported one, else the price-book cost (``None`` when
        unpriced and unbilled)."""
        return self.billed_usd if self.billed_usd is not None else self.total_cost

    @property
    def billed_mismatch(self) -> bool:
        """True when the provider's bill and the price-book cost differ by more than
        :data:`BILLED_TOLERANCE` of the bill (or only one of them is known to be non-zero):
        see :func:`billed_mismatch`."""
        return billed_mismatch(self.billed_usd, self.total_cost)

    @property
    def is_cache_hit(self) -> bool:
        """True when the answer came from a cache (no provider call was made)."""
        return self.cache.outcome != "miss"

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON-ready dict of this record (the ``tokenomy export`` line)."""
        out: dict[str, Any] = self.model_dump(mode="json")
        usage_estimated = self.usage.estimated
        if usage_estimated and not out["estimated"]:
            out["estimated"] = True
        return out

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> CostRecord:
        """Inverse of :meth:`to_json_dict`."""
        data = dict(data)
        if data.get("estimated") and isinstance(data.get("usage"), dict):
            data["usage"] = {**data["usage"], "estimated": True}
        return cls.model_validate(data)
