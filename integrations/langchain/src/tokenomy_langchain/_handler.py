"""``TokenomyCallbackHandler``: one priced :class:`~tokenomy.CostRecord` per LangChain model run."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from tokenomy import (
    RunTree,
    UnpricedCallError,
    current_trackers,
    in_pipeline_call,
    store_call,
    with_run_name,
)
from tokenomy.usage import Usage
from tokenomy_langchain._estimate import estimate_call, warn_estimated
from tokenomy_langchain._model_run import (
    CHAIN,
    INPUTS,
    KIND,
    KWARGS,
    MAX_OPEN_RUNS,
    METADATA,
    NODE,
    OPEN,
    OWNER,
    PARENT,
    SERIALIZED,
    START,
    TAGS,
    ModelRun,
    Stream,
    drop_oldest,
    prompt_of,
    serialized_name,
)
from tokenomy_langchain._read import cache_kind, output_text, read_result
from tokenomy_langchain._request import request_source
from tokenomy_langchain._tags import ATTEMPT_METADATA, langchain_tags
from tokenomy_langchain._tree_events import RunTreeEvents
from tokenomy_langchain._wrapped import WRAPPER_LLM_TYPE

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import LLMResult

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
    * ``attempt``: 1, or the attempt of the enclosing ``with_resilience`` chain (metadata
      ``_tokenomy_attempt``), so a chain's retried model calls count as retries.
    * ``run_id`` is LangChain's model run id, ``parent_run_id`` its parent's and
      ``root_run_id`` the outermost run this handler saw above it; the root's name (a chain's
      ``run_name``) is tag ``run_name`` unless set otherwise. ``name`` is the model run's name.
    * Tags, lowest precedence first: the run's LangChain ``metadata`` (scalar values, minus
      ``ls_*``/``langgraph_*``/``checkpoint_*`` internals) and ``tags`` (as ``lc_tags``),
      then the enclosing ``tokenomy.track()`` blocks' tags, then this handler's ``tags``:
      tokenomy's explicit attribution is never overwritten by framework metadata.
    * One record per model run even when several tokenomy handlers see it: one passed in
      ``callbacks`` takes precedence over the one ``track()`` attached. A model run that a
      tokenomy wrapper records (``TokenomyChatModel``'s own run, and any run that starts
      while :func:`tokenomy.in_pipeline_call` is true) is skipped at its start.
    * Tracking never breaks the user's chain: a failure is logged on the
      ``tokenomy_langchain`` logger and counted in :attr:`failures` (and raised when
      ``raise_error`` is set). A call whose pricing fails (a strict price book and an
      unknown model, a malformed ``TOKENOMY_PRICES`` file) is still recorded, unpriced, with
      tag ``unpriced_reason``; the :class:`~tokenomy.UnpricedCallError` is then counted,
      logged in one line and kept in :attr:`last_failure`.
    * ``truncated`` is set when the response metadata says ``finish_reason == "length"``
      (OpenAI) or ``stop_reason == "max_tokens"`` (Anthropic).

    Which ledger and price book (the rule of :func:`tokenomy.store_call`): this handler's
    own ``ledger``/``price_book`` when given, else the innermost enclosing ``track()``
    block's, else the process defaults. Records always count in every enclosing block.
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
        self._tree: RunTree[UUID] = RunTree()
        # runs that streamed tokens, until they end (keyed like OPEN)
        self._streams: dict[Any, Stream] = {}
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
        mine = sum(1 for run in list(OPEN.values()) if run[OWNER] is self)
        return mine + len(self._tree)

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
        if in_pipeline_call():  # a wrapper's pipeline records this call
            return
        params = kwargs.get("invocation_params")
        if params is not None and params.get("_type") == WRAPPER_LLM_TYPE:
            return  # TokenomyChatModel's own run: its pipeline records the call
        try:  # free when nothing is raised
            run = (
                perf_counter(),
                self,
                "chat",
                serialized,
                messages,
                tags,
                metadata,
                kwargs,
                parent_run_id,
                current_trackers(),
                None if parent_run_id is None else self._tree.get(parent_run_id),
            )
            key = run_id.int if type(run_id) is UUID else run_id  # hashed in C, not UUID.__hash__
            prior = OPEN.setdefault(key, run)
            if prior is not run or len(OPEN) > MAX_OPEN_RUNS:
                self._contended(key, run, prior)
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
        if in_pipeline_call():  # a wrapper's pipeline records this call
            return
        try:  # free when nothing is raised
            run = (
                perf_counter(),
                self,
                "completion",
                serialized,
                prompts,
                tags,
                metadata,
                kwargs,
                parent_run_id,
                current_trackers(),
                None if parent_run_id is None else self._tree.get(parent_run_id),
            )
            key = run_id.int if type(run_id) is UUID else run_id  # hashed in C, not UUID.__hash__
            prior = OPEN.setdefault(key, run)
            if prior is not run or len(OPEN) > MAX_OPEN_RUNS:
                self._contended(key, run, prior)
        except Exception as exc:
            self._fail("on_llm_start", run_id, exc)

    def _contended(self, key: Any, run: ModelRun, prior: ModelRun) -> None:
        if prior is not run:
            # another tokenomy handler saw this run start: an explicitly passed handler takes
            # it over from one attached by track(), else the first one keeps it
            if not self._attached and prior[OWNER]._attached:
                OPEN[key] = run
        elif len(OPEN) > MAX_OPEN_RUNS:
            drop_oldest(OPEN)

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        key = run_id.int if type(run_id) is UUID else run_id
        run = OPEN.get(key)
        if run is None or run[OWNER] is not self:
            return
        stream = self._streams.get(key)
        if stream is None:
            if len(self._streams) >= MAX_OPEN_RUNS:
                drop_oldest(self._streams)
            stream = self._streams[key] = Stream()
        if stream.first_token is not None:
            return
        if token:
            stream.first_token = perf_counter()
            return
        chunk = kwargs.get("chunk")
        message = getattr(chunk, "message", None)
        if getattr(message, "tool_call_chunks", None):
            stream.first_token = perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        end = perf_counter()
        key = run_id.int if type(run_id) is UUID else run_id
        run = OPEN.get(key)
        if run is None or run[OWNER] is not self:
            return
        OPEN.pop(key, None)
        try:
            self._finish(run_id, run, response, end, None)
        except Exception as exc:
            self._fail("on_llm_end", run_id, exc)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        end = perf_counter()
        key = run_id.int if type(run_id) is UUID else run_id
        run = OPEN.get(key)
        if run is None or run[OWNER] is not self:
            return
        OPEN.pop(key, None)
        try:
            self._finish(run_id, run, kwargs.get("response"), end, error)
        except Exception as exc:
            self._fail("on_llm_error", run_id, exc)

    # -- internals -------------------------------------------------------------------------

    def _finish(
        self,
        run_id: UUID,
        run: ModelRun,
        response: LLMResult | None,
        end: float,
        error: BaseException | None,
    ) -> None:
        kwargs = run[KWARGS]
        meta = run[METADATA] or _EMPTY
        stream = (
            self._streams.pop(run_id.int if type(run_id) is UUID else run_id, None)
            if self._streams
            else None
        )
        info = read_result(response)
        model = info.model or _requested_model(kwargs, meta)
        provider = info.provider
        usage = info.usage
        if usage is None and not info.cache_hit:
            text = output_text(response)
            if error is None or text or isinstance(error, _CONSUMER_STOPS):
                # A consumer that stopped reading (a break out of a stream, a cancelled
                # task) was billed for the prompt and what was generated so far.
                usage = estimate_call(
                    prompt_of(run),
                    text,
                    model=model,
                    provider=meta.get("ls_provider") or provider,
                    invocation_params=kwargs.get("invocation_params"),
                )
                warn_estimated(model, stream is not None)
            else:
                usage = Usage()  # the provider failed before generating: nothing billed
        name = kwargs.get("name") or serialized_name(run[SERIALIZED])
        parent_run_id = run[PARENT]
        node = run[NODE]
        if node is None:  # the model run is a root for this handler (see RunTree.open)
            root_id, root_name, chain = parent_run_id or run_id, name, run[CHAIN]
        else:
            root_id, root_name, chain = node.root_id, node.root_name, run[CHAIN] or node.chain
        tags = with_run_name(langchain_tags(meta, run[TAGS]), root_name)
        start = run[START]
        first = None if stream is None else stream.first_token
        try:
            store_call(
                model=model,
                usage=usage,
                provider=meta.get("ls_provider") or provider,
                kind=run[KIND],
                latency_ms=(end - start) * 1000.0,
                ttft_ms=None if first is None else (first - start) * 1000.0,
                streamed=stream is not None,
                run_id=run_id,
                parent_run_id=parent_run_id,
                root_run_id=root_id,
                base_tags=tags,
                tags=self.tags or None,
                cache=cache_kind() if info.cache_hit else None,
                error=None if error is None else type(error).__name__,
                attempt=1 if (chained := meta.get(ATTEMPT_METADATA)) is None else _attempt_of(chained),
                service_tier=info.service_tier,
                name=name,
                framework="langchain",
                truncated=info.truncated,
                billed_usd=info.billed_usd,
                price_book=self.price_book,
                ledger=self.ledger,
                trackers=chain,
                request=request_source(run[INPUTS], run[KIND], kwargs.get("invocation_params")),
            )
        except UnpricedCallError:
            self._count_recorded()  # recorded unpriced; _fail reports the pricing error
            raise
        self._count_recorded()

    def _count_recorded(self) -> None:
        with self._lock:
            self._recorded += 1

    def _fail(self, where: str, run_id: UUID, exc: BaseException) -> None:
        """Count and log a failure; re-raise it when :attr:`raise_error` is set."""
        with self._lock:
            self._failures += 1
            self.last_failure = exc
        if isinstance(exc, UnpricedCallError):  # the call is in the ledger, unpriced
            _LOG.warning("tokenomy: LangChain run %s: %s", run_id, exc)
        else:
            _LOG.warning(
                "tokenomy could not track LangChain run %s (%s): %r; the chain goes on",
                run_id,
                where,
                exc,
                exc_info=exc,
            )
        if self.raise_error:
            raise exc


def _requested_model(kwargs: Mapping[str, Any], metadata: Mapping[str, Any]) -> str | None:
    """The model a run asked for (invocation params, else ``ls_model_name``)."""
    params = kwargs.get("invocation_params")
    model = (params.get("model") or params.get("model_name")) if params else None
    if not (model and isinstance(model, str)):
        model = metadata.get("ls_model_name")
    return model if isinstance(model, str) and model else None


def _attempt_of(value: Any) -> int:
    """The enclosing ``with_resilience`` chain's attempt number from its run metadata (1 when
    it is not a positive int)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1
