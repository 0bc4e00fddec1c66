"""Warnings given once per key: once per model, per LLM class, per process.

``warnings.warn`` already shows a warning once per code location under Python's default
filters, but the integrations want once per *subject* (each model whose usage is estimated
gets its own warning, wherever it is raised from) whatever the user's warning filters are, and
tests catch every warning. :class:`WarnOnce` remembers the keys it warned about; the module's
:data:`warn_once` is the process-wide one, and a component that wants its own scope (one
handler warning once per LLM class) keeps its own instance.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Hashable

__all__ = ["WarnOnce", "warn_once"]


class WarnOnce:
    """``warnings.warn`` at most once per key (thread-safe: two threads racing on one key
    warn once)."""

    __slots__ = ("_lock", "_seen")

    def __init__(self) -> None:
        self._seen: set[Hashable] = set()
        self._lock = threading.Lock()

    def __call__(
        self,
        key: Hashable,
        message: str,
        category: type[Warning] = UserWarning,
        *,
        stacklevel: int = 2,
    ) -> bool:
        """Warn ``message`` unless ``key`` was warned about already; returns whether it warned.

        ``stacklevel`` counts as for :func:`warnings.warn` called where this is called
        (2: the caller of the function that calls this).
        """
        if key in self._seen:  # the usual case: no lock
            return False
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
        warnings.warn(message, category, stacklevel=stacklevel + 1)
        return True

    def __contains__(self, key: Hashable) -> bool:
        return key in self._seen

    def forget(self, key: Hashable) -> None:
        """Warn about ``key`` again next time."""
        with self._lock:
            self._seen.discard(key)

    def __repr__(self) -> str:
        return f"WarnOnce({len(self._seen)} keys warned)"


#: The process-wide registry: ``tokenomy.warn_once(key, message, category, stacklevel=2)``.
warn_once = WarnOnce()
