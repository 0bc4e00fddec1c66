"""``POST /v1/embeddings`` (deterministic vectors) and ``GET /v1/models``."""

from __future__ import annotations

import base64
import hashlib
import math
import struct
import time
from typing import Any

from tokenomy.testing._counting import text_tokens
from tokenomy.testing._faults import Fault
from tokenomy.testing._generate import Context, int_field
from tokenomy.testing._request import SimRequest
from tokenomy.testing._wire import EndpointError, Reply
from tokenomy.usage import Usage

__all__ = ["embedding_vector", "handle_embeddings", "handle_models"]

_DIMENSIONS = {"text-embedding-3-large": 3072}
_DEFAULT_DIMENSIONS = 1536

#: Models ``GET /v1/models`` lists besides those requested so far.
DEFAULT_MODELS: tuple[str, ...] = (
    "claude-haiku-4-5",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-5",
    "gpt-5-mini",
    "o3",
    "o4-mini",
    "text-embedding-3-large",
    "text-embedding-3-small",
    "text-embedding-ada-002",
)
_CREATED = 1_700_000_000


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """The unit-length vector the simulator returns for ``text``: a pure function of the text
    and the size, with float32-exact components (so float and base64 answers agree)."""
    raw: list[float] = []
    counter = 0
    while len(raw) < dimensions:
        digest = hashlib.sha256(f"{counter}\0{text}".encode()).digest()
        raw.extend(v / 2**31 - 1.0 for v in struct.unpack("<8I", digest))
        counter += 1
    raw = raw[:dimensions]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(v / norm for v in raw))
    return list(struct.unpack(f"<{dimensions}f", packed))


def _inputs(value: Any) -> list[tuple[str, int | None]]:
    """(hash key, token count if given as ids) per input."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise EndpointError(
            400,
            "'input' must be a non-empty string or array of strings/token arrays.",
            param="input",
        )
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [(" ".join(map(str, value)), len(value))]
    out: list[tuple[str, int | None]] = []
    for item in value:
        if isinstance(item, str):
            if not item:
                raise EndpointError(400, "'input' cannot contain an empty string.", param="input")
            out.append((item, None))
        elif isinstance(item, list) and all(isinstance(v, int) for v in item):
            out.append((" ".join(map(str, item)), len(item)))
        else:
            raise EndpointError(400, f"Invalid 'input' item: {item!r}.", param="input")
    return out


def handle_embeddings(ctx: Context, request: SimRequest, length_fault: Fault | None) -> Reply:
    """Answer one embeddings request (``encoding_format`` ``"float"`` or ``"base64"``)."""
    body = request.body
    requested = request.model or ""
    inputs = _inputs(body.get("input"))
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise EndpointError(
            400,
            f"Invalid 'encoding_format': {fmt!r}; use 'float' or 'base64'.",
            param="encoding_format",
        )
    dims = int_field(body.get("dimensions"), "dimensions") or ctx.embedding_dimensions
    dims = dims or _DIMENSIONS.get(requested, _DEFAULT_DIMENSIONS)
    data: list[dict[str, Any]] = []
    tokens = 0
    for index, (text, given) in enumerate(inputs):
        tokens += given if given is not None else text_tokens(text, requested)
        vector = embedding_vector(text, dims)
        encoded: Any = vector
        if fmt == "base64":
            encoded = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    model = ctx.response_model(requested)
    return Reply(
        body={
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
        usage=Usage(input=tokens),
        model=model,
    )


def handle_models(ctx: Context, request: SimRequest, models: list[str]) -> Reply:
    """``GET /v1/models[/{id}]`` in the OpenAI shape, or Anthropic's when the request carries
    an ``anthropic-version`` header."""
    anthropic = request.header("anthropic-version") is not None
    prefix = "/v1/models/"
    wanted = request.path[len(prefix) :] if request.path.startswith(prefix) else None

    def entry(model: str) -> dict[str, Any]:
        if anthropic:
            return {
                "type": "model",
                "id": model,
                "display_name": model,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_CREATED)),
            }
        owner = "anthropic" if model.startswith("claude") else "openai"
        return {"id": model, "object": "model", "created": _CREATED, "owned_by": owner}

    if wanted is not None:
        if wanted not in models:
            raise EndpointError(404, f"The model '{wanted}' does not exist.", param="model")
        return Reply(body=entry(wanted))
    data = [entry(m) for m in models]
    if anthropic:
        return Reply(
            body={
                "data": data,
                "has_more": False,
                "first_id": models[0] if models else None,
                "last_id": models[-1] if models else None,
            }
        )
    return Reply(body={"object": "list", "data": data})
