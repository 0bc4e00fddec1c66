"""Where the shared development data lives, and how tests that need it skip.

``from shared_data import shared_file`` (tests/ is on sys.path): a module of its own, because
``conftest`` is an ambiguous module name once sub-directories have conftest files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("TOKENOMY_SHARED_DATA", ROOT.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def shared_file(relative: str) -> Path:
    """Path of a file under ../shared/data; skips (or fails under CI=true) when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        reason = (
            f"{path} is absent: this test reads the project's shared development data "
            f"(../shared/data beside the checkout, or TOKENOMY_SHARED_DATA)"
        )
        if IN_CI:
            pytest.fail(reason + " and CI=true, where it must be present", pytrace=False)
        pytest.skip(reason)
    return path


def response_events(body: Any) -> Iterator[dict[str, Any]]:
    """The JSON body, or every JSON ``data:`` event of an SSE stream."""
    if isinstance(body, dict):
        yield body
        return
    try:
        yield json.loads(body)
        return
    except (TypeError, ValueError):
        pass
    for line in str(body).splitlines():
        if line.startswith("data:"):
            try:
                event = json.loads(line[5:])
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event


def reported_prompt_tokens(api: str, body: Any) -> int | None:
    """Prompt tokens the provider reported for a recorded response (``api``: chat.completions,
    responses or messages; the last usage seen; Anthropic: its message_start, with cache reads
    and writes included)."""
    found = None
    for event in response_events(body):
        if api == "chat.completions":
            usage = event.get("usage") or {}
            found = usage.get("prompt_tokens", found)
        elif api == "responses":
            response = event.get("response", event)
            usage = (response.get("usage") if isinstance(response, dict) else None) or {}
            found = usage.get("input_tokens", found)
        else:
            message = event.get("message", event)
            usage = (message.get("usage") if isinstance(message, dict) else None) or {}
            if found is None and usage.get("input_tokens") is not None:
                found = (
                    usage["input_tokens"]
                    + (usage.get("cache_creation_input_tokens") or 0)
                    + (usage.get("cache_read_input_tokens") or 0)
                )
    return found
