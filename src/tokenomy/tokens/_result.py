"""The result type of every estimate."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TokenEstimate"]


@dataclass(frozen=True, slots=True)
class TokenEstimate:
    """Prompt tokens of one request, counted locally.

    ``estimated`` is false only when the count follows the provider's exact rule (OpenAI
    chat/Responses requests on plain text); ``method`` names the rule used and, when the count
    is estimated, why (e.g. ``"openai-chat+tools"``). ``encoding`` is the tiktoken encoding
    the text was counted with.
    """

    prompt_tokens: int
    estimated: bool
    encoding: str
    method: str
