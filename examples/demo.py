"""The tokenomy demo (``./dev demo``): the same as the installed ``tokenomy demo`` command.

A small support assistant, fully offline (a local provider simulator answers on 127.0.0.1):
LangChain and LlamaIndex calls over a bundled handbook, priced, tagged per user and feature,
written to ``.tokenomy/demo.sqlite`` in the current folder and reported. The demo lives in the
packages (``tokenomy/_demo``, ``tokenomy_langchain/_demo.py``, ``tokenomy_llamaindex/_demo.py``)
so that ``pip install tokenomy-langchain tokenomy-llamaindex && tokenomy demo`` works without a
checkout. Then try ``tokenomy report --ledger .tokenomy/demo.sqlite --by user``.
"""

from __future__ import annotations

import os
import sys

from tokenomy.cli import main

if __name__ == "__main__":
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    sys.exit(main(["demo", *sys.argv[1:]]))
