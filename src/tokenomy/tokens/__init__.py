"""Offline token counting and pre-call prompt-token estimates.

Encodings are built from local BPE files (never downloaded). OpenAI chat and Responses requests
on plain text are counted exactly; tools, images, schemas and Anthropic requests are estimates
(``TokenEstimate.estimated``).
"""

from __future__ import annotations

from tokenomy.tokens._call import estimate_call
from tokenomy.tokens._encoding import (
    ENCODING_NAMES,
    count_text,
    encoding_for_model,
    encoding_name_for_model,
    get_encoding,
)
from tokenomy.tokens._estimate import (
    REQUEST_FORMATS,
    estimate_request,
    estimate_usage,
    request_format,
)
from tokenomy.tokens._openai_chat import estimate_messages
from tokenomy.tokens._result import TokenEstimate

__all__ = [
    "ENCODING_NAMES",
    "REQUEST_FORMATS",
    "TokenEstimate",
    "count_text",
    "encoding_for_model",
    "encoding_name_for_model",
    "estimate_call",
    "estimate_messages",
    "estimate_request",
    "estimate_usage",
    "get_encoding",
    "request_format",
]
