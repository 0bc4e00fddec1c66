"""``ProviderSimulator``: a local OpenAI- and Anthropic-compatible server for tests and demos."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.testing._answers import DEFAULT_ANSWER, AnswerBook, AnswerLike, AnswerRule
from tokenomy.testing._batches import BatchItemFaults, BatchService
from tokenomy.testing._caching import PromptCache
from tokenomy.testing._faults import Fault, FaultPlan, Injection
from tokenomy.testing._generate import Context, ReasoningSetting, reasoning_rule
from tokenomy.testing._records import SimCall
from tokenomy.testing._request import SimRequest
from tokenomy.testing._server import Exchange, HTTPServerThread
from tokenomy.testing._transport import respond, route_for
from tokenomy.usage import Usage

__all__ = ["ProviderSimulator"]


def _non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigurationError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


class ProviderSimulator:
    """A wire-compatible stand-in for the OpenAI and Anthropic HTTP APIs, on loopback.

    Point real SDK clients at it: ``openai.OpenAI(base_url=sim.openai_base_url, api_key="x")``,
    ``anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="x")``. Answers are
    deterministic (``answer``: a fixed text/:class:`Answer`/:class:`ToolCall` or a rule
    ``(SimRequest) -> str | Answer``, e.g. :func:`echo`; ``answers``: a scripted queue used
    first; ``per_model``: rules by model glob), usage is counted with ``tokenomy.tokens``, and
    every request and answered call is recorded (:attr:`requests`, :attr:`calls`).

    Use it as a context manager, or :meth:`start` / :meth:`stop`. Nothing runs until started.

    Latency (seconds): ``latency`` before any response; ``time_to_first_token`` before the
    first answer token; ``per_token_delay`` per later token (a non-streamed answer waits the
    sum). Prompt caching: ``cache_min_tokens`` is the shortest cacheable prefix (``"model"``:
    each model's published minimum, :func:`tokenomy.placement.min_cacheable_tokens`); cache
    lifetimes run on ``clock`` (default ``time.monotonic``; a :class:`FakeClock` expires caches
    without sleeping). Batches (``/v1/files`` + ``/v1/batches``, ``/v1/messages/batches``)
    complete ``batch_delay`` seconds after creation on the same clock; :meth:`fail_batch_items`
    injects per-item failures. ``reasoning_tokens``: an int, ``{"gpt-5*": 64}`` or ``(request) -> int``, added to the
    output tokens and reported in the reasoning detail fields. ``model_aliases`` maps requested
    names to the names reported back (``{"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        answer: AnswerLike | AnswerRule = DEFAULT_ANSWER,
        answers: Iterable[AnswerLike] = (),
        per_model: Mapping[str, AnswerLike | AnswerRule] | None = None,
        model_aliases: Mapping[str, str] | None = None,
        reasoning_tokens: ReasoningSetting = None,
        latency: float = 0.0,
        time_to_first_token: float = 0.0,
        per_token_delay: float = 0.0,
        cache_min_tokens: int | str = 1024,
        batch_delay: float = 0.0,
        clock: Callable[[], float] | None = None,
        embedding_dimensions: int | None = None,
        models: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be 0 (any free port) to 65535, got {port!r}")
        if cache_min_tokens != "model" and (
            not isinstance(cache_min_tokens, int) or cache_min_tokens < 1
        ):
            raise ConfigurationError(
                f"cache_min_tokens must be >= 1 or 'model', got {cache_min_tokens!r}"
            )
        if embedding_dimensions is not None and embedding_dimensions < 1:
            raise ConfigurationError(
                f"embedding_dimensions must be >= 1, got {embedding_dimensions!r}"
            )
        self._host = host
        self._port = port
        self.latency = _non_negative("latency", latency)
        self.time_to_first_token = _non_negative("time_to_first_token", time_to_first_token)
        self.per_token_delay = _non_negative("per_token_delay", per_token_delay)
        self._answers = AnswerBook(answer, per_model=per_model)
        self._answers.script(answers)
        self.clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._cache = PromptCache(min_tokens=cache_min_tokens, clock=self.clock)
        self._batches = BatchService(self, self.clock, _non_negative("batch_delay", batch_delay))
        self._faults = FaultPlan()
        self._ctx = Context(
            answers=self._answers,
            cache=self._cache,
            reasoning=reasoning_rule(reasoning_tokens),
            model_aliases=dict(model_aliases or {}),
            embedding_dimensions=embedding_dimensions,
        )
        from tokenomy.testing._embeddings import DEFAULT_MODELS

        self._models = list(DEFAULT_MODELS if models is None else models)
        self._lock = threading.Lock()
        self._requests: list[SimRequest] = []
        self._calls: list[SimCall] = []
        self._errors: list[BaseException] = []
        self._server: HTTPServerThread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> ProviderSimulator:
        """Bind and start serving (in background threads); returns ``self``."""
        if self._server is not None:
            raise ConfigurationError("this ProviderSimulator is already running; stop() it first")
        try:
            self._server = HTTPServerThread(self._host, self._port, self._serve)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {self._host}:{self._port} ({exc}); pick another --port, "
                f"or port 0 for any free one"
            ) from exc
        return self

    def stop(self) -> None:
        """Stop serving: held requests are released and connections closed. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    def __enter__(self) -> ProviderSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        return f"<ProviderSimulator {where}>"

    # -- addresses -----------------------------------------------------------------------

    def _require(self) -> HTTPServerThread:
        if self._server is None:
            raise ConfigurationError(
                "the ProviderSimulator is not running: use `with ProviderSimulator() as sim:` "
                "or call sim.start() first"
            )
        return self._server

    @property
    def host(self) -> str:
        """The address it listens on."""
        return self._require().host

    @property
    def port(self) -> int:
        """The port it listens on (the real one when started with port 0)."""
        return self._require().port

    @property
    def base_url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        host = self.host
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """The ``base_url`` for OpenAI clients (ends with ``/v1``)."""
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The ``base_url`` for Anthropic clients (the root: they add ``/v1/messages``)."""
        return self.base_url

    @property
    def is_loopback(self) -> bool:
        """Whether it listens on a loopback address only."""
        try:
            return ipaddress.ip_address(self._host).is_loopback
        except ValueError:
            return self._host == "localhost"

    # -- answers -------------------------------------------------------------------------

    def script(self, *answers: AnswerLike, model: str | None = None) -> None:
        """Queue answers, used once each in order (only by ``model`` glob, when given)."""
        self._answers.script(answers, model=model)

    def set_answer(self, rule: AnswerLike | AnswerRule, *, model: str | None = None) -> None:
        """Replace the default answer rule, or set the rule of one ``model`` glob."""
        if model is None:
            self._answers.set_default(rule)
        else:
            self._answers.set_for_model(model, rule)

    @property
    def answers_pending(self) -> int:
        """Scripted answers not used yet."""
        return self._answers.pending

    # -- faults --------------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        path: str | None = None,
        model: str | None = None,
    ) -> Injection:
        """Make the next ``times`` matching requests fail with ``fault`` (``None``: all).

        Injections apply in the order added; ``path`` (``"/v1/chat/completions"``) and
        ``model`` are exact names or globs. The returned :class:`Injection` counts its hits.
        A request header ``x-simulator-fault: 503`` injects a fault into one request.
        """
        return self._faults.add(fault, times=times, path=path, model=model)

    def clear_faults(self) -> None:
        """Remove every injection."""
        self._faults.clear()

    def fail_batch_items(
        self,
        *,
        rate: float = 0.0,
        custom_ids: Iterable[str] = (),
        times: int | None = 1,
        seed: int = 0,
        status: int = 500,
    ) -> BatchItemFaults:
        """Make batch items fail: those whose ``custom_id`` hashes (with ``seed``) under
        ``rate``, or is in ``custom_ids``; each at most ``times`` times (``None``: always), so a
        retried item succeeds. OpenAI puts them in the error file, Anthropic answers
        ``errored``. The returned object counts the failures by ``custom_id``."""
        if not 0.0 <= rate <= 1.0:
            raise ConfigurationError(f"rate must be between 0 and 1, got {rate!r}")
        return self._batches.fail_items(
            rate=rate, custom_ids=custom_ids, times=times, seed=seed, status=status
        )

    @property
    def batch_delay(self) -> float:
        """Seconds (on :attr:`clock`) from a batch's creation to its completion."""
        return self._batches.delay

    @batch_delay.setter
    def batch_delay(self, value: float) -> None:
        self._batches.delay = _non_negative("batch_delay", value)

    @property
    def batch_ids(self) -> list[str]:
        """Every batch created (OpenAI and Anthropic), oldest first."""
        return self._batches.batches

    @property
    def injections(self) -> list[Injection]:
        """The injections, in order, with their hit counts."""
        return self._faults.items()

    # -- records -------------------------------------------------------------------------

    @property
    def requests(self) -> list[SimRequest]:
        """Every request received, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def calls(self) -> list[SimCall]:
        """Every call answered successfully, with the usage reported (a copy)."""
        with self._lock:
            return list(self._calls)

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by answer rules (each was answered with a 500)."""
        with self._lock:
            return list(self._errors)

    def total_usage(self) -> Usage:
        """The sum of every recorded call's usage."""
        total = Usage()
        for call in self.calls:
            total = total + call.usage
        return total

    def clear(self) -> None:
        """Forget recorded requests, calls and errors."""
        with self._lock:
            self._requests.clear()
            self._calls.clear()
            self._errors.clear()

    def reset_cache(self) -> None:
        """Forget every prompt-cache entry (OpenAI prefixes and Anthropic breakpoints)."""
        self._cache.reset()

    def reset(self) -> None:
        """Records, cache, faults and scripted answers all cleared."""
        self.clear()
        self.reset_cache()
        self.clear_faults()
        self._answers.clear()
        self._batches.clear()

    def known_models(self) -> list[str]:
        """What ``GET /v1/models`` lists: the configured models plus every one requested."""
        with self._lock:
            seen = {r.model for r in self._requests if r.model and r.api != "models"}
        extra = set(self._ctx.model_aliases.values()) | seen
        return sorted(set(self._models) | extra)

    # -- serving (used by tokenomy.testing._transport) ----------------------------------------

    def _serve(self, exchange: Exchange) -> None:
        if BatchService.serves(exchange.path):
            return self._batches.respond(exchange)
        respond(self, exchange, route_for(exchange.method, exchange.path))

    @property
    def _context(self) -> Context:
        return self._ctx

    def _take_fault(self, path: str, model: str | None) -> Fault | None:
        return self._faults.take(path, model)

    def _new_request(self, **fields: Any) -> SimRequest:
        with self._lock:
            request = SimRequest(index=len(self._requests), received_at=time.time(), **fields)
            self._requests.append(request)
        return request

    def _on_call(self, call: SimCall) -> None:
        with self._lock:
            self._calls.append(call)

    def _on_error(self, error: BaseException) -> None:
        with self._lock:
            self._errors.append(error)
