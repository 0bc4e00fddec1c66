"""``tokenomy.Budget`` through the LangChain wrappers, end to end: TokenomyChatModel and
TokenomyMiddleware around the real ChatOpenAI / ChatAnthropic clients on the simulator."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from langchain.agents import create_agent
from langchain_openai import OpenAIEmbeddings
from lc_sim import anthropic, openai_chat

from budget_helpers import until_refused
from tokenomy import (
    Budget,
    MemoryBudgetStore,
    MemoryLedger,
    SQLiteBudgetStore,
    budget_status,
)
from tokenomy.testing import ProviderSimulator
from tokenomy_langchain import TokenomyChatModel, TokenomyEmbeddings, TokenomyMiddleware

LONG = " ".join(f"word{i}" for i in range(300))


def spent(ledger: MemoryLedger) -> Decimal:
    return sum((r.cost.total for r in ledger.query() if r.cost is not None), Decimal(0))


def test_chat_model_budget_refuses_before_sending(
    provider_simulator: ProviderSimulator, tmp_path: Path
) -> None:
    """TokenomyChatModel(ChatOpenAI, policies=[Budget]): calls go through until the budget
    is used, max_completion_tokens in the body is the budget's cap, the refused call never
    reaches the simulator, and the store's spend equals the ledger's."""
    provider_simulator.set_answer(LONG)
    store, ledger = SQLiteBudgetStore(tmp_path / "b.db"), MemoryLedger()
    model = TokenomyChatModel(
        openai_chat(provider_simulator, model="gpt-4o"),
        policies=[Budget(limit_usd="0.01", store=store)],
        ledger=ledger,
    )
    answered, err = until_refused(lambda: model.invoke("Tell me everything."))
    assert answered >= 1 and len(provider_simulator.requests) == answered
    bodies = [r.body for r in provider_simulator.requests]
    caps = [b["max_completion_tokens"] for b in bodies]
    assert caps[0] < 16384 and caps[-1] < caps[0]  # capped to what was left, shrinking
    [status] = budget_status(store)
    assert status.spent_usd == spent(ledger) <= Decimal("0.01")
    assert status.open_reservations == 0 and err.limit == Decimal("0.01")


def test_chat_model_stream_and_downgrade(provider_simulator: ProviderSimulator) -> None:
    """Streaming through the wrapper settles when the stream ends; on_exceed='downgrade'
    sends the request body to the cheaper model."""
    provider_simulator.set_answer(LONG)
    store, ledger = MemoryBudgetStore(), MemoryLedger()
    budget = Budget(limit_usd="0.004", on_exceed="downgrade", downgrade_to="gpt-4o-mini",
                    store=store, min_output_tokens=100)
    model = TokenomyChatModel(openai_chat(provider_simulator, model="gpt-4o"),
                              policies=[budget], ledger=ledger)
    text = "".join(str(c.content) for c in model.stream("Go on.", max_tokens=100))
    assert text.startswith("word0")
    [status] = budget_status(store)
    assert status.open_reservations == 0 and status.spent_usd == spent(ledger) > 0
    until_refused(lambda: model.invoke("Again.", max_tokens=100))
    wire = [r.body["model"] for r in provider_simulator.requests]
    assert wire[0] == "gpt-4o" and wire[-1] == "gpt-4o-mini"
    assert {r.tags.get("budget_downgraded_from") for r in ledger.query()
            if r.model.startswith("gpt-4o-mini")} == {"gpt-4o"}


def test_chat_model_anthropic_end(provider_simulator: ProviderSimulator) -> None:
    """ChatAnthropic behind the wrapper with on_exceed='end': the refused call answers with
    the budget's message, and no request is sent for it."""
    provider_simulator.set_answer(LONG)
    model = TokenomyChatModel(
        anthropic(provider_simulator),
        policies=[Budget(limit_usd="0.005", on_exceed="end", end_message="Budget used up.",
                         store=MemoryBudgetStore())],
    )
    answers = [str(model.invoke("Talk.").content) for _ in range(10)]
    assert "Budget used up." in answers
    assert len(provider_simulator.requests) == answers.index("Budget used up.")


def test_middleware_budget_in_an_agent(provider_simulator: ProviderSimulator) -> None:
    """A create_agent agent with TokenomyMiddleware([Budget]): per-user budgets; the refused
    user's agent call raises BudgetExceededError before the model is called."""
    provider_simulator.set_answer(LONG)
    store = MemoryBudgetStore()
    agent = create_agent(
        openai_chat(provider_simulator, model="gpt-4o"),
        middleware=[TokenomyMiddleware([Budget(limit_usd="0.004", scope="user", store=store)])],
    )
    import tokenomy

    with tokenomy.track(user="alice"):
        answered, err = until_refused(
            lambda: agent.invoke({"messages": [{"role": "user", "content": "Hi"}]})
        )
    assert err.scope == {"user": "alice"}
    assert len(provider_simulator.requests) == answered  # the refused call sent nothing
    with tokenomy.track(user="bob"):
        agent.invoke({"messages": [{"role": "user", "content": "Hi"}]})
    assert {s.scope for s in budget_status(store)} == {"user=alice", "user=bob"}


def test_middleware_downgrade_reaches_the_wire(provider_simulator: ProviderSimulator) -> None:
    """A create_agent agent whose feature budget downgrades: once gpt-4o no longer fits, the
    model call goes out as gpt-4o-mini (the middleware passes the model switch on)."""
    provider_simulator.set_answer(LONG)
    budget = Budget(limit_usd="0.004", on_exceed="downgrade", downgrade_to="gpt-4o-mini",
                    store=MemoryBudgetStore(), min_output_tokens=100)
    agent = create_agent(openai_chat(provider_simulator, model="gpt-4o", max_tokens=100),
                         middleware=[TokenomyMiddleware([budget])])
    _, err = until_refused(lambda: agent.invoke({"messages": [{"role": "user", "content": "Hi"}]}))
    wire = [r.body["model"] for r in provider_simulator.requests]
    assert wire[0] == "gpt-4o" and wire[-1] == "gpt-4o-mini" and err.model == "gpt-4o-mini"


def test_embeddings_budget_counts_input_tokens(provider_simulator: ProviderSimulator) -> None:
    """TokenomyEmbeddings with a token budget: each call reserves its input tokens (no
    max_tokens is added to an embeddings call), and the refused one sends nothing."""
    store = MemoryBudgetStore()
    embeddings = TokenomyEmbeddings(
        OpenAIEmbeddings(model="text-embedding-3-small", base_url=provider_simulator.openai_base_url,
                         api_key="test", max_retries=0, check_embedding_ctx_length=False),  # type: ignore[arg-type]
        policies=[Budget(limit_tokens=200, store=store)],
    )
    texts = ["The quick brown fox jumps over the lazy dog, again and again."] * 3
    answered, err = until_refused(lambda: embeddings.embed_documents(texts))
    assert answered >= 1 and len(provider_simulator.requests) == answered
    assert all("max_tokens" not in r.body for r in provider_simulator.requests)
    [status] = budget_status(store)
    assert 0 < status.spent_tokens <= 200 and err.unit == "tokens"
