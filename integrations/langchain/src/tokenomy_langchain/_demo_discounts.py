"""The demo's provider discounts: a nightly ticket digest through OpenAI's batch API (half
price, shown as "Batch API" in the report), and a Claude handbook assistant whose prompt-cache
breakpoints :class:`tokenomy.CachePlacement` places (its saving in the "Prompt cache" lines).
The Claude part needs ``langchain-anthropic`` (in the ``demo`` extra) and is skipped without it."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TICKETS = (
    "Sync stopped on my laptop after the update.",
    "I was charged twice for the Team plan this month.",
    "How do I restore a folder deleted last week?",
    "Shared link asks external users to sign in.",
    "API returns 429 when we upload many small files.",
    "Can I enforce two-factor authentication for everyone?",
    "Storage above the pooled allowance: what does it cost?",
    "Version history only shows 30 days, we need more.",
)

#: the assistant's canned troubleshooting steps (with the handbook, a system prompt over the
#: 1,024-token minimum Claude Sonnet caches)
PLAYBOOK = "\n".join(
    f"Playbook step {i}: when a customer reports problem {i}, confirm the plan, the device and "
    f"the last successful sync, then quote the handbook section that applies."
    for i in range(1, 21)
)

QUESTIONS = (
    ("alice", "How long are deleted files kept?"),
    ("bob", "What does extra storage cost on the Team plan?"),
    ("alice", "Can external users open a shared link without an account?"),
    ("carol", "What is the API rate limit?"),
)


def run_discounts(sim_url: str, docs: Sequence[Path], policy: str) -> None:
    """Both parts (module docstring); records go to the demo's ledger under its track block."""
    import openai
    from langchain_openai import ChatOpenAI

    import tokenomy
    import tokenomy_langchain
    from tokenomy.batch import OpenAIBatchAPI

    client = openai.OpenAI(base_url=sim_url, api_key="sk-demo-offline", max_retries=0)
    with tempfile.TemporaryDirectory() as tmp:
        runner = tokenomy.BatchRunner(
            OpenAIBatchAPI(client), store=Path(tmp) / "batches.sqlite", poll_interval=0.02
        )
        settings: dict[str, Any] = {
            "base_url": sim_url,
            "api_key": "sk-demo-offline",
            "max_tokens": 80,
        }
        digest = ChatOpenAI(model="gpt-4o-mini", **settings)
        with tokenomy.track(user="nightly-job"):
            tokenomy_langchain.batch_invoke(
                digest,
                [f"Summarise this support ticket in one line: {t}" for t in TICKETS],
                runner,
                tags={"feature": "ticket-digest"},
            )
        runner.store.close()

    try:
        from langchain_anthropic import ChatAnthropic
    except ImportError:
        return
    from langchain_core.messages import HumanMessage, SystemMessage

    claude_settings: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "base_url": sim_url.removesuffix("/v1"),
        "api_key": "sk-demo-offline",
        "max_tokens": 200,
        "max_retries": 0,
    }
    handbook = "\n\n".join([policy, *(d.read_text() for d in docs), PLAYBOOK])
    claude = tokenomy_langchain.TokenomyChatModel(
        ChatAnthropic(**claude_settings),
        policies=[tokenomy.CachePlacement()],
    )
    for user, question in QUESTIONS:
        with tokenomy_langchain.track(user=user, feature="handbook-claude"):
            claude.invoke([SystemMessage(handbook), HumanMessage(question)])
