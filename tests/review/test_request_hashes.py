"""The definition of the request hashes (tokenomy/_request_hash.py), which the prompt-cache
placement and the review read from ledgers: pinned against a hand computation, and the hashes'
lazy path through store_call and the pipeline."""

from __future__ import annotations

import hashlib
import json

import tokenomy
from tokenomy import MemoryLedger, ModelRequest, NormalisedRequest, Pipeline, Usage
from tokenomy.testing import MockSender


def _canonical(value: object) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def test_definition_by_hand() -> None:
    """prefix_hash covers the leading system messages' frames (developer read as system) +
    tools; request_hash every message's frame, tools and the hashed params (not others, not
    the model, not unknown message keys)."""
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    messages = [
        {"role": "developer", "content": "Rules."},
        {"role": "user", "content": "Hi", "extra": "ignored"},
    ]
    got = tokenomy.request_hashes(messages, tools=tools, params={"temperature": 0, "user": "x"})
    system = b"system\x1fRules.\x1f\x1f\x1f\x1e"
    user = b"user\x1fHi\x1f\x1f\x1f\x1e"
    tools_part = b"\x1d" + _canonical(tools)
    prefix = hashlib.blake2b(system + tools_part, digest_size=16, person=b"tokenomy-pfx-v1").hexdigest()
    whole = hashlib.blake2b(
        system + user + tools_part + b"\x1c" + _canonical({"temperature": 0}),
        digest_size=16,
        person=b"tokenomy-req-v1",
    ).hexdigest()
    assert got.prefix_hash == prefix
    assert got.request_hash == whole
    assert got.message_count == 2
    assert tokenomy.request_hashes([{"role": "user", "content": "Hi"}]).prefix_hash is None
    calls = [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    with_call = tokenomy.request_hashes([{"role": "assistant", "content": None, "tool_calls": calls}])
    frame = ("assistant\x1f\x1f\x1f\x00" + _canonical(calls).decode() + "\x1f\x1e").encode()
    assert with_call.request_hash == hashlib.blake2b(frame, digest_size=16, person=b"tokenomy-req-v1").hexdigest()


def test_store_call_hashes_lazily_once() -> None:
    """store_call keeps the request source and calls it once, on the first read."""
    calls = []

    def source() -> NormalisedRequest:
        calls.append(1)
        return NormalisedRequest([{"role": "user", "content": "q"}])

    ledger = MemoryLedger()
    stored = tokenomy.store_call(
        model="gpt-4o", usage=Usage(input=5, output=1), ledger=ledger, request=source
    )
    assert calls == [] and stored.request_hash is None
    (record,) = ledger.query()
    assert calls == [1]
    assert record.request_hash == tokenomy.request_hashes([{"role": "user", "content": "q"}]).request_hash
    ledger.query()
    assert calls == [1]


def test_failing_source_never_loses_the_record() -> None:
    """A request source that raises leaves the hashes empty; the call is recorded."""

    def broken() -> NormalisedRequest:
        raise RuntimeError("boom")

    ledger = MemoryLedger()
    tokenomy.store_call(model="gpt-4o", usage=Usage(input=5, output=1), ledger=ledger, request=broken)
    (record,) = ledger.query()
    assert record.request_hash is None and record.model == "gpt-4o"


def test_pipeline_records_carry_hashes() -> None:
    """The pipeline's attempt step hashes the request it sent (a prompt request too)."""
    ledger = MemoryLedger()
    pipe = Pipeline([], ledger=ledger)
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
    pipe.call(ModelRequest(model="gpt-4o", messages=messages), MockSender())
    (record,) = ledger.query()
    want = tokenomy.request_hashes(messages)
    assert (record.prefix_hash, record.request_hash) == (want.prefix_hash, want.request_hash)
