"""``Policy``: the one extension point that acts before, around and after a model call.

A policy gets the :class:`~tokenomy.ModelRequest` and ``call_next``, the rest of the pipeline
(the next policy, and at the end the provider). It may change the request and pass it on,
answer without calling ``call_next`` (a cache), call it several times (a retry, a cascade:
each attempt is its own ledger record under the same run), change the response, or refuse
with a typed error before anything is sent (a budget). The smallest policy overrides
:meth:`Policy.before` and/or :meth:`Policy.after`, which serve the sync and the async path
alike; one that needs the whole call overrides :meth:`Policy.handle` and, for async callers,
:meth:`Policy.ahandle` (without it, ``handle`` runs in a worker thread for async calls).

Streams stay streams: for a streamed request ``call_next`` returns a
:class:`~tokenomy.ModelResponse` whose chunks reach the caller as they arrive; a policy that
needs the final answer registers ``response.on_complete(...)`` rather than reading it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse

__all__ = ["AsyncCallNext", "CallNext", "Policy"]

#: The rest of the pipeline, for a sync call.
CallNext = Callable[[ModelRequest], ModelResponse]
#: The rest of the pipeline, for an async call.
AsyncCallNext = Callable[[ModelRequest], Awaitable[ModelResponse]]


class Policy:
    """Base class of policies (see the module docstring). Subclass and override
    :meth:`before`/:meth:`after`, or :meth:`handle` (and :meth:`ahandle`)."""

    #: How the policy is named in records and errors (default: the class name).
    name: str | None = None

    def before(self, request: ModelRequest) -> ModelRequest:
        """Change the request before it goes on (default: unchanged)."""
        return request

    def after(self, request: ModelRequest, response: ModelResponse) -> ModelResponse:
        """Change the response on its way back (default: unchanged). For a stream this runs
        when ``call_next`` returns, before the chunks are read: use ``response.on_complete``
        to act on the final answer."""
        return response

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        """The whole call, synchronously: ``before``, ``call_next``, ``after``."""
        request = self.before(request)
        return self.after(request, call_next(request))

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        """The whole call, asynchronously: ``before``, ``await call_next``, ``after``.

        A policy that overrides only :meth:`handle` gets it run in a worker thread, whose
        ``call_next`` hands each call back to the event loop and waits for it.
        """
        if type(self).handle is not Policy.handle:
            return await _handle_in_thread(self, request, call_next)
        request = self.before(request)
        return self.after(request, await call_next(request))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @property
    def label(self) -> str:
        """:attr:`name`, else the class name."""
        return self.name or type(self).__name__


async def _handle_in_thread(
    policy: Policy, request: ModelRequest, call_next: AsyncCallNext
) -> ModelResponse:
    loop = asyncio.get_running_loop()

    def sync_next(req: ModelRequest) -> ModelResponse:
        return asyncio.run_coroutine_threadsafe(_awaited(call_next(req)), loop).result()

    return await asyncio.to_thread(policy.handle, request, sync_next)


async def _awaited(value: Awaitable[ModelResponse]) -> ModelResponse:
    return await value
