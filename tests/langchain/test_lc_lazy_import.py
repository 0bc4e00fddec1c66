"""``import tokenomy_langchain`` is lazy: each public name loads its own module on first use."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", "import sys\n" + code], check=True)


def test_import_loads_no_framework() -> None:
    """The bare import loads neither langchain_core, langsmith nor any tokenomy_langchain
    submodule; the names are still listed by ``dir()``."""
    _run(
        "import tokenomy_langchain\n"
        "loaded = [m for m in sys.modules if m.startswith(('langchain', 'langsmith'))]\n"
        "assert loaded == [], loaded\n"
        "assert [m for m in sys.modules if m.startswith('tokenomy_langchain.')] == []\n"
        "assert 'track' in dir(tokenomy_langchain)\n"
    )


def test_the_handler_does_not_load_the_tracer_context() -> None:
    """TokenomyCallbackHandler loads langchain_core's callbacks but neither
    ``langchain_core.tracers.context`` (langsmith's client) nor LLMResult's module (a type
    annotation only); ``track`` then loads the tracer context."""
    _run(
        "from tokenomy_langchain import TokenomyCallbackHandler\n"
        "assert 'langchain_core.callbacks' in sys.modules\n"
        "assert 'langchain_core.tracers.context' not in sys.modules\n"
        "assert 'langsmith.client' not in sys.modules\n"
        "assert 'langchain_core.outputs.llm_result' not in sys.modules\n"
        "assert 'tokenomy_langchain._track' not in sys.modules\n"
        "import tokenomy_langchain\n"
        "with tokenomy_langchain.track(feature='f') as t:\n"
        "    assert tokenomy_langchain.current_handler() is not None\n"
        "assert 'langchain_core.tracers.context' in sys.modules\n"
    )


def test_an_unknown_name_is_an_attribute_error() -> None:
    """A name the package does not have raises AttributeError naming it."""
    _run(
        "import tokenomy_langchain\n"
        "try:\n"
        "    tokenomy_langchain.nope\n"
        "except AttributeError as e:\n"
        "    assert 'nope' in str(e)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
