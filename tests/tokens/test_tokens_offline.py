"""Counting never touches the network, never imports litellm and writes no cache files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

_SCRIPT = textwrap.dedent(
    """
    import json, socket, sys

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from tokenomy.tokens import count_text, estimate_request, get_encoding
    counts = {
        name: len(get_encoding(name).encode("hello world"))
        for name in ("o200k_base", "cl100k_base")
    }
    counts["gpt-4"] = count_text("hello world", "gpt-4")
    counts["chat"] = estimate_request(
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    ).prompt_tokens
    counts["anthropic"] = estimate_request(
        {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    ).prompt_tokens
    loaded = sorted({m.split(".")[0] for m in sys.modules} & {"litellm", "requests", "blobfile"})
    print(json.dumps({"counts": counts, "loaded": loaded}))
    """
)


def test_counting_is_offline_and_side_effect_free(tmp_path: Path) -> None:
    """With sockets patched to raise, both encodings load and count; no litellm/requests import,
    no tiktoken cache written into the temp dir."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")
    }
    env["TMPDIR"] = str(tmp_path)
    env.pop("TOKENOMY_TIKTOKEN_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert (
        doc["counts"]["o200k_base"] == doc["counts"]["cl100k_base"] == doc["counts"]["gpt-4"] == 2
    )
    assert doc["counts"]["chat"] > 0
    assert doc["counts"]["anthropic"] > 0
    assert doc["loaded"] == []
    assert list(tmp_path.iterdir()) == []


def test_importing_tokens_loads_no_tokenizer() -> None:
    """import tokenomy.tokens stays cheap: tiktoken is imported only when an encoding is needed."""
    code = "import json, sys, tokenomy.tokens; print(json.dumps('tiktoken' in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) is False
