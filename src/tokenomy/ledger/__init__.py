"""Cost records and the stores that keep them."""

from tokenomy.ledger._record import CacheInfo, CostRecord, new_id

__all__ = ["CacheInfo", "CostRecord", "new_id"]
