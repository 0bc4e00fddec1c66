"""Offline tiktoken encodings: BPE files come from a local directory, never the internet.

``tiktoken.get_encoding`` downloads its BPE files on first use. tokenomy never lets it: the
files are read from ``TOKENOMY_TIKTOKEN_DIR`` (``cl100k_base.tiktoken``, ``o200k_base.tiktoken``)
when that is set, else from the copies the ``litellm`` package ships (named by the sha1 of
their download URL, tiktoken's own cache layout). Each file is checked against the sha256
tiktoken pins, parsed exactly as ``tiktoken.load.load_tiktoken_bpe`` does (without its
side effect of copying the file into a temp-dir cache), and the ``Encoding`` is built with the
regex and special tokens of ``tiktoken_ext/openai_public.py``. Loaded encodings are cached.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tokenomy.exceptions import TokenCountError

if TYPE_CHECKING:
    import tiktoken

__all__ = [
    "ENCODING_NAMES",
    "count_text",
    "encoding_for_model",
    "encoding_name_for_model",
    "get_encoding",
]

#: Environment variable naming a directory holding ``<name>.tiktoken`` files.
TIKTOKEN_DIR_ENV = "TOKENOMY_TIKTOKEN_DIR"

_ENDOFTEXT = "<|endoftext|>"
_FIM_PREFIX = "<|fim_prefix|>"
_FIM_MIDDLE = "<|fim_middle|>"
_FIM_SUFFIX = "<|fim_suffix|>"
_ENDOFPROMPT = "<|endofprompt|>"

# Copied verbatim from tiktoken_ext/openai_public.py (tiktoken 0.14), where they are local to
# the constructor functions; tests/tokens/test_tokens_encoding.py pins the equality.
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|"""
    r"""\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    url: str
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]

    @property
    def cache_key(self) -> str:
        """tiktoken's cache file name: the sha1 of the download URL."""
        return hashlib.sha1(self.url.encode()).hexdigest()


_SPECS: dict[str, _Spec] = {
    "cl100k_base": _Spec(
        name="cl100k_base",
        url="https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pat_str=_CL100K_PAT,
        special_tokens={
            _ENDOFTEXT: 100257,
            _FIM_PREFIX: 100258,
            _FIM_MIDDLE: 100259,
            _FIM_SUFFIX: 100260,
            _ENDOFPROMPT: 100276,
        },
    ),
    "o200k_base": _Spec(
        name="o200k_base",
        url="https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str=_O200K_PAT,
        special_tokens={_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    ),
}

#: The encodings tokenomy can load offline.
ENCODING_NAMES: tuple[str, ...] = tuple(sorted(_SPECS))

_LOCK = threading.Lock()
_CACHE: dict[str, tiktoken.Encoding] = {}


def get_encoding(name: str) -> tiktoken.Encoding:
    """The ``tiktoken.Encoding`` called ``name`` (``"o200k_base"`` or ``"cl100k_base"``).

    Built offline from local BPE files on first use, then cached (thread-safe). Raises
    :class:`~tokenomy.exceptions.TokenCountError` when the name is unknown or no local BPE file
    is found.
    """
    enc = _CACHE.get(name)
    if enc is not None:
        return enc
    spec = _SPECS.get(name)
    if spec is None:
        raise TokenCountError(
            f"Unknown encoding {name!r}: tokenomy loads {list(ENCODING_NAMES)} offline. "
            f"Pick one of those, or use encoding_for_model(model)."
        )
    with _LOCK:
        enc = _CACHE.get(name)
        if enc is None:
            enc = _build(spec)
            _CACHE[name] = enc
    return enc


def _build(spec: _Spec) -> tiktoken.Encoding:
    import tiktoken

    path = _locate(spec)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise TokenCountError(
            f"{path} is not the {spec.name} BPE file: its sha256 is {digest}, expected "
            f"{spec.sha256}. Replace it with {spec.url} (saved as {spec.name}.tiktoken in "
            f"${TIKTOKEN_DIR_ENV}) or reinstall litellm."
        )
    return tiktoken.Encoding(
        name=spec.name,
        pat_str=spec.pat_str,
        mergeable_ranks=_parse_bpe(data, path),
        special_tokens=dict(spec.special_tokens),
    )


def _parse_bpe(data: bytes, path: Path) -> dict[bytes, int]:
    """Parse a ``.tiktoken`` file exactly as ``tiktoken.load.load_tiktoken_bpe`` does."""
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
        except ValueError as exc:
            raise TokenCountError(f"Malformed line {line[:80]!r} in BPE file {path}") from exc
    return ranks


def _candidate_paths(spec: _Spec) -> list[Path]:
    paths: list[Path] = []
    custom = os.environ.get(TIKTOKEN_DIR_ENV)
    if custom:
        directory = Path(custom)
        paths += [directory / f"{spec.name}.tiktoken", directory / spec.cache_key]
    litellm_dir = _litellm_tokenizers_dir()
    if litellm_dir is not None:
        paths.append(litellm_dir / spec.cache_key)
    return paths


def _litellm_tokenizers_dir() -> Path | None:
    """litellm's bundled tokenizer directory, found without importing (executing) litellm."""
    try:
        found = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"


def _locate(spec: _Spec) -> Path:
    tried = _candidate_paths(spec)
    for path in tried:
        if path.is_file():
            return path
    raise TokenCountError(
        f"No local BPE file for the {spec.name} encoding (tried {[str(p) for p in tried]}); "
        f"tokenomy never downloads one. Install litellm (it ships the files), or set "
        f"{TIKTOKEN_DIR_ENV} to a directory holding {spec.name}.tiktoken (from {spec.url})."
    )


# Longest prefix wins; checked against the lower-cased model name without a provider prefix.
_O200K_PREFIXES = (
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.5",
    "gpt-5",
    "gpt-6",
    "chatgpt-4o",
    "o1",
    "o3",
    "o4",
    "gpt-oss",
    "codex",
    "computer-use",
)
_CL100K_PREFIXES = (
    "gpt-4",
    "gpt-3.5",
    "gpt-35",
    "text-embedding-",
    "davinci-002",
    "babbage-002",
)


def encoding_name_for_model(model: str) -> str:
    """Name of the encoding ``model`` uses; unknown models (and non-OpenAI ones) get o200k_base."""
    name = model.strip().lower()
    if "/" in name:  # "openai/gpt-4o", "azure/gpt-35-turbo"
        name = name.rsplit("/", 1)[1]
    if name.startswith("ft:"):  # fine-tunes: "ft:gpt-4o-mini-2024-07-18:org::id"
        name = name[3:]
    best, best_len = "o200k_base", -1
    for prefixes, enc in ((_O200K_PREFIXES, "o200k_base"), (_CL100K_PREFIXES, "cl100k_base")):
        for prefix in prefixes:
            if name.startswith(prefix) and len(prefix) > best_len:
                best, best_len = enc, len(prefix)
    return best


def encoding_for_model(model: str) -> tiktoken.Encoding:
    """The ``tiktoken.Encoding`` of ``model`` (offline; unknown models get o200k_base)."""
    return get_encoding(encoding_name_for_model(model))


def count_text(text: str, model: str = "gpt-4o") -> int:
    """Tokens of ``text`` in ``model``'s encoding; special-token strings count as plain text."""
    return len(encoding_for_model(model).encode(text, disallowed_special=()))
