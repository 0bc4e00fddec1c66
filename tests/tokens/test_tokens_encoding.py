"""Offline encodings: built from local BPE files, identical to tiktoken's, cached, typed errors."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import threading
from pathlib import Path

import pytest

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens import (
    ENCODING_NAMES,
    _encoding,
    count_text,
    encoding_for_model,
    encoding_name_for_model,
    get_encoding,
)


def _openai_public_constructors() -> dict[str, dict[str, object]]:
    """pat_str, special tokens, URL and sha256 of each encoding, read from tiktoken's source."""
    spec = importlib.util.find_spec("tiktoken_ext.openai_public")
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text())
    constants = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    out: dict[str, dict[str, object]] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name not in ENCODING_NAMES:
            continue
        scope = dict(constants)
        info: dict[str, object] = {}
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                scope[stmt.targets[0].id] = stmt.value
                call = stmt.value
                if (
                    isinstance(call, ast.Call)
                    and getattr(call.func, "id", "") == "load_tiktoken_bpe"
                ):
                    info["url"] = ast.literal_eval(call.args[0])
                    info["sha256"] = ast.literal_eval(call.keywords[0].value)
        names = {
            k: ast.literal_eval(v) for k, v in constants.items() if isinstance(v, ast.Constant)
        }

        def value(expr: ast.expr) -> object:
            if isinstance(expr, ast.Name):
                return value(scope[expr.id]) if expr.id in scope else names[expr.id]
            if isinstance(expr, ast.Dict):
                return {value(k): value(v) for k, v in zip(expr.keys, expr.values, strict=True)}  # type: ignore[arg-type]
            if isinstance(expr, ast.Call):  # "|".join([...])
                return ast.literal_eval(expr.func.value).join(ast.literal_eval(expr.args[0]))  # type: ignore[attr-defined]
            return ast.literal_eval(expr)

        ret = next(s for s in node.body if isinstance(s, ast.Return))
        assert isinstance(ret.value, ast.Dict)
        for key, val in zip(ret.value.keys, ret.value.values, strict=True):
            assert key is not None
            info[ast.literal_eval(key)] = (
                value(val) if ast.literal_eval(key) != "mergeable_ranks" else None
            )
        out[node.name] = info
    return out


@pytest.mark.parametrize("name", ENCODING_NAMES)
def test_encoding_matches_tiktoken_openai_public(name: str) -> None:
    """Regex, special tokens, URL and pinned hash equal tiktoken_ext/openai_public.py's."""
    reference = _openai_public_constructors()[name]
    enc = get_encoding(name)
    assert enc.name == name
    assert enc._pat_str == reference["pat_str"]
    assert enc._special_tokens == reference["special_tokens"]
    spec = _encoding._SPECS[name]
    assert (spec.url, spec.sha256) == (reference["url"], reference["sha256"])


@pytest.mark.parametrize("name", ENCODING_NAMES)
def test_local_bpe_file_is_the_pinned_one(name: str) -> None:
    """The file found locally hashes to tiktoken's pinned sha256 and is named by the URL's sha1."""
    spec = _encoding._SPECS[name]
    path = _encoding._locate(spec)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec.sha256
    assert path.name in (hashlib.sha1(spec.url.encode()).hexdigest(), f"{name}.tiktoken")


@pytest.mark.parametrize(
    ("text", "o200k", "cl100k"),
    [
        ("hello world", 2, 2),
        ("", 0, 0),
        # both split digit runs into groups of at most 3
        ("1234567", 3, 3),
    ],
)
def test_known_counts(text: str, o200k: int, cl100k: int) -> None:
    """Counts of reference strings in both encodings (as published for tiktoken)."""
    assert len(get_encoding("o200k_base").encode(text)) == o200k
    assert len(get_encoding("cl100k_base").encode(text)) == cl100k


def test_round_trip_and_vocab_size() -> None:
    """Both encodings decode what they encode and have tiktoken's vocabulary sizes."""
    text = "Grüße, 世界! def f(x): return x**2  \n\n\t<tag> 🙂"
    for name, n_vocab in (("cl100k_base", 100277), ("o200k_base", 200019)):
        enc = get_encoding(name)
        assert enc.decode(enc.encode(text)) == text
        assert enc.n_vocab == n_vocab


def test_encodings_differ_where_they_should() -> None:
    """o200k and cl100k are really different vocabularies (non-English text splits differently)."""
    text = "これは日本語の文章です。トークン数を数えます。"
    assert len(get_encoding("o200k_base").encode(text)) < len(
        get_encoding("cl100k_base").encode(text)
    )


def test_special_token_text_counts_as_plain_text() -> None:
    """User text containing '<|endoftext|>' is counted, never rejected or read as one token."""
    assert count_text("<|endoftext|>") > 1


def test_encodings_are_cached() -> None:
    """The same Encoding object is returned on every call."""
    assert get_encoding("o200k_base") is get_encoding("o200k_base")
    assert encoding_for_model("gpt-4") is get_encoding("cl100k_base")


def test_concurrent_first_load_builds_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads racing on an empty cache all get one Encoding, built exactly once."""
    monkeypatch.setattr(_encoding, "_CACHE", {})
    built: list[str] = []
    real_build = _encoding._build

    def counting_build(spec: _encoding._Spec) -> object:
        built.append(spec.name)
        return real_build(spec)

    monkeypatch.setattr(_encoding, "_build", counting_build)
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(get_encoding("cl100k_base")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["cl100k_base"]
    assert len(results) == 8
    assert all(r is results[0] for r in results)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5.5", "o200k_base"),
        ("gpt-6-astra", "o200k_base"),
        ("o1-mini", "o200k_base"),
        ("o3", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("ft:gpt-4o-mini-2024-07-18:org::abc", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("azure/gpt-35-turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("ft:gpt-3.5-turbo:org::abc", "cl100k_base"),
        ("claude-sonnet-4-5", "o200k_base"),
        ("some-unknown-model", "o200k_base"),
    ],
)
def test_encoding_for_model(model: str, expected: str) -> None:
    """Model families map to their encoding; gpt-4o beats the shorter gpt-4 prefix; unknown → o200k."""
    assert encoding_name_for_model(model) == expected
    assert encoding_for_model(model).name == expected


def test_count_text_uses_the_models_encoding() -> None:
    """count_text counts in the model's encoding (default gpt-4o = o200k)."""
    text = "これは日本語の文章です。"
    assert count_text(text) == len(get_encoding("o200k_base").encode(text))
    assert count_text(text, "gpt-4") == len(get_encoding("cl100k_base").encode(text))


def test_unknown_encoding_name_is_a_typed_error() -> None:
    """Asking for an encoding tokenomy cannot load offline names the ones it can."""
    with pytest.raises(TokenCountError, match="cl100k_base"):
        get_encoding("p50k_base")


def test_missing_files_explain_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without litellm's files and with an empty TOKENOMY_TIKTOKEN_DIR the error says what to do."""
    monkeypatch.setattr(_encoding, "_CACHE", {})
    monkeypatch.setattr(_encoding, "_litellm_tokenizers_dir", lambda: None)
    monkeypatch.setenv("TOKENOMY_TIKTOKEN_DIR", str(tmp_path))
    with pytest.raises(TokenCountError) as info:
        get_encoding("o200k_base")
    message = str(info.value)
    assert "install litellm" in message.lower()
    assert "TOKENOMY_TIKTOKEN_DIR" in message
    assert "o200k_base.tiktoken" in message
    assert str(tmp_path) in message


def test_tiktoken_dir_is_used_and_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A <name>.tiktoken in TOKENOMY_TIKTOKEN_DIR is loaded; a corrupt one is refused by hash."""
    source = _encoding._locate(_encoding._SPECS["cl100k_base"])
    monkeypatch.setattr(_encoding, "_CACHE", {})
    monkeypatch.setattr(_encoding, "_litellm_tokenizers_dir", lambda: None)
    monkeypatch.setenv("TOKENOMY_TIKTOKEN_DIR", str(tmp_path))
    (tmp_path / "cl100k_base.tiktoken").write_bytes(source.read_bytes())
    assert len(get_encoding("cl100k_base").encode("hello world")) == 2

    monkeypatch.setattr(_encoding, "_CACHE", {})
    (tmp_path / "cl100k_base.tiktoken").write_bytes(source.read_bytes()[:-10])
    with pytest.raises(TokenCountError, match="sha256"):
        get_encoding("cl100k_base")
