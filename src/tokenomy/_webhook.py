"""One JSON POST to a URL the user named, off the caller's thread (budget alerts, anomaly
alerts): a daemon thread, a timeout, a failure logged in one line, never raised."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

__all__ = ["post_json_later"]


def post_json_later(
    url: str, payload: Any, *, what: str, logger: logging.Logger, timeout: float = 5.0
) -> None:
    """POST ``payload`` as JSON to ``url`` in a daemon thread; a failure is logged as
    ``"<what> webhook <url> failed: ..."`` on ``logger``."""

    def send() -> None:
        import urllib.request

        body = json.dumps(payload).encode()
        req = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                resp.read()
        except Exception as exc:
            logger.error("%s webhook %s failed: %s: %s", what, url, type(exc).__name__, exc)

    name = "tokenomy-" + what.replace(" ", "-")
    threading.Thread(target=send, name=name, daemon=True).start()
