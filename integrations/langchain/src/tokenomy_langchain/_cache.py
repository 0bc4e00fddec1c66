"""``TokenomyLLMCache``: tokenomy's exact + semantic cache behind LangChain's own cache seam
(``set_llm_cache`` or a model's ``cache=``), for users who keep that seam.

LangChain hands a cache the serialized prompt (its ``dumps`` of the messages) and the model's
``llm_string`` (its configuration). Here the prompt is read back into messages (LangChain's
``loads``, as its own SQL caches do), and the lookup is a
:class:`tokenomy.cache.ResponseCache`'s: the exact key of messages + ``llm_string``, then
paraphrases of the last user turn under the same ``llm_string``, system prompt and earlier
turns, with the guards. The namespace comes from the cache's ``namespace`` /
``namespace_tags`` (tags of the enclosing ``tokenomy_langchain.track(tags=...)`` block:
LangChain passes no run metadata to a cache). The generations are stored as LangChain
serializes them, so a hit returns what was cached (and LangChain marks it as a cache hit,
which the tokenomy handler records as $0 spent, the cost saved).

Note: LangChain's ``stream()`` does not consult this seam; ``TokenomyChatModel`` with a
``ResponseCache`` policy serves streams from the cache.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.embeddings import Embeddings
from langchain_core.load import dumps, loads
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk

from tokenomy import ModelRequest, ModelResponse
from tokenomy.cache import ResponseCache
from tokenomy.rag import Embedder

__all__ = ["LangChainEmbedder", "TokenomyLLMCache"]


class TokenomyLLMCache(BaseCache):
    """LangChain ``BaseCache`` over a :class:`tokenomy.cache.ResponseCache` (module
    docstring). ``cache``: the core cache (default: in memory, semantic with MiniLM);
    other keywords build one (``ResponseCache(**kwargs)``)."""

    def __init__(self, cache: ResponseCache | None = None, **kwargs: Any) -> None:
        self.cache = cache if cache is not None else ResponseCache(**kwargs)

    def __repr__(self) -> str:
        return f"TokenomyLLMCache({self.cache!r})"

    @staticmethod
    def _request(prompt: str, llm_string: str) -> ModelRequest:
        try:
            value = _loads(prompt, "messages")
        except Exception:
            value = prompt
        if isinstance(value, list) and all(isinstance(m, BaseMessage) for m in value):
            messages = convert_to_openai_messages(value)
            return ModelRequest(
                model=None, messages=list(messages), params={"llm_string": llm_string}
            )
        return ModelRequest(
            model=None, kind="completion", prompt=str(prompt), params={"llm_string": llm_string}
        )

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        request = self._request(prompt, llm_string)
        hit = self.cache.lookup(request)
        if hit is None:
            return None
        stored = hit.entry.answer.get("langchain")
        if not isinstance(stored, str):
            return None
        generations = _loads(stored, _GENERATIONS)
        return list(generations) if isinstance(generations, list) else None

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        request = self._request(prompt, llm_string)
        response = _response(return_val)
        if response is None:
            return
        self.cache.store(request, response, extra={"langchain": dumps(list(return_val))})

    def clear(self, **kwargs: Any) -> None:
        """Forget the namespace ``kwargs["namespace"]`` (default: the cache's fixed one)."""
        namespace = kwargs.get("namespace")
        if namespace is None and isinstance(self.cache.namespace, str):
            namespace = self.cache.namespace
        if namespace is not None:
            self.cache.invalidate(str(namespace))


#: what a stored answer may revive into (LangChain's loads with an allowlist: the store may be
#: shared, so nothing else is constructed from it)
_GENERATIONS: list[Any] = [
    ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk, AIMessage, AIMessageChunk,
]


def _loads(text: str, allowed: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loads is "beta"; the allowlist is explicit here
        return loads(text, allowed_objects=allowed)


def _response(generations: Sequence[Any]) -> ModelResponse | None:
    if len(generations) != 1:
        return None  # several choices (n > 1): not cached
    (gen,) = generations
    info = dict(getattr(gen, "generation_info", None) or {})
    finish = info.get("finish_reason")
    if isinstance(gen, ChatGeneration):
        (message,) = convert_to_openai_messages([gen.message])
        metadata = getattr(gen.message, "response_metadata", None) or {}
        finish = finish or metadata.get("finish_reason") or metadata.get("stop_reason")
        return ModelResponse(message=dict(message), finish_reason=finish)
    return ModelResponse(message={"role": "assistant", "content": gen.text}, finish_reason=finish)


class LangChainEmbedder(Embedder):
    """Any LangChain ``Embeddings`` as a :class:`tokenomy.rag.Embedder`, for the semantic
    cache (``ResponseCache(embedder=LangChainEmbedder(OpenAIEmbeddings()))``) or the RAG
    budgeter: texts go to ``embed_documents`` in one batch."""

    def __init__(self, embeddings: Embeddings) -> None:
        self.embeddings = embeddings

    def __repr__(self) -> str:
        return f"LangChainEmbedder({type(self.embeddings).__name__})"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return [list(map(float, v)) for v in self.embeddings.embed_documents(list(texts))]
