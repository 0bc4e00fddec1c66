"""``import tokenomy_llamaindex`` is lazy: each public name loads its own module on first use."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", "import sys\n" + code], check=True)


def test_import_loads_no_framework() -> None:
    """The bare import loads no llama_index module and no tokenomy_llamaindex submodule;
    the names are still listed by ``dir()``."""
    _run(
        "import tokenomy_llamaindex\n"
        "loaded = [m for m in sys.modules if m.startswith('llama_index')]\n"
        "assert loaded == [], loaded\n"
        "assert [m for m in sys.modules if m.startswith('tokenomy_llamaindex.')] == []\n"
        "assert 'TokenomyLLM' in dir(tokenomy_llamaindex)\n"
    )


def test_a_name_loads_its_module_once() -> None:
    """``track`` loads ``_attach`` (and llama_index.core) but not the wrapper module; the
    value is cached, so a second access is the same object."""
    _run(
        "import tokenomy_llamaindex as tli\n"
        "track = tli.track\n"
        "assert 'tokenomy_llamaindex._attach' in sys.modules\n"
        "assert 'llama_index.core' in sys.modules\n"
        "assert 'tokenomy_llamaindex._wrapper' not in sys.modules\n"
        "assert tli.track is track and 'track' in vars(tli)\n"
        "try:\n"
        "    tli.nope\n"
        "except AttributeError as e:\n"
        "    assert 'nope' in str(e)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
