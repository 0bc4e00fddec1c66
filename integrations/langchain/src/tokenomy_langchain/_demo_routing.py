"""The demo's routing part: a mixed ticket-triage workload through a cascade (gpt-4.1-nano
first, gpt-4.1 when the quality gate rejects the answer), with the escalation rate and the
savings against sending everything to gpt-4.1 printed (called by the LangChain half of
``tokenomy demo``, ``_demo.py``). It starts a simulator of its own, whose answers depend on the
model asked; the calls are recorded in the demo's ledger (the process default)."""

from __future__ import annotations

from typing import Any

TICKETS = [
    "I can't log in after resetting my password.",
    "Please add dark mode to the web app.",
    "How do I export my invoices as CSV?",
    "The desktop client crashes on start since today's update.",
    "Our SSO users get a 403 only when they open shared folders from another tenant, "
    "but only on Mondays after the key rotation job.",
    "Where can I change my billing address?",
    "Sync is slow on our NAS.",
    "Legal hold: do retention policies override a user's own deletion when the workspace "
    "was migrated from the legacy plan mid-cycle?",
    "How do I invite a new team member?",
    "Two-factor codes from the app are always rejected.",
]
HARD = ("tenant", "legal hold", "mid-cycle")
INSTRUCTION = (
    'Classify the support ticket. Reply with JSON only: {"category": "account" | "billing" | '
    '"bug" | "feature" | "how-to" | "compliance", "urgent": true | false}.'
)


def _category(text: str) -> str:
    low = text.lower()
    for words, category in (
        (("legal", "retention"), "compliance"),
        (("invoice", "billing"), "billing"),
        (("crash", "slow", "403", "rejected"), "bug"),
        (("password", "log in", "two-factor"), "account"),
        (("add ", "dark mode"), "feature"),
    ):
        if any(w in low for w in words):
            return category
    return "how-to"


def _cheap(request: Any) -> str:
    """gpt-4.1-nano: fine on plain tickets, unsure (it answers UNCERTAIN) on the hard ones."""
    text = request.last_user_text or ""
    if any(h in text.lower() for h in HARD):
        return "UNCERTAIN"
    return f'{{"category": "{_category(text)}", "urgent": {str("crash" in text).lower()}}}'


def _strong(request: Any) -> str:
    text = request.last_user_text or ""
    urgent = "crash" in text or "403" in text or "legal" in text.lower()
    return f'{{"category": "{_category(text)}", "urgent": {str(urgent).lower()}}}'


def run_routing_demo() -> None:
    """Triage ten tickets with a :class:`tokenomy_langchain.CascadeChatModel` (gate: the
    answer is a valid ``Label`` JSON and not ``UNCERTAIN``), every attempt recorded with
    ``feature=ticket-routing`` in the demo's ledger; then the same tickets on gpt-4.1 alone
    (into a separate ledger: the baseline). Prints the escalation rate, cost per tier and the saving."""
    from tokenomy.testing import ProviderSimulator

    with ProviderSimulator() as sim:
        _triage(sim)


def _triage(sim: Any) -> None:
    from langchain_openai import ChatOpenAI
    from pydantic import BaseModel

    import tokenomy
    import tokenomy_langchain
    from tokenomy.routing import StructuredOutput, Uncertain, routing_summary
    from tokenomy_langchain import CascadeChatModel

    class Label(BaseModel):
        category: str
        urgent: bool

    sim.set_answer(_cheap, model="gpt-4.1-nano")
    sim.set_answer(_strong, model="gpt-4.1")
    common = {"base_url": sim.openai_base_url, "api_key": "sk-demo-offline"}
    cheap, strong = ChatOpenAI(model="gpt-4.1-nano", **common), ChatOpenAI(model="gpt-4.1", **common)
    routed = CascadeChatModel([cheap, strong], StructuredOutput(Label) & Uncertain())
    with tokenomy_langchain.track(user="triage-bot", feature="ticket-routing") as tracker:
        for ticket in TICKETS:
            routed.invoke([("system", INSTRUCTION), ("human", ticket)])
    baseline = tokenomy.MemoryLedger()
    alone = tokenomy_langchain.TokenomyChatModel(strong, ledger=baseline)
    for ticket in TICKETS:
        alone.invoke([("system", INSTRUCTION), ("human", ticket)])

    summary = routing_summary(tracker.records)
    strong_cost = baseline.totals().cost
    per_tier = ", ".join(f"{m} ${c:.6f}" for m, c in summary.cost_per_tier.items())
    print(
        f"ticket-routing: {summary.calls} tickets, {summary.attempts} model calls, "
        f"escalation rate {summary.escalation_rate:.0%}; cost ${summary.cost:.6f} ({per_tier}) "
        f"against ${strong_cost:.6f} on gpt-4.1 alone: "
        f"{1 - summary.cost / strong_cost:.0%} saved"
    )
