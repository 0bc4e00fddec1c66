"""Tool and schema rendering: the TypeScript layout OpenAI's harmony format documents."""

from __future__ import annotations

import pytest

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._schema import render_response_format, render_tools, schema_to_typescript


def test_object_schema_becomes_a_commented_typescript_type() -> None:
    """Titles and descriptions become comments, optional keys get '?', defaults trail."""
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "title": "City", "description": "Where"},
            "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
            "days": {"type": "array", "items": {"type": "integer"}},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["city", "days"],
    }
    assert schema_to_typescript(schema) == "\n".join(
        [
            "{",
            "// City",
            "//",
            "// Where",
            "city: string,",
            'unit?: "c" | "f", // default: "c"',
            "days: number[],",
            "note?: string | null,",
            "}",
        ]
    )


def test_tools_section_lists_functions_and_returns_the_rest() -> None:
    """Function tools (chat or Responses shape) are rendered; other tools are handed back."""
    chat_tool = {
        "type": "function",
        "function": {"name": "ping", "description": "Ping it.\n  Twice."},
    }
    flat_tool = {
        "type": "function",
        "name": "add",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}},
            "required": ["a"],
        },
    }
    search = {"type": "web_search_preview"}
    text, others = render_tools([chat_tool, flat_tool, search])
    assert others == [search]
    assert text.startswith("# Tools\n\n## functions\n\nnamespace functions {\n\n")
    assert "// Ping it.\n// Twice.\ntype ping = () => any;" in text
    assert "type add = (_: {\na: number,\n}) => any;" in text
    assert text.endswith("} // namespace functions")


def test_function_tool_without_definition_is_an_error() -> None:
    """A 'function' tool with no name/definition raises TokenCountError saying the shape."""
    with pytest.raises(TokenCountError, match="parameters"):
        render_tools([{"type": "function"}])


def test_response_format_renders_only_json_schema() -> None:
    """json_schema formats render name, description and schema without additionalProperties."""
    fmt = {
        "type": "json_schema",
        "json_schema": {
            "name": "A",
            "description": "An answer.",
            "strict": True,
            "schema": {"type": "object", "additionalProperties": False},
        },
    }
    assert render_response_format(fmt) == 'A\nAn answer.\n{"type":"object"}'
    assert render_response_format({"type": "json_object"}) is None
    assert render_response_format({"type": "text"}) is None
