"""``TokenomyEmbeddings``: LangChain embeddings whose every call is recorded.

LangChain embeddings fire no callbacks, so no handler sees them. The wrapper runs each call
(``embed_documents``, ``embed_query`` and their async forms) through a
:class:`tokenomy.Pipeline` as one request of ``kind="embedding"`` with the texts in
``params["input"]``: one ledger record per call. LangChain's ``Embeddings`` interface returns
vectors only (langchain-openai 1.7 drops the usage the API sent), so the input tokens are
counted locally with :mod:`tokenomy.tokens` and the record is flagged ``estimated``.
The embeddings' SDK client retries (``max_retries``) are taken over as the chat wrapper's
are (:func:`tokenomy.take_over_sdk_retries`): each attempt is a record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from tokenomy import (
    ConfigurationError,
    ModelRequest,
    ModelResponse,
    Pipeline,
    Usage,
    take_over_sdk_retries,
)

if TYPE_CHECKING:
    from tokenomy import LedgerStore, Policy, PriceBook

__all__ = ["TokenomyEmbeddings"]

_FALLBACK_MODEL = "text-embedding-3-small"


class TokenomyEmbeddings(Embeddings):
    """Wraps any LangChain ``Embeddings`` so each call is one ledger record.

    ``policies`` run around each call as around a chat call (they see
    ``request.kind == "embedding"``); ``ledger``/``price_book``/``tags`` as for
    :class:`~tokenomy_langchain.TokenomyChatModel`. The model is the wrapped object's
    ``model`` (or ``model_name``), the provider its package's (``langchain_openai`` →
    ``openai``).
    """

    def __init__(
        self,
        embeddings: Embeddings,
        policies: Sequence[Policy] = (),
        *,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(embeddings, Embeddings):
            raise ConfigurationError(
                "TokenomyEmbeddings wraps LangChain embeddings (langchain_core.embeddings."
                f"Embeddings, such as OpenAIEmbeddings), got {type(embeddings).__name__}"
            )
        # the client's own retries would be attempts no ledger sees: a copy without them, and
        # Retry.like_sdk() unless a Retry is in the policies (the user's embeddings are kept)
        self.embeddings, chain = take_over_sdk_retries(embeddings, policies)
        self.pipeline = Pipeline(chain, ledger=ledger, price_book=price_book, tags=tags)
        self.model = _model_name(embeddings)
        self.provider = _provider(embeddings)

    def __repr__(self) -> str:
        return f"TokenomyEmbeddings({self.embeddings!r}, policies={list(self.pipeline.policies)!r})"

    # -- the Embeddings interface ------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        request = self._request(texts, "embed_documents")
        response = self.pipeline.call(
            request, lambda final: self._answer(final, self.embeddings.embed_documents(_texts(final)))
        )
        return list(response.native)

    def embed_query(self, text: str) -> list[float]:
        request = self._request([text], "embed_query")
        response = self.pipeline.call(
            request, lambda final: self._answer(final, [self.embeddings.embed_query(_texts(final)[0])])
        )
        return list(response.native[0])

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        request = self._request(texts, "embed_documents")

        async def send(final: ModelRequest) -> ModelResponse:
            return self._answer(final, await self.embeddings.aembed_documents(_texts(final)))

        response = await self.pipeline.acall(request, send)
        return list(response.native)

    async def aembed_query(self, text: str) -> list[float]:
        request = self._request([text], "embed_query")

        async def send(final: ModelRequest) -> ModelResponse:
            return self._answer(final, [await self.embeddings.aembed_query(_texts(final)[0])])

        response = await self.pipeline.acall(request, send)
        return list(response.native[0])

    # -- internals ---------------------------------------------------------------------------

    def _request(self, texts: list[str], name: str) -> ModelRequest:
        return ModelRequest(
            model=self.model,
            provider=self.provider,
            kind="embedding",
            params={"input": list(texts)},
            name=f"{type(self.embeddings).__name__}.{name}",
            framework="langchain",
            native=texts,
        )

    def _answer(self, request: ModelRequest, vectors: list[list[float]]) -> ModelResponse:
        return ModelResponse(
            message={"role": "assistant", "content": ""},
            usage=self._usage(request),
            model=request.model,
            provider=request.provider,
            native=vectors,
        )

    def _usage(self, request: ModelRequest) -> Usage:
        from tokenomy.tokens import count_text

        texts = _texts(request)
        try:
            n = sum(count_text(t, request.model or _FALLBACK_MODEL) for t in texts)
        except Exception:  # a model tiktoken does not know: count with the default encoding
            n = sum(count_text(t, _FALLBACK_MODEL) for t in texts)
        return Usage(input=n, output=0, estimated=True)


def _texts(request: ModelRequest) -> list[str]:
    value = request.params.get("input")
    return [value] if isinstance(value, str) else list(value or ())


def _model_name(embeddings: Embeddings) -> str | None:
    for attr in ("model", "model_name", "model_id", "deployment"):
        value = getattr(embeddings, attr, None)
        if isinstance(value, str) and value:
            return value
    return None


def _provider(embeddings: Embeddings) -> str | None:
    package = type(embeddings).__module__.split(".", 1)[0]
    if package.startswith("langchain_") and package != "langchain_core":
        return package.removeprefix("langchain_")
    return None
