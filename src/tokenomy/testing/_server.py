"""The HTTP layer: a threaded HTTP/1.1 server (keep-alive, chunked SSE) on loopback.

Each connection gets a thread; every request is handed to a ``serve(exchange)`` callback.
:class:`Exchange` is what that callback sees: the request, and ways to answer normally, to
stream, or to misbehave on purpose (hold the connection, cut it, send a short body). Stopping
the server wakes held requests and closes idle keep-alive connections, then waits for the
handler threads.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Exchange", "HTTPServerThread"]


class _ConnectionGoneError(Exception):
    """The client went away (or the server is stopping) while we were answering."""


class Exchange:
    """One request/response on a connection, as the simulator's handler sees it."""

    def __init__(self, handler: _Handler, stopping: threading.Event) -> None:
        self._handler = handler
        self._stopping = stopping
        self._chunked = False
        self.method = handler.command
        split = urlsplit(handler.path)
        self.path = split.path.rstrip("/") or "/"
        self.query = split.query
        self.headers: dict[str, str] = {k.lower(): v for k, v in handler.headers.items()}

    # -- request ---------------------------------------------------------------------

    def read_body(self) -> bytes:
        """The request body (Content-Length or chunked)."""
        rfile = self._handler.rfile
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(rfile.read(size))
                rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return rfile.read(length) if length > 0 else b""

    # -- timing ----------------------------------------------------------------------

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``; raises when the server stops meanwhile."""
        if seconds > 0 and self._stopping.wait(seconds):
            raise _ConnectionGoneError("simulator stopping")

    # -- normal answers --------------------------------------------------------------

    def _head(self, status: int, headers: Mapping[str, str]) -> None:
        h = self._handler
        h.send_response_only(status)
        h.send_header("Date", h.date_time_string())
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()

    def send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        """A complete response with a Content-Length."""
        self._head(status, {**headers, "Content-Length": str(len(body))})
        self._write(body)

    def start_stream(self, status: int, headers: Mapping[str, str]) -> None:
        """Begin a chunked response (server-sent events)."""
        self._head(status, {**headers, "Transfer-Encoding": "chunked"})
        self._chunked = True

    def write_chunk(self, data: bytes) -> None:
        """One chunk of a streamed response."""
        if data:
            self._write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def end_stream(self) -> None:
        """The terminating zero-length chunk."""
        self._write(b"0\r\n\r\n")
        self._chunked = False

    def _write(self, data: bytes) -> None:
        try:
            self._handler.wfile.write(data)
            self._handler.wfile.flush()
        except (OSError, ValueError) as exc:
            self._handler.close_connection = True
            raise _ConnectionGoneError(str(exc)) from exc

    # -- misbehaviour ----------------------------------------------------------------

    def send_partial(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        """Declare the whole body's length, send half of it, then drop the connection."""
        self._head(status, {**headers, "Content-Length": str(len(body))})
        self._write(body[: len(body) // 2])
        self.abort()

    def abort(self) -> None:
        """Close the connection now, mid-response or before any response."""
        h = self._handler
        h.close_connection = True
        with contextlib.suppress(OSError, ValueError):
            h.wfile.flush()
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "tokenomy-simulator"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs stall every response ~40 ms.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.track(self.connection, add=False)

    def _dispatch(self) -> None:
        exchange = Exchange(self, self.server.stopping)
        try:
            self.server.serve(exchange)
        except _ConnectionGoneError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], serve: Callable[[Exchange], None]) -> None:
        self.serve = serve
        self.stopping = threading.Event()
        self._lock = threading.Condition()
        self._connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse-DNS lookup of the host (no network use)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
                self._lock.notify_all()

    def close_connections(self, timeout: float) -> bool:
        """Shut every open connection down, wait for their threads; False on timeout."""
        with self._lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            return self._lock.wait_for(lambda: not self._connections, timeout=timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client resets are normal here (timeouts, aborted streams): stay quiet."""


class HTTPServerThread:
    """A :class:`_Server` running ``serve_forever`` in a daemon thread."""

    def __init__(self, host: str, port: int, serve: Callable[[Exchange], None]) -> None:
        self._server = _Server((host, port), serve)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"tokenomy-simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, release held requests, close connections, join the threads."""
        self._server.stopping.set()
        self._server.shutdown()
        self._server.close_connections(timeout)
        self._server.server_close()
        self._thread.join(timeout)
