"""The import rule ``./dev test`` enforces (exit status 1 and one line per offence).

1. The integrations (``integrations/*/src``) use only the core's public names: no import of
   a ``tokenomy`` module path or name with a component starting with ``_`` (dunders such as
   ``__version__`` are public), whether by ``import``/``from ... import``, by
   ``importlib.import_module("tokenomy._x")``, or by an attribute of an imported tokenomy
   module (``tokenomy._tracking``). No list of private modules is kept: any new one is caught.
2. The core (``src/tokenomy``) never imports a framework: no ``langchain*`` or
   ``llama_index*`` module, even under ``TYPE_CHECKING``.

Usage: ``python scripts/check_imports.py [repository root]``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ALLOWED", "Offence", "check_core", "check_integration", "check_repo", "main"]

#: Private imports still allowed, as ``(path from the repository root, dotted target)``.
#: Every entry must still match an import (a stale entry is an offence too), so the list
#: only ever shrinks. Empty: the integrations use public core names only.
ALLOWED: frozenset[tuple[str, str]] = frozenset()

CORE = "tokenomy"
FRAMEWORKS = ("langchain", "llama_index")


@dataclass(frozen=True, slots=True)
class Offence:
    """One import that breaks the rule."""

    path: str
    line: int
    col: int
    target: str  # the dotted module path or module.name imported
    rule: str  # "private" or "framework"

    def __str__(self) -> str:
        if self.rule == "private":
            why = "an integration imports a private tokenomy name; use a public one"
        else:
            why = "the core imports a framework; keep it in the integrations"
        return f"{self.path}:{self.line}:{self.col}: {self.rule} import {self.target!r}: {why}"


def _private(dotted: str) -> bool:
    return any(
        p.startswith("_") and not (p.startswith("__") and p.endswith("__"))
        for p in dotted.split(".")
    )


def _in_core(module: str) -> bool:
    return module == CORE or module.startswith(CORE + ".")


def _is_framework(module: str) -> bool:
    return module.split(".")[0].startswith(FRAMEWORKS)


def _imports(tree: ast.AST) -> Iterator[tuple[ast.AST, str, bool]]:
    """``(node, dotted target, is a module)`` of every absolute import in ``tree``: modules
    of ``import``, ``module.name`` of ``from``, string arguments of ``import_module``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, True
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module, True
            for alias in node.names:
                yield node, f"{node.module}.{alias.name}", False
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node, arg.value, True


def _is_import_module(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in ("import_module", "__import__")


def _module_attributes(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """``tokenomy._x`` style attribute chains on names bound by ``import tokenomy...``."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _in_core(alias.name):
                    local = alias.asname or alias.name.split(".")[0]
                    bound[local] = alias.name if alias.asname else CORE
    if not bound:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts: list[str] = []
            base: ast.expr = node
            while isinstance(base, ast.Attribute):
                parts.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound:
                yield node, ".".join([bound[base.id], *reversed(parts)])


def check_integration(path: str, source: str) -> list[Offence]:
    """Private tokenomy imports in one integration module (``path`` only labels them)."""
    tree = ast.parse(source, filename=path)
    found: dict[tuple[int, int, str], Offence] = {}
    targets = [(n, t) for n, t, _ in _imports(tree) if _in_core(t)]
    targets += list(_module_attributes(tree))
    for node, target in targets:
        if _private(target):
            line, col = _line(node), _col(node)
            found.setdefault((line, col, target), Offence(path, line, col, target, "private"))
    return _outermost(found.values())


def _line(node: ast.AST) -> int:
    return int(getattr(node, "lineno", 0))


def _col(node: ast.AST) -> int:
    return int(getattr(node, "col_offset", 0)) + 1


def _outermost(offences: Iterable[Offence]) -> list[Offence]:
    """Drop an offence whose target is the module part of another on the same line
    (``from tokenomy._x import y`` is one offence, ``tokenomy._x.y``)."""
    items = sorted(offences, key=lambda o: (o.line, o.col, o.target))
    return [
        o
        for o in items
        if not any(
            p is not o and p.line == o.line and p.target.startswith(o.target + ".") for p in items
        )
    ]


def check_core(path: str, source: str) -> list[Offence]:
    """Framework imports in one core module."""
    tree = ast.parse(source, filename=path)
    return sorted(
        {
            Offence(path, _line(node), _col(node), target, "framework")
            for node, target, is_module in _imports(tree)
            if is_module and _is_framework(target)
        },
        key=lambda o: (o.line, o.col, o.target),
    )


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if "/." not in p.as_posix())


def check_repo(root: Path, allowed: frozenset[tuple[str, str]] = ALLOWED) -> list[str]:
    """Every offence under ``root``, and every ``allowed`` entry that matches nothing."""
    problems: list[str] = []
    used: set[tuple[str, str]] = set()
    for file in _files(root, "integrations/*/src/**/*.py"):
        rel = file.relative_to(root).as_posix()
        for offence in check_integration(rel, file.read_text(encoding="utf-8")):
            key = (rel, offence.target)
            if key in allowed:
                used.add(key)
            else:
                problems.append(str(offence))
    for file in _files(root, "src/tokenomy/**/*.py"):
        rel = file.relative_to(root).as_posix()
        problems += [str(o) for o in check_core(rel, file.read_text(encoding="utf-8"))]
    for path, target in sorted(allowed - used):
        problems.append(
            f"{path}: allowlisted import {target!r} is gone: remove it from ALLOWED in "
            "scripts/check_imports.py"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the repository (default: the one this script is in); 1 when anything is wrong."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    problems = check_repo(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"import rule: {len(problems)} problem(s) (scripts/check_imports.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
