"""OpenAI embeddings and the models listing, through the real SDKs."""

from __future__ import annotations

import math

import anthropic
import openai
import pytest

from tokenomy.testing import ProviderSimulator, embedding_vector
from tokenomy.tokens import count_text
from tokenomy.usage import Usage

TEXTS = ["The quick brown fox", "jumps over the lazy dog"]


def test_float_vectors_are_deterministic_unit_vectors_from_the_text(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """Float vectors: 1536 unit-length components, identical for the same text on every call
    (and equal to embedding_vector), different for different texts; usage counts the inputs'
    cl100k tokens and is recorded as input-only usage."""
    r = oai.embeddings.create(model="text-embedding-3-small", input=TEXTS, encoding_format="float")
    vectors = [d.embedding for d in r.data]
    assert [d.index for d in r.data] == [0, 1]
    assert all(len(v) == 1536 for v in vectors)
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-5) for v in vectors)
    assert vectors[0] != vectors[1]
    assert vectors[0] == embedding_vector(TEXTS[0], 1536)
    again = oai.embeddings.create(
        model="text-embedding-3-small", input=TEXTS[0], encoding_format="float"
    )
    assert again.data[0].embedding == vectors[0]
    expected = sum(count_text(t, "text-embedding-3-small") for t in TEXTS)
    assert r.usage.prompt_tokens == r.usage.total_tokens == expected == 10
    assert r.model == "text-embedding-3-small"
    call = sim.calls[0]
    assert (call.api, call.usage) == ("embeddings", Usage(input=10))


def test_base64_encoding_decodes_to_the_float_vector(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """The SDK's default base64 request decodes to exactly the float answer's vector, and the
    wire really carried a base64 string."""
    default = oai.embeddings.create(model="text-embedding-3-small", input=TEXTS[1])
    assert sim.requests[-1].body["encoding_format"] == "base64"
    floats = oai.embeddings.create(
        model="text-embedding-3-small", input=TEXTS[1], encoding_format="float"
    )
    assert default.data[0].embedding == floats.data[0].embedding
    raw = oai.embeddings.create(
        model="text-embedding-3-small", input=TEXTS[1], encoding_format="base64"
    )
    assert isinstance(raw.data[0].embedding, str)


def test_dimensions_and_model_sizes(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """text-embedding-3-large answers 3072 components; `dimensions` picks the size."""
    large = oai.embeddings.create(
        model="text-embedding-3-large", input="x", encoding_format="float"
    )
    assert len(large.data[0].embedding) == 3072
    small = oai.embeddings.create(
        model="text-embedding-3-small", input="x", dimensions=256, encoding_format="float"
    )
    assert len(small.data[0].embedding) == 256


def test_token_array_inputs_count_their_length(sim: ProviderSimulator, oai: openai.OpenAI) -> None:
    """Token-id inputs are billed by their length."""
    r = oai.embeddings.create(model="text-embedding-ada-002", input=[[1, 2, 3], [4, 5]])
    assert r.usage.prompt_tokens == 5
    r = oai.embeddings.create(model="text-embedding-ada-002", input=[10, 11, 12, 13])
    assert r.usage.prompt_tokens == 4
    with pytest.raises(openai.BadRequestError):
        oai.embeddings.create(model="text-embedding-ada-002", input=[""])


async def test_async_embeddings(sim: ProviderSimulator, aoai: openai.AsyncOpenAI) -> None:
    """AsyncOpenAI embeddings get the same deterministic vectors."""
    r = await aoai.embeddings.create(model="text-embedding-3-small", input=TEXTS[0])
    assert r.data[0].embedding == embedding_vector(TEXTS[0], 1536)


def test_models_listing_in_both_shapes(
    sim: ProviderSimulator, oai: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    """GET /v1/models lists the default models plus every model requested so far, in the
    OpenAI shape, or Anthropic's when the client sends anthropic-version; unknown ids 404."""
    oai.chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "hi"}]
    )
    ids = [m.id for m in oai.models.list()]
    assert "gpt-4o" in ids and "claude-sonnet-4-6" in ids and "my-custom-model" in ids
    assert oai.models.retrieve("gpt-4o").owned_by == "openai"
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("no-such-model")
    page = claude.models.list()
    assert [m.id for m in page.data] == ids
    assert page.data[0].type == "model"
    assert sim.calls[-1].api == "chat.completions"
