"""What the sandbox ERP servers share: a threaded HTTP server on 127.0.0.1 with a concurrency limit,
errors that carry their answer, and a connection that can be dropped after a write (a crash)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, bytes, dict[str, str]]


class HttpError(Exception):
    """Stop handling a request and answer with this status, body and headers."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class DropConnection(Exception):
    """Close the socket without an answer, as a server that crashed after applying the request."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle adds 40 ms a request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Quiet."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self._serve("GET")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        sandbox: LoopbackServer = self.server.sandbox
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        entered = sandbox._enter()
        try:
            if not entered:
                raise sandbox.too_busy()
            status, payload, headers = sandbox.respond(method, self.path, self.headers, body)
        except HttpError as error:
            status, payload, headers = error.status, error.body, error.headers
        except DropConnection:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        finally:
            if entered:
                sandbox._leave()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: "LoopbackServer"


class LoopbackServer:
    """Serves `respond` on 127.0.0.1 in a background thread (port 0 picks a free one). Requests
    beyond `concurrency_limit` at once get `too_busy()`; `max_in_flight` records the peak."""

    def __init__(self, name: str, port: int = 0, concurrency_limit: int = 5) -> None:
        self.concurrency_limit = concurrency_limit
        self.max_in_flight = 0
        self.rejected_for_concurrency = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.sandbox = self
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def respond(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        raise NotImplementedError

    def too_busy(self) -> HttpError:
        raise NotImplementedError

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _enter(self) -> bool:
        with self._lock:
            if self._in_flight >= self.concurrency_limit:
                self.rejected_for_concurrency += 1
                return False
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return True

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
