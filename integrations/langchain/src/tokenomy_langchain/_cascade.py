"""``CascadeChatModel``: the core :class:`tokenomy.routing.Cascade` behind the chat-model
wrapper, over several LangChain chat models (cheap → strong).

It is a :class:`~tokenomy_langchain.TokenomyChatModel` whose pipeline ends with the cascade
policy and whose sender calls the tier's own chat model (picked by the model name the policy
put in the request). Tool binding and structured output are the last (strongest) model's,
bound on the cascade, so the tiers should take the same tool format (one provider family).

The tiers' SDK clients do not retry on their own: each tier whose client would
(``max_retries``, 2 by default) is replaced by a copy without (the user's models are left as
they were), and when ``policies`` hold no :class:`tokenomy.Retry` a ``Retry.like_sdk()`` is
the innermost policy, retrying a tier's failed attempt as its client would have before the
cascade falls through to the next tier: every attempt is a ledger record
(:func:`tokenomy.take_over_sdk_retries_all`). A ``Retry`` in ``policies`` runs around the
whole cascade instead (a lower tier's failure falls through at once; the last tier's reruns
the cascade).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from pydantic import Field, PrivateAttr

from tokenomy import ConfigurationError, ModelRequest, Policy, take_over_sdk_retries_all
from tokenomy.routing import Cascade, Gate, PreRouter, Tier
from tokenomy_langchain._chat_model import TokenomyChatModel
from tokenomy_langchain._translate import model_info

if TYPE_CHECKING:
    from tokenomy import LedgerStore, PriceBook

__all__ = ["CascadeChatModel", "tiers_of"]


def tiers_of(models: Sequence[BaseChatModel]) -> dict[str, tuple[Tier, BaseChatModel]]:
    """Each chat model's name and provider (its LangSmith params) as a :class:`Tier`, keyed
    by name; ``ConfigurationError`` when a name is missing or repeated."""
    out: dict[str, tuple[Tier, BaseChatModel]] = {}
    for model in models:
        if not isinstance(model, BaseChatModel):
            raise ConfigurationError(
                f"a cascade's tiers are LangChain chat models, got {type(model).__name__}"
            )
        name, provider = model_info(model, {})
        if not name or name in out:
            raise ConfigurationError(
                f"each cascade tier needs its own model name; {type(model).__name__} gave "
                f"{name!r} (tiers so far: {list(out)})"
            )
        out[name] = (Tier(name, provider=provider), model)
    return out


class CascadeChatModel(TokenomyChatModel):
    """A chat model that asks ``models`` (cheapest first) in turn until an answer passes
    ``gate`` (the last model's answer is always returned), every attempt recorded under one
    run with its verdict. ``policies`` run before the cascade (outermost first); ``context``
    and ``pre_router`` as for :class:`tokenomy.routing.Cascade`.

    ``CascadeChatModel([ChatOpenAI(model="gpt-4o-mini"), ChatOpenAI(model="gpt-4o")],
    gate=FinalNumber() & ArithmeticCheck())`` drops in wherever a chat model goes.
    """

    tiers: list[BaseChatModel] = Field(default_factory=list)
    _by_name: dict[str, BaseChatModel] = PrivateAttr(default_factory=dict)

    def __init__(
        self,
        models: Sequence[BaseChatModel],
        gate: Gate | None = None,
        *,
        context: str = "none",
        pre_router: PreRouter | None = None,
        policies: Sequence[Policy] = (),
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
        tags: Mapping[str, Any] | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        tiers = tiers_of(list(models))
        if not tiers:
            raise ConfigurationError("CascadeChatModel needs one or more chat models")
        cascade = Cascade(
            [t for t, _ in tiers.values()],
            gate,
            context=context,  # type: ignore[arg-type]
            pre_router=pre_router,
        )
        # every tier's hidden SDK retries become the pipeline's (copies; the user's kept)
        own, chain = take_over_sdk_retries_all(
            [model for _, model in tiers.values()], [*policies, cascade]
        )
        super().__init__(
            own[-1],
            chain,
            ledger=ledger,
            price_book=price_book,
            tags=tags,
            tiers=own,
            **kwargs,
        )
        self._by_name = dict(zip(tiers, own, strict=True))

    @property
    def cascade(self) -> Cascade:
        """The cascade policy (its tiers, gate, context, pre-router)."""
        policy = next(p for p in reversed(self.policies) if isinstance(p, Cascade))
        return policy

    def _wrapped_for(self, final: ModelRequest) -> BaseChatModel:
        return self._by_name.get(final.model or "", self.model)
