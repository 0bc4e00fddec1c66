"""Per-model-family overhead of OpenAI chat prompts (shared by Chat Completions and Responses).

Cookbook rule ("How to count tokens with tiktoken"): each message costs ``per_message`` (3)
tokens plus its role, content and name (a name costs ``per_name`` more); the reply is primed with
3 tokens. gpt-3.5-turbo-0301 used 4 and -1.

gpt-5 and later render prompts in the "harmony" layout: a message is
``<|start|>{role}<|message|>{content}<|end|>`` (the same 3 + role), but the reply is primed with
``<|start|>assistant`` only (2 tokens) and every earlier assistant turn carries a channel
(``<|channel|>final``, 2 more tokens). Measured on the shared cassettes: gpt-5.x, gpt-5-nano and
gpt-6 Responses requests match this exactly; gpt-4o-mini matches the cookbook rule.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ChatFormat", "chat_format"]


@dataclass(frozen=True, slots=True)
class ChatFormat:
    """Fixed token costs of one model family's chat rendering."""

    family: str
    per_message: int = 3
    per_name: int = 1
    reply_priming: int = 3
    assistant_extra: int = 0
    harmony: bool = False


_COOKBOOK = ChatFormat(family="cookbook")
_LEGACY_0301 = ChatFormat(family="gpt-3.5-turbo-0301", per_message=4, per_name=-1)
_HARMONY = ChatFormat(family="harmony", reply_priming=2, assistant_extra=2, harmony=True)
_HARMONY_PREFIXES = ("gpt-5", "gpt-6", "gpt-7", "gpt-oss", "codex")


def bare_model(model: str) -> str:
    """Lower-cased model name without a provider prefix or fine-tune marker."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    return name[3:] if name.startswith("ft:") else name


def chat_format(model: str) -> ChatFormat:
    """The :class:`ChatFormat` of ``model`` (unknown models get the cookbook rule)."""
    name = bare_model(model)
    if name.startswith("gpt-3.5-turbo-0301"):
        return _LEGACY_0301
    if name.startswith(_HARMONY_PREFIXES):
        return _HARMONY
    return _COOKBOOK
