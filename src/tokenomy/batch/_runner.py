"""``BatchRunner``: many requests through a provider's batch API, durably and priced.

::

    submit(requests) ─► BatchStore: job + items (pending)            one transaction
        round: items ─► submitting ─► api.submit(...) ─► batch id ─► submitted
    step(job) (poll; or resume in a new process from the job id)
        a round still "submitting" (crashed mid-submit): api.find(key) ─► open, else pending
        an open round whose batch ended: outcomes ─► items done / pending again (a retry
            left) / failed, and one attempt row each ─────────────────────── one transaction
        attempts not yet in the ledger ─► store_call (service_tier="batch", one run per job:
            every item's record hangs under the job's run) ─► flush ─► marked recorded
        items pending ─► the next round (only them: the retried failures)
    wait(job) = step until nothing is pending or open (sleeping poll_interval between)

Nothing is submitted twice: an item goes into a round only from ``pending``; an outcome is
stored once per attempt; a stored outcome is never asked for again. The one window left is a
kill after the ledger took an attempt's record and before the store marked it recorded
(records are flushed, then marked, per chunk of 200).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenomy.batch._provider import BatchAPI
from tokenomy.batch._store import BatchStore, ItemRow, JobRow
from tokenomy.batch._summary import BATCH_TAG
from tokenomy.batch._wire import response_from_body
from tokenomy.exceptions import ConfigurationError, TokenomyError
from tokenomy.pipeline import ModelRequest, ModelResponse

if TYPE_CHECKING:
    from tokenomy.ledger import LedgerStore
    from tokenomy.pricing import PriceBook

__all__ = ["BatchItemResult", "BatchJob", "BatchJobError", "BatchRunner"]


class BatchJobError(TokenomyError):
    """A batch job cannot go on (unknown job id, a job of another provider, a timeout)."""

    def __init__(self, message: str, *, job_id: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id


@dataclass(frozen=True, slots=True)
class BatchItemResult:
    """One input's outcome: its answer, or the last error after its retries."""

    index: int
    custom_id: str
    request: ModelRequest
    response: ModelResponse | None
    error: str | None
    attempts: int

    @property
    def ok(self) -> bool:
        return self.response is not None


def _request_dict(request: ModelRequest) -> dict[str, Any]:
    return {
        "model": request.model,
        "provider": request.provider,
        "messages": [dict(m) for m in request.messages],
        "params": dict(request.params),
        "tags": dict(request.tags),
        "kind": request.kind,
        "name": request.name,
        "framework": request.framework,
    }


def _request_of(data: Mapping[str, Any]) -> ModelRequest:
    return ModelRequest(
        model=data.get("model"),
        provider=data.get("provider"),
        messages=list(data.get("messages") or ()),
        params=dict(data.get("params") or {}),
        tags=dict(data.get("tags") or {}),
        kind=data.get("kind") or "chat",
        name=data.get("name"),
        framework=data.get("framework"),
    )


class BatchRunner:
    """Run requests through ``api`` (an :class:`OpenAIBatchAPI` / :class:`AnthropicBatchAPI`).

    ``store``: a :class:`BatchStore` or the path of its SQLite file (default
    ``tokenomy-batches.sqlite`` in the current folder); ``ledger``/``price_book``/``tags``:
    where and how the items are recorded (the same precedence as a pipeline's);
    ``max_retries``: how many more rounds a failed item gets (default 1); ``poll_interval``:
    seconds between looks at an unfinished batch, through ``sleep`` (injectable).
    """

    def __init__(
        self,
        api: BatchAPI,
        *,
        store: BatchStore | str | Path | None = None,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
        tags: Mapping[str, Any] | None = None,
        max_retries: int = 1,
        poll_interval: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(api, BatchAPI):
            raise ConfigurationError(
                f"api must be a tokenomy.BatchAPI (OpenAIBatchAPI(client), "
                f"AnthropicBatchAPI(client)), got {type(api).__name__}"
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if poll_interval < 0:
            raise ConfigurationError(f"poll_interval must be >= 0 seconds, got {poll_interval!r}")
        self.api = api
        self.store = (
            store
            if isinstance(store, BatchStore)
            else BatchStore(store or "tokenomy-batches.sqlite")
        )
        self.ledger = ledger
        self.price_book = price_book
        self.tags = {str(k): str(v) for k, v in (tags or {}).items() if v is not None}
        self.max_retries = max_retries
        self.poll_interval = float(poll_interval)
        self.sleep = sleep
        self.clock = clock
        #: the ledger records this runner made for answered items, by (job id, custom_id)
        #: (the most recent 100,000; :class:`Deferral` hands them to the pipeline)
        self.recorded: dict[tuple[str, str], Any] = {}

    # -- starting ----------------------------------------------------------------------------

    def submit(
        self,
        requests: Sequence[ModelRequest],
        *,
        job_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> BatchJob:
        """Store a new job for ``requests`` and submit its first round; returns the job (keep
        ``job.job_id`` to resume it from another process)."""
        from tokenomy.ledger._record import new_id

        if not requests:
            raise ConfigurationError("a batch job needs at least one request")
        for request in requests:
            if request.stream or request.kind != "chat" or not request.model:
                raise ConfigurationError(
                    "batch items must be non-streamed chat requests naming their model; got "
                    f"kind={request.kind!r} stream={request.stream} model={request.model!r}"
                )
        job_id = job_id or "job_" + new_id().replace("-", "")[:20]
        if self.store.job(job_id) is not None:
            raise BatchJobError(
                f"batch job {job_id!r} already exists in {self.store.path}: resume it with "
                f"runner.job({job_id!r}).wait(), or pick another job_id",
                job_id=job_id,
            )
        merged = {**self.tags, **{str(k): str(v) for k, v in (tags or {}).items()}}
        row = JobRow(
            job_id, self.api.provider, new_id(), merged, self.max_retries, time.time(), "open"
        )
        width = len(str(len(requests) - 1))
        items = [
            (f"i{n:0{width}d}", new_id(), _request_dict(req), self.api.item_body(req))
            for n, req in enumerate(requests)
        ]
        self.store.create_job(row, items)
        self._submit_pending(job_id)
        return BatchJob(self, job_id)

    def job(self, job_id: str) -> BatchJob:
        """The stored job ``job_id`` (to resume it: ``runner.job(job_id).wait()``)."""
        row = self.store.job(job_id)
        if row is None:
            raise BatchJobError(
                f"no batch job {job_id!r} in {self.store.path}: check the job id and the "
                "store path",
                job_id=job_id,
            )
        if row.provider != self.api.provider:
            raise BatchJobError(
                f"batch job {job_id!r} was sent to {row.provider}, this runner's API is "
                f"{self.api.provider}: resume it with a {row.provider} BatchAPI",
                job_id=job_id,
            )
        return BatchJob(self, job_id)

    def run(
        self, requests: Sequence[ModelRequest], *, tags: Mapping[str, Any] | None = None
    ) -> list[BatchItemResult]:
        """:meth:`submit`, wait until done, and the results in input order."""
        job = self.submit(requests, tags=tags)
        job.wait()
        return job.results()

    # -- one step ------------------------------------------------------------------------------

    def step(self, job_id: str) -> bool:
        """Move the job on once without waiting: recover, collect ended rounds, record,
        submit retries. True when the job is finished."""
        row = self._row(job_id)
        if row.state != "open":
            self._record(row)
            return True
        for number, key, _ in self.store.rounds(job_id, "submitting"):
            found = self.api.find(key)
            if found is not None:
                self.store.opened_round(job_id, number, found)
            else:
                self.store.abandon_round(job_id, number)
        for number, _key, batch_id in self.store.rounds(job_id, "open"):
            assert batch_id is not None
            if not self.api.ended(batch_id):
                continue
            outcomes: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
            for outcome in self.api.outcomes(batch_id):
                body = dict(outcome.body) if outcome.body is not None else None
                outcomes[outcome.custom_id] = (body, outcome.error)
            self.store.collect_round(job_id, number, batch_id, outcomes, row.max_retries)
        self._record(row)
        self._submit_pending(job_id)
        if self.store.rounds(job_id, "open") or self.store.rounds(job_id, "submitting"):
            return False
        self.store.set_job_state(job_id, "done")
        return True

    def wait(self, job_id: str, *, timeout: float | None = None) -> None:
        """:meth:`step` every ``poll_interval`` seconds until the job is finished."""
        start = self.clock()
        while not self.step(job_id):
            if timeout is not None and self.clock() - start >= timeout:
                counts = self.store.counts(job_id)
                raise BatchJobError(
                    f"batch job {job_id!r} not finished after {timeout:g}s ({counts}); "
                    f"resume later with runner.job({job_id!r}).wait()",
                    job_id=job_id,
                )
            self.sleep(self.poll_interval)

    def cancel(self, job_id: str) -> None:
        """Cancel the job's open batches at the provider and stop submitting its items."""
        for _number, _key, batch_id in self.store.rounds(job_id, "open"):
            if batch_id is not None:
                self.api.cancel(batch_id)
        self.step(job_id)
        self.store.set_job_state(job_id, "cancelled")

    # -- internals -----------------------------------------------------------------------------

    def _row(self, job_id: str) -> JobRow:
        row = self.store.job(job_id)
        if row is None:
            raise BatchJobError(f"no batch job {job_id!r} in {self.store.path}", job_id=job_id)
        return row

    def _submit_pending(self, job_id: str) -> None:
        pending = self.store.items(job_id, "pending")
        if not pending:
            return
        number, key = self.store.begin_round(job_id, [i.custom_id for i in pending])
        batch_id = self.api.submit([(i.custom_id, i.body) for i in pending], key)
        self.store.opened_round(job_id, number, batch_id)

    def _record(self, job: JobRow) -> None:
        from tokenomy._tracking import store_call
        from tokenomy.usage import Usage

        items: dict[str, ItemRow] | None = None
        while True:
            todo = self.store.unrecorded(job.job_id)
            if not todo:
                return
            if items is None:
                items = {i.custom_id: i for i in self.store.items(job.job_id)}
            for attempt in todo:
                item = items[attempt.custom_id]
                req = item.request
                response = (
                    response_from_body(self.api.provider, attempt.result)
                    if attempt.result is not None
                    else None
                )
                tags = {
                    **job.tags,
                    **(req.get("tags") or {}),
                    "batch_job": job.job_id,
                    "batch_id": attempt.batch_id,
                    "batch_item": attempt.custom_id,
                    BATCH_TAG[0]: BATCH_TAG[1],
                }
                stored = store_call(
                    model=(response.model if response is not None else None) or req["model"],
                    usage=response.usage if response is not None else Usage(),
                    provider=self.api.provider,
                    kind="chat",
                    run_id=item.run_id,
                    parent_run_id=job.run_id,
                    root_run_id=job.run_id,
                    tags=tags,
                    attempt=attempt.attempt,
                    error=None if attempt.ok else "BatchItemError",
                    service_tier="batch",
                    name=req.get("name"),
                    framework=req.get("framework"),
                    truncated=bool(response is not None and response.truncated),
                    price_book=self.price_book,
                    ledger=self.ledger,
                )
                if attempt.ok:
                    self.recorded[(job.job_id, attempt.custom_id)] = stored
                    if len(self.recorded) > 100_000:
                        del self.recorded[next(iter(self.recorded))]
            if self.ledger is not None:
                self.ledger.flush()
            else:  # where store_call put them: the innermost block's ledger, else the default
                from tokenomy._tracking import current_tracker, flush

                inner = current_tracker()
                if inner is not None and inner.ledger is not None:
                    inner.ledger.flush()
                else:
                    flush()
            self.store.mark_recorded(job.job_id, [(a.custom_id, a.attempt) for a in todo])


class BatchJob:
    """A handle on one stored job (cheap: everything is read from the store)."""

    def __init__(self, runner: BatchRunner, job_id: str) -> None:
        self.runner = runner
        self.job_id = job_id

    def __repr__(self) -> str:
        return f"BatchJob({self.job_id!r}, {self.counts})"

    @property
    def state(self) -> str:
        """``open``, ``done`` or ``cancelled``."""
        return self.runner._row(self.job_id).state

    @property
    def run_id(self) -> str:
        """The run every item's ledger record hangs under."""
        return self.runner._row(self.job_id).run_id

    @property
    def counts(self) -> dict[str, int]:
        """Items per state (``pending``, ``submitted``, ``done``, ``failed``)."""
        return self.runner.store.counts(self.job_id)

    @property
    def batch_ids(self) -> list[str]:
        """The provider batches the job used, one per round."""
        return self.runner.store.all_batch_ids(self.job_id)

    def step(self) -> bool:
        """:meth:`BatchRunner.step`."""
        return self.runner.step(self.job_id)

    def wait(self, *, timeout: float | None = None) -> BatchJob:
        """:meth:`BatchRunner.wait`; returns the job."""
        self.runner.wait(self.job_id, timeout=timeout)
        return self

    def results(self) -> list[BatchItemResult]:
        """Every input's outcome, in input order (``response`` ``None`` while not done)."""
        provider = self.runner.api.provider
        out: list[BatchItemResult] = []
        for item in self.runner.store.items(self.job_id):
            response = (
                response_from_body(provider, item.result) if item.result is not None else None
            )
            out.append(
                BatchItemResult(
                    index=item.seq,
                    custom_id=item.custom_id,
                    request=_request_of(item.request),
                    response=response,
                    error=None if response is not None else item.error,
                    attempts=item.tries,
                )
            )
        return out
