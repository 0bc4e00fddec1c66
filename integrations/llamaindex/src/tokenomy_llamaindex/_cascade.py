"""``CascadeLLM``: the core :class:`tokenomy.routing.Cascade` behind the LLM wrapper, over
several LlamaIndex LLMs (cheap → strong).

A :class:`~tokenomy_llamaindex.TokenomyLLM` whose pipeline ends with the cascade policy and
whose sender calls the tier's own LLM (picked by the model name the policy put in the
request). Metadata, tool calling and structured output are the last (strongest) LLM's.

The tiers' SDK clients do not retry on their own: each tier whose client would
(``max_retries``) is replaced by a copy without (the user's LLMs are left as they were), and
when ``policies`` hold no :class:`tokenomy.Retry` a ``Retry.like_sdk()`` is the innermost
policy, retrying a tier's failed attempt as its client would have before the cascade falls
through to the next tier: every attempt is a ledger record
(:func:`tokenomy.take_over_sdk_retries_all`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.llms import LLM
from pydantic import PrivateAttr

from tokenomy import ConfigurationError, ModelRequest, Policy, take_over_sdk_retries_all
from tokenomy.routing import Cascade, Gate, PreRouter, Tier
from tokenomy_llamaindex._usage import provider_of
from tokenomy_llamaindex._wrapper import TokenomyLLM

__all__ = ["CascadeLLM"]


def _name(llm: LLM) -> str | None:
    if "model" in type(llm).model_fields:
        model = llm.model  # type: ignore[attr-defined]
        if isinstance(model, str) and model:
            return model
    name = llm.metadata.model_name
    return name if name and name != "unknown" else None


class CascadeLLM(TokenomyLLM):
    """An LLM that asks ``llms`` (cheapest first) in turn until an answer passes ``gate`` (the
    last LLM's answer is always returned), every attempt recorded under one run with its
    verdict. ``policies`` run before the cascade; ``context`` and ``pre_router`` as for
    :class:`tokenomy.routing.Cascade`. Usable in query engines, chat engines and agents.
    """

    _tiers: dict[str, LLM] = PrivateAttr(default_factory=dict)
    _cascade: Cascade = PrivateAttr()

    def __init__(
        self,
        llms: Sequence[LLM],
        gate: Gate | None = None,
        *,
        context: str = "none",
        pre_router: PreRouter | None = None,
        policies: Sequence[Policy] = (),
        ledger: Any = None,
        price_book: Any = None,
        tags: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        llms = list(llms)
        tiers: dict[str, LLM] = {}
        built: list[Tier] = []
        for llm in llms:
            if not isinstance(llm, LLM):
                raise ConfigurationError(
                    f"a cascade's tiers are LlamaIndex LLMs, got {type(llm).__name__}"
                )
            name = _name(llm)
            if not name or name in tiers:
                raise ConfigurationError(
                    f"each cascade tier needs its own model name; {type(llm).__name__} gave "
                    f"{name!r} (tiers so far: {list(tiers)})"
                )
            tiers[name] = llm
            built.append(Tier(name, provider=provider_of({"class_name": llm.class_name()})))
        if not built:
            raise ConfigurationError("CascadeLLM needs one or more LLMs")
        cascade = Cascade(
            built, gate, context=context, pre_router=pre_router  # type: ignore[arg-type]
        )
        # every tier's hidden SDK retries become the pipeline's (copies; the user's kept)
        own, chain = take_over_sdk_retries_all(list(tiers.values()), [*policies, cascade])
        tiers = dict(zip(tiers, own, strict=True))
        super().__init__(
            own[-1],
            chain,
            ledger=ledger,
            price_book=price_book,
            tags=tags,
            **kwargs,
        )
        self._tiers = tiers
        self._cascade = cascade

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "CascadeLLM"

    @property
    def cascade(self) -> Cascade:
        """The cascade policy (its tiers, gate, context, pre-router)."""
        return self._cascade

    def _target(
        self, request: ModelRequest, final: ModelRequest, kwargs: Mapping[str, Any]
    ) -> tuple[LLM, dict[str, Any]]:
        llm, out = super()._target(request, final, kwargs)
        tier = self._tiers.get(final.model or "")
        if tier is None or tier is self.llm:
            return llm, out
        out.pop("model", None)
        limit = final.params.get("max_tokens")
        own = getattr(tier, "max_tokens", None)
        if limit is not None and own is not None and own != limit:
            tier = tier.model_copy(update={"max_tokens": limit})
        return tier, out
