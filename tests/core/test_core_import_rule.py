"""scripts/check_imports.py, the import rule ./dev test runs: integrations import no private
tokenomy name (any ``_`` component, caught without a list of private modules), the core
imports no framework, and the allowlist only shrinks."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_imports.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_imports"] = module
    spec.loader.exec_module(module)
    return module


rule = _load()


def _private(source: str) -> list[str]:
    return [o.target for o in rule.check_integration("x.py", source)]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("from tokenomy._tracking import x", "tokenomy._tracking.x"),
        ("from tokenomy.usage._fast import y", "tokenomy.usage._fast.y"),
        ("from tokenomy.usage import _private", "tokenomy.usage._private"),
        ("from tokenomy import _brand_new_module", "tokenomy._brand_new_module"),
        ("import tokenomy._brand_new.deeper", "tokenomy._brand_new.deeper"),
        ("import tokenomy.ledger._stored as s", "tokenomy.ledger._stored"),
        ("import importlib\nimportlib.import_module('tokenomy._x')", "tokenomy._x"),
        ("import tokenomy\ntokenomy._tracking._active.get()", "tokenomy._tracking._active.get"),
        ("import tokenomy.usage as u\nu._fast", "tokenomy.usage._fast"),
        ("def f():\n    from tokenomy._tracking import _active", "tokenomy._tracking._active"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tokenomy._t import T",
            "tokenomy._t.T",
        ),
    ],
)
def test_private_tokenomy_imports_are_caught(source: str, target: str) -> None:
    """Every way of reaching a private core name is one offence naming the full target."""
    assert _private(source) == [target]


@pytest.mark.parametrize(
    "source",
    [
        "from tokenomy import RunTree, __version__",
        "from tokenomy.tokens import estimate_call",
        "import tokenomy\ntokenomy.track()",
        "from tokenomy_langchain._model_run import OPEN",  # the integration's own privates
        "from . import _spans\nfrom ._usage import _PROVIDER_OF",
        "from tokenomyx._y import z",
    ],
)
def test_public_and_own_private_imports_pass(source: str) -> None:
    """Public core names, dunders and an integration's own private modules are allowed."""
    assert _private(source) == []


@pytest.mark.parametrize(
    "source",
    [
        "import langchain_core.messages",
        "from langchain.chat_models import init_chat_model",
        "from llama_index.core import Settings",
        "import llama_index_instrumentation",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from langchain_core import x",
        "import importlib\nimportlib.import_module('llama_index.core')",
    ],
)
def test_framework_imports_in_the_core_are_caught(source: str) -> None:
    """Any langchain* / llama_index* import in src/tokenomy is an offence."""
    (offence,) = rule.check_core("src/tokenomy/x.py", source)
    assert offence.rule == "framework"


def test_the_repository_passes() -> None:
    """The tree as committed has no offence outside the allowlist, and no stale entry."""
    assert rule.check_repo(ROOT) == []


def test_the_allowlist_names_only_private_tokenomy_targets() -> None:
    """Each allowlist entry is an integration file and a private tokenomy target."""
    for path, target in rule.ALLOWED:
        assert path.startswith("integrations/") and (ROOT / path).is_file()
        assert target.startswith("tokenomy.") and rule._private(target)


def _copy(tmp_path: Path) -> Path:
    for part in ("src/tokenomy", "integrations/langchain/src", "integrations/llamaindex/src"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_a_new_private_import_fails_the_command(tmp_path: Path) -> None:
    """Adding ``from tokenomy._run_tree import _drop_oldest`` to an integration makes the
    script exit 1 naming the file, line and target."""
    root = _copy(tmp_path)
    spans = root / "integrations/llamaindex/src/tokenomy_llamaindex/_spans.py"
    spans.write_text(spans.read_text() + "\nfrom tokenomy._run_tree import _drop_oldest\n")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 1
    assert "tokenomy_llamaindex/_spans.py:" in out.stdout
    assert "private import 'tokenomy._run_tree._drop_oldest'" in out.stdout


def test_a_framework_import_in_the_core_fails_the_command(tmp_path: Path) -> None:
    """Adding a LangChain import to a core module makes the script exit 1."""
    root = _copy(tmp_path)
    module = root / "src/tokenomy/_warn_once.py"
    module.write_text(module.read_text() + "\nimport langchain_core\n")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 1 and "framework import 'langchain_core'" in out.stdout


def test_a_stale_allowlist_entry_fails() -> None:
    """An allowlisted import that is gone is reported, so the list is cleaned as it shrinks."""
    extra = frozenset({*rule.ALLOWED, ("integrations/x.py", "tokenomy._gone.name")})
    (problem,) = rule.check_repo(ROOT, extra)
    assert "tokenomy._gone.name" in problem and "remove it from ALLOWED" in problem
