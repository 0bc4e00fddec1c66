"""A batch job's process, killed by the tests: submits (or resumes) a job and polls forever
(the simulator's fake clock only moves when the test says so)."""

from __future__ import annotations

import sys

import anthropic
import openai

from tokenomy import ModelRequest
from tokenomy.batch import AnthropicBatchAPI, BatchRunner, OpenAIBatchAPI
from tokenomy.ledger import SQLiteLedger


def main() -> None:
    provider, base_url, store, ledger_path, job_id, n = sys.argv[1:7]
    if provider == "openai":
        api: OpenAIBatchAPI | AnthropicBatchAPI = OpenAIBatchAPI(
            openai.OpenAI(base_url=base_url, api_key="test", max_retries=0)
        )
        model = "gpt-4o-mini"
    else:
        api = AnthropicBatchAPI(anthropic.Anthropic(base_url=base_url, api_key="test"))
        model = "claude-haiku-4-5"
    ledger = SQLiteLedger(ledger_path)
    runner = BatchRunner(
        api, store=store, ledger=ledger, poll_interval=0.02, tags={"feature": "nightly"}
    )
    if sys.argv[7] == "submit":
        requests = [
            ModelRequest(
                model=model,
                messages=[
                    {"role": "system", "content": "Classify the ticket in one word."},
                    {"role": "user", "content": f"Ticket {i}: the invoice total looks wrong."},
                ],
                params={"max_tokens": 16},
            )
            for i in range(int(n))
        ]
        runner.submit(requests, job_id=job_id)
        print("submitted", flush=True)
    runner.job(job_id).wait()
    print("finished", flush=True)


if __name__ == "__main__":
    main()
