"""Anthropic Messages request bodies: always estimates (Claude's tokenizer is not public).

Text is counted with o200k_base, which agrees with Claude's reported counts on ordinary
English prompts in the shared cassettes and undercounts unusual text (a 100 000-character
run of one letter: 12 509 o200k tokens, 33 423 reported by claude-opus-4-6). The fixed costs
below were fitted on those cassettes or come from Anthropic's documentation:

* 4 tokens per request plus 3 per message (``"Write a story about a cat."`` = 7 text tokens,
  14 reported); thinking blocks of earlier turns are dropped by the API and not counted.
* Extended thinking adds a system preamble (36 reported for ``"Hello"`` vs 8 without).
* Client tools add Anthropic's tool-use system prompt plus the definitions; server tools
  (web search/fetch, code execution, MCP) add a larger preamble and, in the same call, the
  content they fetch, which cannot be known in advance: the table holds the smallest cost seen.
* Structured outputs (``output_config.format``) add a preamble plus the schema.
* Images cost ``width * height / 750`` after scaling into 1568 px (Anthropic's vision guide).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._encoding import get_encoding
from tokenomy.tokens._images import image_size_from_bytes
from tokenomy.tokens._result import TokenEstimate
from tokenomy.tokens._text import dumps, encode_len

__all__ = ["estimate_anthropic_body"]

ENCODING = "o200k_base"
BASE = 4
PER_MESSAGE = 3
THINKING_PREAMBLE = 28
CITATIONS_PREAMBLE = 530
CLIENT_TOOLS_PREAMBLE = 500
OUTPUT_FORMAT_PREAMBLE = 134  # structured outputs: 200 reported = 11 text + 55 schema + this
PER_BLOCK = 3  # tool_use / tool_result framing
_DEFAULT_IMAGE = (1024, 1024)
#: Smallest prompt cost of each server tool seen in the cassettes (prefix of the tool type).
SERVER_TOOL_TOKENS: dict[str, int] = {
    "code_execution": 900,
    "mcp_toolset": 850,
    "tool_search_tool": 1200,
    "web_fetch": 990,
    "web_search": 2180,
}


def estimate_anthropic_body(body: Mapping[str, Any]) -> TokenEstimate:
    """Estimate an Anthropic ``/v1/messages`` request body (``estimated=True`` always)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise TokenCountError(
            "Anthropic request body has no 'messages' list; expected "
            '{"model": "claude-...", "max_tokens": 1024, "messages": [...]}'
        )
    enc = get_encoding(ENCODING)
    reasons: set[str] = set()
    total = BASE + _blocks(enc, body.get("system"), reasons, keep_thinking=False)
    thinking = body.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive"):
        total += THINKING_PREAMBLE
    start = _after_compaction(messages)
    for index, message in enumerate(messages[start:], start):
        if not isinstance(message, Mapping):
            raise TokenCountError(
                f"messages[{index}] must be a dict with 'role' and 'content', "
                f"got {type(message).__name__}"
            )
        # The API keeps thinking only in the assistant turn a tool loop is still answering.
        keep = index == len(messages) - 2 and _has_tool_result(messages[-1])
        total += PER_MESSAGE + _blocks(enc, message.get("content"), reasons, keep_thinking=keep)
    total += _tools(enc, body.get("tools") or (), reasons)
    output_config = body.get("output_config")
    output_format = output_config.get("format") if isinstance(output_config, Mapping) else None
    if isinstance(output_format, Mapping) and output_format.get("type") == "json_schema":
        reasons.add("output-format")
        total += OUTPUT_FORMAT_PREAMBLE + encode_len(enc, dumps(output_config))
    method = "anthropic-approx" + "".join(f"+{r}" for r in sorted(reasons))
    return TokenEstimate(prompt_tokens=total, estimated=True, encoding=ENCODING, method=method)


def _after_compaction(messages: Sequence[Any]) -> int:
    """Index of the message holding the last compaction block (earlier turns are replaced)."""
    for index in range(len(messages) - 1, -1, -1):
        content = messages[index].get("content") if isinstance(messages[index], Mapping) else None
        if isinstance(content, list) and any(
            isinstance(b, Mapping) and b.get("type") == "compaction" for b in content
        ):
            return index
    return 0


def _has_tool_result(message: Any) -> bool:
    content = message.get("content") if isinstance(message, Mapping) else None
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content
    )


def _blocks(enc: Any, content: Any, reasons: set[str], *, keep_thinking: bool) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return encode_len(enc, content)
    if not isinstance(content, Sequence):
        raise TokenCountError(
            f"Anthropic content must be a string or a list of blocks, got {type(content).__name__}"
        )
    return sum(_block(enc, b, reasons, keep_thinking=keep_thinking) for b in content)


def _block(enc: Any, block: Any, reasons: set[str], *, keep_thinking: bool) -> int:
    if isinstance(block, str):
        return encode_len(enc, block)
    if not isinstance(block, Mapping):
        raise TokenCountError(f"content block must be a dict, got {type(block).__name__}")
    kind = str(block.get("type") or "text")
    if kind == "text":
        return encode_len(enc, str(block.get("text") or ""))
    if kind in ("thinking", "redacted_thinking"):
        if not keep_thinking:
            return 0
        reasons.add("thinking")
        return encode_len(enc, str(block.get("thinking") or ""))
    if kind == "image":
        reasons.add("images")
        return _image_tokens(block.get("source"))
    if kind == "tool_use":
        reasons.add("tool-calls")
        return (
            PER_BLOCK
            + encode_len(enc, str(block.get("name") or ""))
            + encode_len(enc, dumps(block.get("input") or {}))
        )
    if kind == "tool_result":
        reasons.add("tool-results")
        return PER_BLOCK + _blocks(enc, block.get("content"), reasons, keep_thinking=False)
    if kind in ("document", "search_result"):
        reasons.add("documents")
        citations = block.get("citations")
        extra = (
            CITATIONS_PREAMBLE if isinstance(citations, Mapping) and citations.get("enabled") else 0
        )
        return extra + _document_tokens(enc, block, reasons)
    if kind == "compaction":
        return encode_len(enc, str(block.get("content") or ""))
    reasons.add(kind.replace("_", "-"))  # server_tool_use, *_tool_result, mcp_*, ...
    return encode_len(enc, dumps({k: v for k, v in block.items() if k not in ("id", "type")}))


def _document_tokens(enc: Any, block: Mapping[str, Any], reasons: set[str]) -> int:
    total = encode_len(enc, str(block.get("title") or "")) + encode_len(
        enc, str(block.get("context") or "")
    )
    if block.get("type") == "search_result":
        return total + _blocks(enc, block.get("content"), reasons, keep_thinking=False)
    source = block.get("source")
    if not isinstance(source, Mapping):
        return total
    if source.get("type") == "text":
        return total + encode_len(enc, str(source.get("data") or ""))
    if source.get("type") == "content":
        return total + _blocks(enc, source.get("content"), reasons, keep_thinking=False)
    reasons.add("pdf")  # base64/url PDFs: contents unknown until the API extracts them
    return total


def _image_tokens(source: Any) -> int:
    size = None
    if isinstance(source, Mapping) and source.get("type") == "base64":
        import base64
        import binascii

        try:
            size = image_size_from_bytes(base64.b64decode(str(source.get("data"))[:65536] + "=="))
        except (binascii.Error, ValueError):
            size = None
    width, height = size or _DEFAULT_IMAGE
    scale = min(1.0, 1568 / max(width, height), math.sqrt(1_150_000 / (width * height)))
    return math.ceil(width * scale * height * scale / 750)


def _tools(enc: Any, tools: Sequence[Any], reasons: set[str]) -> int:
    if not tools:
        return 0
    total = 0
    client = False
    for tool in tools:
        if not isinstance(tool, Mapping):
            raise TokenCountError(f"tools entries must be dicts, got {type(tool).__name__}")
        kind = str(tool.get("type") or "custom")
        server = next((v for k, v in SERVER_TOOL_TOKENS.items() if kind.startswith(k)), None)
        if server is not None:
            reasons.add("server-tools")
            total += server
        else:
            client = True
            total += encode_len(enc, dumps({k: v for k, v in tool.items() if k != "cache_control"}))
    if client:
        reasons.add("tools")
        total += CLIENT_TOOLS_PREAMBLE
    return total
