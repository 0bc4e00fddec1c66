"""Tool definitions and structured-output schemas, rendered the way OpenAI models see them.

OpenAI does not publish how it renders function definitions and ``json_schema`` response
formats into the prompt. The open "harmony" format of its gpt-oss models shows the layout:
a ``# Tools`` section with a TypeScript ``namespace functions { ... }`` where each parameter
schema becomes a TypeScript type, with titles, descriptions and defaults as ``//`` comments.
This module renders that text (its own implementation of the layout) and counts it; the
fixed costs around it were fitted on the shared cassettes. Results are estimates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._text import encode_len

__all__ = [
    "BUILTIN_TOOL_TOKENS",
    "builtin_tool_tokens",
    "render_response_format",
    "render_tools",
    "schema_to_typescript",
]

#: Approximate prompt cost of OpenAI's server-side tools' built-in instructions: the smallest
#: cost seen in the shared cassettes. Results they fetch (search hits, files) come on top.
BUILTIN_TOOL_TOKENS: dict[str, int] = {
    "apply_patch": 620,
    "code_interpreter": 730,
    "image_generation": 650,
    "web_search": 290,
    "web_search_preview": 290,
}


# Validation keywords shown as comments above a property. On the cassettes, an integer with
# exclusiveMinimum/exclusiveMaximum costs 16 tokens more than a bare one: these two lines.
_CONSTRAINTS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minItems",
    "maxItems",
)


def _default_comment(value: Any) -> str:
    if isinstance(value, str):
        return f'default: "{value}"'
    return f"default: {json.dumps(value)}"


def schema_to_typescript(schema: Any, indent: str = "") -> str:
    """A JSON schema as a TypeScript type (objects multi-line, with ``//`` comments)."""
    if not isinstance(schema, Mapping):
        return "any"
    variants = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(variants, list) and variants:
        return " | ".join(schema_to_typescript(v, indent) for v in variants)
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join("number" if k == "integer" else str(k) for k in kind)
    if kind == "object" or (kind is None and "properties" in schema):
        return _object_to_typescript(schema, indent)
    if kind == "array":
        items = schema.get("items")
        return f"{schema_to_typescript(items, indent)}[]" if items else "Array<any>"
    if kind == "integer":
        return "number"
    if kind in ("string", "number", "boolean", "null"):
        return str(kind)
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return "any"


def _object_to_typescript(schema: Mapping[str, Any], indent: str) -> str:
    props = schema.get("properties")
    if not isinstance(props, Mapping) or not props:
        return "object" if schema.get("additionalProperties") is not False else "{}"
    required = set(schema.get("required") or ())
    lines = ["{"]
    for key, prop in props.items():
        prop = prop if isinstance(prop, Mapping) else {}
        if isinstance(prop.get("title"), str):
            lines.append(f"{indent}// {prop['title']}\n{indent}//")
        if isinstance(prop.get("description"), str):
            lines.extend(f"{indent}// {line}" for line in prop["description"].splitlines())
        lines.extend(
            f"{indent}// {key_}: {json.dumps(prop[key_], ensure_ascii=False)}"
            for key_ in _CONSTRAINTS
            if key_ in prop
        )
        mark = "" if key in required else "?"
        line = f"{indent}{key}{mark}: {schema_to_typescript(prop, indent + '    ')},"
        if "default" in prop:
            line += f" // {_default_comment(prop['default'])}"
        lines.append(line)
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def _function_of(tool: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The function definition of a chat tool (nested) or Responses tool (flat)."""
    function = tool.get("function")
    if isinstance(function, Mapping):
        return function if "name" in function else None
    if tool.get("type", "function") == "function" and "name" in tool:
        return tool
    return None


def render_tools(tools: Sequence[Mapping[str, Any]]) -> tuple[str, list[Mapping[str, Any]]]:
    """The ``# Tools`` section for the function tools, and the tools that are not functions."""
    blocks: list[str] = []
    others: list[Mapping[str, Any]] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            raise TokenCountError(f"tools[{index}] must be a dict, got {type(tool).__name__}")
        function = _function_of(tool)
        if function is None:
            if tool.get("type", "function") == "function":
                raise TokenCountError(
                    f"tools[{index}] is a function tool without a definition; expected "
                    '{"type": "function", "function": {"name": ..., "parameters": {...}}} '
                    '(chat) or {"type": "function", "name": ..., "parameters": {...}} (Responses)'
                )
            others.append(tool)
            continue
        description = str(function.get("description") or "")
        block = [f"// {line.strip()}".rstrip() for line in description.splitlines()]
        params = function.get("parameters")
        props = params.get("properties") if isinstance(params, Mapping) else None
        if props:
            block.append(f"type {function['name']} = (_: {schema_to_typescript(params)}) => any;")
        else:
            block.append(f"type {function['name']} = () => any;")
        blocks.append("\n".join(block) + "\n")
    if not blocks:
        return "", others
    body = "\n".join(blocks)
    text = f"# Tools\n\n## functions\n\nnamespace functions {{\n\n{body}\n}} // namespace functions"
    return text, others


def builtin_tool_tokens(enc: Any, tool: Mapping[str, Any]) -> int:
    """Approximate tokens of a non-function tool (server-side tool, custom tool, MCP)."""
    kind = str(tool.get("type") or "")
    if kind in BUILTIN_TOOL_TOKENS:
        return BUILTIN_TOOL_TOKENS[kind]
    return encode_len(enc, json.dumps(tool, ensure_ascii=False, separators=(",", ":")))


def _without(value: Any, drop: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {k: _without(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_without(v, drop) for v in value]
    return value


_SCHEMA_NOISE = frozenset({"additionalProperties", "strict"})


def render_response_format(response_format: Mapping[str, Any]) -> str | None:
    """Text standing in for a ``json_schema`` response format (None for text/json_object).

    Unlike tools, the schema seems to reach the model as JSON: on the cassettes, a
    property ``title`` costs 4 tokens (``"title":"X",``) and ``additionalProperties``
    nothing. Name, description and the compact JSON schema without ``additionalProperties``
    come within 4 tokens of the reported counts.
    """
    if response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema", response_format)
    if not isinstance(spec, Mapping):
        return None
    parts = [str(spec.get("name") or "")]
    if spec.get("description"):
        parts.append(str(spec["description"]))
    schema = _without(spec.get("schema") or {}, _SCHEMA_NOISE)
    parts.append(json.dumps(schema, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(parts)
