"""``TokenomyCallbackHandler``: one priced :class:`~tokenomy.CostRecord` per LangChain model run."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from tokenomy._tracking import _active, _counts, _record_stored
from tokenomy.usage import Usage
from tokenomy_langchain._estimate import estimate_call, warn_estimated
from tokenomy_langchain._model_run import ModelRun, serialized_name
from tokenomy_langchain._read import cache_kind, output_text, read_one, read_result
from tokenomy_langchain._runs import CLAIMS, MAX_OPEN_RUNS, RunTree
from tokenomy_langchain._tags import langchain_tags
from tokenomy_langchain._tree_events import RunTreeEvents

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from tokenomy import LedgerStore, PriceBook

__all__ = ["TokenomyCallbackHandler"]

_LOG = logging.getLogger("tokenomy_langchain")
_CONSUMER_STOPS = (GeneratorExit, asyncio.CancelledError)
_EMPTY: Mapping[str, Any] = {}


class TokenomyCallbackHandler(RunTreeEvents, BaseCallbackHandler):
    """Records every chat-model and LLM call LangChain makes as a priced ``CostRecord``.

    Pass it in ``callbacks=`` (a model's, or a chain's ``config``: it is inherited by every
    run below), or let :func:`tokenomy_langchain.track` attach one to every call in a block.

    * Covers ``invoke``/``ainvoke``/``batch``/``abatch``/``stream``/``astream``, calls from
      tools, worker threads and async runs (LangChain runs this sync handler in a thread pool
      there; it is thread-safe). Every generation of a result counts, each response once.
    * The record's tokens are the provider's (``usage_metadata``, else
      ``llm_output["token_usage"]``); without them they are estimated and the record is
      flagged ``estimated`` (for ``ChatOpenAI`` with a ``base_url``, pass
      ``stream_usage=True`` to get streamed usage). The model comes from the response
      metadata, else the invocation params, else ``ls_model_name``; a call with none is
      recorded as model ``"unknown"``, unpriced, never dropped.
    * A LangChain LLM-cache hit is recorded as a cache hit: $0 spent, no tokens used, and
      ``cache.saved`` = what the cached call cost. (Legacy completion LLMs fire no callbacks
      on a cache hit, so their hits cannot be seen.)
    * A failed call (``on_llm_error``) is recorded with ``error`` = the exception's class
      name and zero tokens, unless usage is known; text streamed before the failure, and a
      stream the consumer stopped reading (``GeneratorExit``, ``CancelledError``), are
      estimated: the provider billed them.
    * ``run_id`` is LangChain's model run id, ``parent_run_id`` its parent's and
      ``root_run_id`` the outermost run this handler saw above it; the root's name (a chain's
      ``run_name``) is tag ``run_name`` unless set otherwise. ``name`` is the model run's name.
    * Tags, lowest precedence first: the run's LangChain ``metadata`` (scalar values, minus
      ``ls_*``/``langgraph_*``/``checkpoint_*`` internals) and ``tags`` (as ``lc_tags``),
      then the enclosing ``tokenomy.track()`` blocks' tags, then this handler's ``tags``:
      tokenomy's explicit attribution is never overwritten by framework metadata.
    * One record per model run even when several tokenomy handlers see it: one passed in
      ``callbacks`` takes precedence over the one ``track()`` attached.
    * Tracking never breaks the user's chain: a failure is logged on the
      ``tokenomy_langchain`` logger and counted in :attr:`failures`.

    ``ledger`` and ``price_book`` default to the enclosing ``track()`` block's, else the
    process defaults.
    """

    raise_error: bool = False

    def __init__(
        self,
        *,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
        tags: Mapping[str, Any] | None = None,
        _attached: bool = False,
    ) -> None:
        super().__init__()
        self.ledger = ledger
        self.price_book = price_book
        self.tags: dict[str, str] = {
            str(k): str(v) for k, v in (tags or {}).items() if v is not None
        }
        self._attached = _attached
        self._runs: dict[UUID, ModelRun] = {}
        self._tree = RunTree()
        self._lock = threading.Lock()
        self._failures = 0
        self._recorded = 0
        self.last_failure: BaseException | None = None

    # -- what the user reads ---------------------------------------------------------------

    @property
    def failures(self) -> int:
        """How many times recording failed (each was logged; the chain went on)."""
        return self._failures

    @property
    def recorded(self) -> int:
        """How many records this handler made."""
        return self._recorded

    @property
    def open_runs(self) -> int:
        """Model runs started and not yet ended, plus chain/tool runs being remembered."""
        return len(self._runs) + len(self._tree)

    def __repr__(self) -> str:
        return (
            f"TokenomyCallbackHandler(recorded={self._recorded}, failures={self._failures}, "
            f"tags={self.tags!r})"
        )

    # -- events LangChain need not send (tool events, gated by ignore_agent, are needed) ----

    @property
    def ignore_retry(self) -> bool:
        return True

    @property
    def ignore_custom_event(self) -> bool:
        return True

    # -- model runs ------------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            prompt = messages[0] if len(messages) == 1 else [m for ms in messages for m in ms]
            self._start(run_id, parent_run_id, serialized, prompt, "chat", tags, metadata, kwargs)
        except Exception as exc:
            self._fail("on_chat_model_start", run_id, exc)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            prompt = prompts[0] if len(prompts) == 1 else "\n".join(prompts)
            self._start(
                run_id, parent_run_id, serialized, prompt, "completion", tags, metadata, kwargs
            )
        except Exception as exc:
            self._fail("on_llm_start", run_id, exc)

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        run = self._runs.get(run_id)
        if run is None or run.first_token is not None:
            return
        run.streamed = True
        if token:
            run.first_token = perf_counter()
            return
        chunk = kwargs.get("chunk")
        message = getattr(chunk, "message", None)
        if getattr(message, "tool_call_chunks", None):
            run.first_token = perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        end = perf_counter()
        run = self._runs.pop(run_id, None)
        if not CLAIMS.release(run_id, self) or run is None:
            return
        try:
            self._finish(run_id, run, response, end, None)
        except Exception as exc:
            self._fail("on_llm_end", run_id, exc)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        end = perf_counter()
        run = self._runs.pop(run_id, None)
        if not CLAIMS.release(run_id, self) or run is None:
            return
        try:
            self._finish(run_id, run, kwargs.get("response"), end, error)
        except Exception as exc:
            self._fail("on_llm_error", run_id, exc)

    # -- internals -------------------------------------------------------------------------

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        serialized: Mapping[str, Any] | None,
        prompt: Sequence[Any] | None,
        kind: str,
        tags: Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
    ) -> None:
        start = perf_counter()
        CLAIMS.claim(run_id, self, attached=self._attached)
        name = kwargs.get("name") or serialized_name(serialized)
        params = kwargs.get("invocation_params")
        meta = metadata or _EMPTY
        model = (params.get("model") or params.get("model_name")) if params else None
        if not (model and isinstance(model, str)):
            model = meta.get("ls_model_name")
        node = self._tree.lookup(run_id, parent_run_id, name)
        chain = _active.get() or node.chain
        run = ModelRun(
            start,
            kind,
            name,
            model,
            meta.get("ls_provider"),
            params,
            prompt,
            metadata,
            tags,
            parent_run_id,
            node.root_id,
            node.root_name,
            chain,
        )
        runs = self._runs
        if len(runs) >= MAX_OPEN_RUNS:
            self._runs.pop(next(iter(runs)), None)
        runs[run_id] = run

    def _finish(
        self,
        run_id: UUID,
        run: ModelRun,
        response: LLMResult | None,
        end: float,
        error: BaseException | None,
    ) -> None:
        one = read_one(response) if response is not None and error is None else None
        cache: str | None = None
        counts: tuple[int, int, int, int, int, int, bool] | None
        if one is not None:  # the usual call: one generation with the provider's usage
            counts, model, provider, service_tier = one
            model = model or run.model
            provider = run.provider or provider
        else:
            info = read_result(response)
            model = info.model or run.model
            provider = run.provider or info.provider
            service_tier = info.service_tier
            usage = info.usage
            if usage is None and not info.cache_hit:
                text = output_text(response)
                if error is None or text or isinstance(error, _CONSUMER_STOPS):
                    # A consumer that stopped reading (a break out of a stream, a cancelled
                    # task) was billed for the prompt and what was generated so far.
                    usage = estimate_call(
                        run.prompt,
                        text,
                        model=model,
                        provider=provider,
                        invocation_params=run.params,
                    )
                    warn_estimated(model, run.streamed)
                else:
                    usage = Usage()  # the provider failed before generating: nothing billed
            counts = None if usage is None else _counts(usage)
            if info.cache_hit:
                cache = cache_kind()
        start = run.start
        tags = langchain_tags(run.metadata, run.tags)
        if run.root_name and "run_name" not in tags:
            tags["run_name"] = run.root_name
        _record_stored(
            model=model,
            counts=counts,
            provider=provider,
            kind="chat" if run.kind == "chat" else "completion",
            latency_ms=(end - start) * 1000.0,
            ttft_ms=None if run.first_token is None else (run.first_token - start) * 1000.0,
            streamed=run.streamed,
            run_id=run_id,
            parent_run_id=run.parent_run_id,
            root_run_id=run.root_id,
            base_tags=tags,
            tags=self.tags or None,
            cache=cache,
            error=None if error is None else type(error).__name__,
            service_tier=service_tier,
            name=run.name,
            framework="langchain",
            price_book=self.price_book,
            ledger=self.ledger,
            chain=run.chain,
        )
        with self._lock:
            self._recorded += 1

    def _fail(self, where: str, run_id: UUID, exc: BaseException) -> None:
        with self._lock:
            self._failures += 1
            self.last_failure = exc
        _LOG.warning(
            "tokenomy could not track LangChain run %s (%s): %r; the chain goes on",
            run_id,
            where,
            exc,
            exc_info=exc,
        )
