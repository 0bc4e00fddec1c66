"""The demo's budgets part: a per-user daily budget refusing a call, and a feature's budget
downgrading its model once half of it is used (``examples/demo.py`` calls :func:`run_budgets`).

Both budgets are ``tokenomy.Budget`` policies on LangChain's ``TokenomyChatModel`` around the
real ``ChatOpenAI`` client; their counters live in one in-memory budget store (use
``sqlite:///budgets.db`` or ``redis://...`` to share them between processes). The refusal is
raised before any request is sent; the downgraded calls are in the ledger on the cheaper model,
tagged ``budget_downgraded_from``.
"""

from __future__ import annotations


def run_budgets(sim_url: str) -> None:
    """Run both budget scenarios against the simulator at ``sim_url`` and print what they did."""
    from langchain_openai import ChatOpenAI
    from rich.console import Console

    import tokenomy
    import tokenomy_langchain
    from tokenomy_langchain import TokenomyChatModel

    console = Console(width=150)
    common = {"base_url": sim_url, "api_key": "sk-demo-offline"}
    store = tokenomy.MemoryBudgetStore()
    per_user = tokenomy.Budget(
        limit_usd="0.0002", window="day", scope="user", store=store, name="chat-per-user-daily"
    )
    chat = TokenomyChatModel(ChatOpenAI(model="gpt-4o-mini", **common), policies=[per_user])
    questions = [
        "How long are deleted files kept on the Team plan?",
        "Can I require a password on shared links?",
        "What are the API rate limits?",
        "Which plans include single sign-on?",
    ] * 5
    answered = 0
    with tokenomy_langchain.track(user="mallory", feature="support-chat"):
        for question in questions:
            try:
                chat.invoke(question, max_tokens=150)
                answered += 1
            except tokenomy.BudgetExceededError as refused:
                console.print(
                    f"\n[bold]Budgets[/bold]\n[red]refused[/red] mallory's call {answered + 1} "
                    f"(budget {refused.budget!r}, before sending): limit ${refused.limit}, "
                    f"spent ${refused.spent}, resets {refused.resets_at:%Y-%m-%d %H:%M %Z}"
                )
                break

    summaries = tokenomy.Budget(
        limit_usd="0.002",
        scope="feature",
        on_exceed="downgrade",
        downgrade_to="gpt-4o-mini",
        downgrade_at=0.5,
        store=store,
        name="feature-daily",
    )
    writer = TokenomyChatModel(ChatOpenAI(model="gpt-4o", **common), policies=[summaries])
    models = []
    with tokenomy_langchain.track(user="system", feature="weekly-summary"):
        for question in ("Summarise what Enterprise adds over Team.",) * 6:
            models.append(str(writer.invoke(question, max_tokens=120).response_metadata.get("model_name")))
    first = next((i for i, m in enumerate(models) if m.startswith("gpt-4o-mini")), None)
    console.print(
        f"[yellow]downgraded[/yellow] feature 'weekly-summary' from gpt-4o to gpt-4o-mini at call "
        f"{None if first is None else first + 1} of {len(models)} (budget 'feature-daily' half used)"
    )
    for row in tokenomy.budget_status(store):
        console.print(
            f"  {row.budget:<22} {row.scope:<24} spent ${row.spent_usd} of ${row.limit_usd}, "
            f"{row.open_reservations} open reservations"
        )
