"""``Deferral``: a pipeline policy that sends work that can wait through a batch API.

A request is deferrable when its tag ``deferrable`` (on the call or its ``track()`` block) is
``true``/``1``/``yes``, or its tag ``feature`` is one of ``features``. Deferrable requests are
queued; the queue goes out as one batch job (a :class:`BatchRunner` job) when it holds
``max_items`` requests or its oldest has waited ``max_age`` seconds (a timer thread), or on
:meth:`Deferral.flush`. Each caller blocks (or awaits) until its item's answer is back: made
for fan-outs that run many calls at once (LangChain ``chain.batch(...)``, a thread pool,
``asyncio.gather``). Everything else, and every streamed request, goes out as usual.

The answer the caller gets is the batch item's; its ledger record is the batch runner's (at
batch rates, tags ``batch_job``/``batch_item``), so the pipeline records nothing more. A
failed item (after the runner's retries) raises :class:`DeferredItemError` in its caller.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future

from tokenomy.batch._runner import BatchRunner
from tokenomy.exceptions import ConfigurationError, TokenomyError
from tokenomy.pipeline import AsyncCallNext, CallNext, ModelRequest, ModelResponse, Policy

__all__ = ["Deferral", "DeferredItemError"]

_TRUE = {"1", "true", "yes", "on"}


class DeferredItemError(TokenomyError):
    """A deferred request's batch item failed after its retries."""

    def __init__(self, message: str, *, job_id: str, custom_id: str, error: str | None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.custom_id = custom_id
        self.error = error


class Deferral(Policy):
    """Queue deferrable requests and send them as batch jobs (module docstring)."""

    name = "deferral"

    def __init__(
        self,
        runner: BatchRunner,
        *,
        features: Iterable[str] = (),
        tag: str = "deferrable",
        max_items: int = 100,
        max_age: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(runner, BatchRunner):
            raise ConfigurationError(f"runner must be a tokenomy.BatchRunner, got {runner!r}")
        if max_items < 1 or max_age < 0:
            raise ConfigurationError(
                f"max_items must be >= 1 and max_age >= 0 seconds, got {max_items!r}, {max_age!r}"
            )
        self.runner = runner
        self.features = frozenset(features)
        self.tag = tag
        self.max_items = int(max_items)
        self.max_age = float(max_age)
        self.clock = clock
        self._lock = threading.Lock()
        self._queue: list[tuple[ModelRequest, Future[ModelResponse]]] = []
        self._timer: threading.Timer | None = None
        self._workers: list[threading.Thread] = []
        #: batch jobs sent so far, oldest first
        self.jobs: list[str] = []

    def deferrable(self, request: ModelRequest) -> bool:
        """Whether ``request`` waits for a batch."""
        if request.stream or request.kind != "chat" or not request.model:
            return False
        flag = request.tag(self.tag)
        if flag is not None and flag.strip().lower() in _TRUE:
            return True
        feature = request.tag("feature")
        return feature is not None and feature in self.features

    @property
    def pending(self) -> int:
        """Requests queued and not yet sent."""
        with self._lock:
            return len(self._queue)

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        if not self.deferrable(request):
            return call_next(request)
        return self._enqueue(request).result()

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        if not self.deferrable(request):
            return await call_next(request)
        return await asyncio.wrap_future(self._enqueue(request))

    def _enqueue(self, request: ModelRequest) -> Future[ModelResponse]:
        from tokenomy._tracking import current_tags

        # the track() blocks' tags travel with the item (the batch is recorded elsewhere)
        request = request.replace(tags={**current_tags(), **request.tags})
        future: Future[ModelResponse] = Future()
        with self._lock:
            self._queue.append((request, future))
            full = len(self._queue) >= self.max_items
            if not full and self._timer is None:
                self._timer = threading.Timer(self.max_age, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self.flush()
        return future

    def flush(self) -> None:
        """Send what is queued now, as one batch job (in a worker thread)."""
        with self._lock:
            batch, self._queue = self._queue, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not batch:
                return
            worker = threading.Thread(
                target=self._send, args=(batch,), name="tokenomy-deferral", daemon=True
            )
            self._workers.append(worker)
        worker.start()

    def close(self, timeout: float | None = None) -> None:
        """Flush and wait for every job sent to finish."""
        self.flush()
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.join(timeout)

    def _send(self, batch: list[tuple[ModelRequest, Future[ModelResponse]]]) -> None:
        try:
            job = self.runner.submit([r for r, _ in batch])
            with self._lock:
                self.jobs.append(job.job_id)
            job.wait()
            results = job.results()
        except BaseException as exc:  # every waiting caller learns why
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if result.response is not None:
                result.response.record = self.runner.recorded.get(
                    (job.job_id, result.custom_id), True
                )
                future.set_result(result.response)
            else:
                future.set_exception(
                    DeferredItemError(
                        f"batch item {result.custom_id} of job {job.job_id} failed after "
                        f"{result.attempts} attempt(s): {result.error}",
                        job_id=job.job_id,
                        custom_id=result.custom_id,
                        error=result.error,
                    )
                )

    def __repr__(self) -> str:
        return f"Deferral(max_items={self.max_items}, max_age={self.max_age:g})"
