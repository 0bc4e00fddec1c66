"""Model names as users write them → the key of a price entry.

Tried in order, first hit wins (a wrong price is worse than none, so nothing fuzzy):

1. user aliases (Azure deployment names and the like), then the name itself;
2. ``<provider>/<name>`` when the provider is known (Azure, Bedrock, Vertex and Gemini prices can
   differ from the vendor's own);
3. without a routing prefix (``openai/gpt-4o``, ``openrouter/anthropic/claude-...``);
4. Bedrock ids: ARNs (``arn:aws:bedrock:...:inference-profile/us.anthropic...``), cross-region
   prefixes (``us.``, ``eu.``, ``apac.``, ``global.``...), with and without ``bedrock/``;
5. Vertex ids: ``publishers/anthropic/models/claude...@20240620``, ``@`` versions;
6. dated snapshots and versions stripped (``gpt-4o-2024-08-06`` → ``gpt-4o`` when the dated
   name has no entry of its own, ``-20250219``, ``-v1:0``, ``-001``);
7. ``-latest`` → the newest dated entry of that family.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

__all__ = ["PROVIDER_PREFIXES", "candidates", "normalise_provider", "resolve_name"]

#: Provider names as frameworks spell them → litellm's key prefix.
PROVIDER_PREFIXES: dict[str, str] = {
    "openai": "openai",
    "azure": "azure",
    "azure_openai": "azure",
    "azure-openai": "azure",
    "anthropic": "anthropic",
    "google": "gemini",
    "google_genai": "gemini",
    "google-genai": "gemini",
    "gemini": "gemini",
    "vertex": "vertex_ai",
    "vertexai": "vertex_ai",
    "vertex_ai": "vertex_ai",
    "google_vertexai": "vertex_ai",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "amazon_bedrock": "bedrock",
    "aws": "bedrock",
    "mistral": "mistral",
    "mistralai": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "xai",
    "cohere": "cohere",
    "together": "together_ai",
    "together_ai": "together_ai",
    "fireworks": "fireworks_ai",
    "fireworks_ai": "fireworks_ai",
    "openrouter": "openrouter",
    "ollama": "ollama",
}

_REGION = re.compile(r"^(us|eu|apac|global|au|jp|ca|us-gov|apne\d?)\.", re.IGNORECASE)
_DATE_SUFFIXES = (
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # gpt-4o-2024-08-06
    re.compile(r"-\d{8}$"),  # claude-3-7-sonnet-20250219
    re.compile(r"@\d{8}$"),  # vertex claude-3-5-sonnet@20240620
    re.compile(r"@(latest|default|\d{3})$"),
    re.compile(r"-v\d+(:\d+)?$"),  # bedrock -v1:0
    re.compile(r"-\d{3}$"),  # gemini-1.5-pro-002
    re.compile(r"-\d{4}$"),  # mistral-large-2407, gpt-4-0613
    re.compile(r"-preview$"),
)
_LATEST = re.compile(r"-latest$")


def normalise_provider(provider: str | None) -> str | None:
    """litellm's prefix for a provider name (``None`` when unknown or not given)."""
    if not provider:
        return None
    p = provider.strip().lower()
    return PROVIDER_PREFIXES.get(p, p)


def _variants(name: str) -> Iterator[str]:
    """The name and what it becomes after stripping ids that do not change the price."""
    yield name
    if name.startswith("arn:"):
        tail = name.rsplit("/", 1)[-1]
        yield tail
        name = tail
    if "/" in name:
        parts = name.split("/")
        if len(parts) >= 4 and parts[0] == "publishers" and parts[2] == "models":
            yield parts[3]
        for i in range(1, len(parts)):
            yield "/".join(parts[i:])
        name = parts[-1]
    stripped = _REGION.sub("", name)
    if stripped != name:
        yield stripped
    if "@" in stripped:
        yield stripped.replace("@", "-")
    current = stripped
    for _ in range(3):  # e.g. anthropic.claude-3-5-sonnet-20240620-v1:0 → two suffixes
        changed = False
        for pat in _DATE_SUFFIXES:
            nxt = pat.sub("", current)
            if nxt != current and nxt:
                yield nxt
                current = nxt
                changed = True
        if not changed:
            break


def candidates(model: str, provider: str | None) -> Iterator[str]:
    """Every key tried for ``model``, in order (for error messages and tests)."""
    prefix = normalise_provider(provider)
    seen: set[str] = set()
    for v in _variants(model.strip()):
        for key in ((f"{prefix}/{v}", v) if prefix and not v.startswith(prefix + "/") else (v,)):
            for k in (key, key.lower()):
                if k not in seen:
                    seen.add(k)
                    yield k
        if "." in v and not v.startswith(("gpt", "o1", "o3", "o4", "claude", "gemini")):
            # Bedrock vendor ids: try the bedrock/ prefix for bare anthropic.claude-... names
            k = f"bedrock/{v}"
            if k not in seen:
                seen.add(k)
                yield k


def resolve_name(
    model: str,
    provider: str | None,
    known: Mapping[str, object],
    aliases: Mapping[str, str],
    latest: Callable[[str], str | None],
) -> tuple[str | None, tuple[str, ...]]:
    """(the price key, the keys tried)."""
    name = aliases.get(model) or aliases.get(model.lower()) or model
    tried: list[str] = []
    for key in candidates(name, provider):
        tried.append(key)
        if key in known:
            return key, tuple(tried)
    if _LATEST.search(name):
        base = _LATEST.sub("", name.rsplit("/", 1)[-1])
        hit = latest(base)
        tried.append(f"{base}-<newest date>")
        if hit is not None:
            return hit, tuple(tried)
    return None, tuple(tried)
