"""The provider's bill against the price book: when a call's two amounts differ.

Kept apart from the pydantic record (``_record.py`` re-exports both names) so that the
aggregations, which count mismatched calls, import no pydantic.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["BILLED_TOLERANCE", "billed_mismatch"]

#: How far the price-book cost may be from the provider's bill before a call is flagged
#: (``CostRecord.billed_mismatch``, tag ``billed_mismatch``): 3% of the bill.
BILLED_TOLERANCE = Decimal("0.03")


def billed_mismatch(billed: Decimal | None, cost: Decimal | None) -> bool:
    """True when a provider's bill ``billed`` and the price-book ``cost`` of the same call
    differ by more than :data:`BILLED_TOLERANCE` of the bill; an unpriced call with a
    non-zero bill differs; nothing billed (``None``) never does."""
    if billed is None:
        return False
    if cost is None:
        return billed != 0
    return abs(cost - billed) > billed * BILLED_TOLERANCE
