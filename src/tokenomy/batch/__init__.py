"""Provider batch APIs (about half price, answers within 24 hours), run for the user.

:class:`BatchRunner` takes :class:`~tokenomy.ModelRequest` s, sends them through a
:class:`BatchAPI` (:class:`OpenAIBatchAPI`, :class:`AnthropicBatchAPI`, over the official SDK
clients), keeps the job in a :class:`BatchStore` (SQLite) so a crashed process resumes from
the job id without paying twice, retries only failed items, and records every item priced at
the batch rates under one run per job; :func:`batch_savings` compares that with the
synchronous price. :class:`Deferral` is the pipeline policy that queues requests tagged
deferrable (or whole features) and sends them as a batch when a size or age threshold is met.
"""

from __future__ import annotations

from tokenomy.batch._deferral import Deferral, DeferredItemError
from tokenomy.batch._provider import AnthropicBatchAPI, BatchAPI, ItemOutcome, OpenAIBatchAPI
from tokenomy.batch._runner import BatchItemResult, BatchJob, BatchJobError, BatchRunner
from tokenomy.batch._store import BatchStore
from tokenomy.batch._summary import BatchSavings, batch_savings

__all__ = [
    "AnthropicBatchAPI",
    "BatchAPI",
    "BatchItemResult",
    "BatchJob",
    "BatchJobError",
    "BatchRunner",
    "BatchSavings",
    "BatchStore",
    "Deferral",
    "DeferredItemError",
    "ItemOutcome",
    "OpenAIBatchAPI",
    "batch_savings",
]
