"""tokenomy: make LLM applications cheaper and accountable."""

__version__ = "0.1.0"
