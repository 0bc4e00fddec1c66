"""The demo's conversation-memory part: a multi-turn support chat whose history is windowed
and summarised by tokenomy, with the savings printed (the last step of the LangChain half of
``tokenomy demo``)."""

from __future__ import annotations

from typing import Any

CHAT_TURNS = [
    "Hi, I'm on the Team plan. How long are deleted files kept?",
    "Can I restore a whole folder at once?",
    "Can I require a password on shared links?",
    "Do shared links expire?",
    "What happens when two people edit the same file offline?",
    "How do I resolve a conflicted copy?",
    "What are the API rate limits?",
    "Is there a webhook for file changes?",
    "How is data encrypted at rest?",
    "Which operating systems does the desktop client support?",
    "Which plans include single sign-on?",
    "Which plans keep audit logs, and for how long?",
    "How do I roll an account back after ransomware?",
    "Back to my first question: which plan was I on, and what was the retention?",
]


def run_memory_demo(sim_url: str) -> None:
    """A 14-turn chat through ``RunnableWithMessageHistory`` over an in-memory store, with a
    :class:`tokenomy.ConversationMemory` (the chat on gpt-4o with a 350-token window, evicted
    turns summarised by the cheaper gpt-4o-mini, each summary call recorded with
    ``purpose=memory``); prints what was sent against the full history, what that saved and
    what the summaries cost."""
    import warnings

    from langchain_core.chat_history import InMemoryChatMessageHistory
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
    from langchain_core.runnables.history import RunnableWithMessageHistory
    from langchain_openai import ChatOpenAI

    import tokenomy
    import tokenomy_langchain
    from tokenomy_langchain import ChatModelSummarizer, TokenomyChatHistory

    common: dict[str, Any] = {"base_url": sim_url, "api_key": "sk-demo-offline"}
    memory = tokenomy.ConversationMemory(
        max_tokens=350,
        model="gpt-4o",
        summarizer=ChatModelSummarizer(ChatOpenAI(model="gpt-4o-mini", **common)),
        summary_max_tokens=80,
    )
    stores: dict[str, InMemoryChatMessageHistory] = {}

    def history(session_id: str) -> TokenomyChatHistory:
        store = stores.setdefault(session_id, InMemoryChatMessageHistory())
        return TokenomyChatHistory(store, memory, conversation=session_id)

    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You are Northwind Cloud Storage's support assistant."),
            MessagesPlaceholder("history"),
            ("human", "{question}"),
        ]
    )
    with (
        warnings.catch_warnings()
    ):  # RunnableWithMessageHistory is deprecated in favour of LangGraph
        warnings.simplefilter("ignore", DeprecationWarning)
        chat = RunnableWithMessageHistory(
            prompt | ChatOpenAI(model="gpt-4o", stream_usage=True, **common),
            history,
            input_messages_key="question",
            history_messages_key="history",
        ).with_config(run_name="chat-memory")
        with tokenomy_langchain.track(user="judy", feature="chat-memory"):
            for question in CHAT_TURNS:
                chat.invoke(
                    {"question": question}, config={"configurable": {"session_id": "judy-1"}}
                )

    s = memory.stats("judy-1")

    def money(value: object) -> str:
        return "unpriced" if value is None else f"${value:.6f}"

    print(
        f"chat-memory: {len(CHAT_TURNS)} turns; history sent {s.tokens_sent} input tokens of "
        f"{s.tokens_full} in full ({s.tokens_saved / max(1, s.tokens_full):.0%} fewer; last turn "
        f"{s.last_sent} of {s.last_full}): {money(s.cost_saved)} saved, {s.summary_calls} "
        f"summary call{'' if s.summary_calls == 1 else 's'} cost {money(s.summary_cost)}, net {money(s.net_saved)}; the store keeps "
        f"all {len(stores['judy-1'].messages)} messages"
    )
