"""A small read-only web server for the exports folder, so the download links in the Dagster UI
(CLOSE_DOWNLOAD_BASE_URL) open in a browser: GET and HEAD only, no directory listings, nothing
outside the folder. `stripe-close ui` runs it beside the Dagster webserver."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _ReadOnlyFiles(SimpleHTTPRequestHandler):
    # SimpleHTTPRequestHandler answers GET and HEAD only and keeps paths inside `directory`.
    def list_directory(self, path):
        self.send_error(404, "no listings: follow a link from the Dagster UI")
        return None

    def log_message(self, format, *args) -> None:
        """Quiet: the Dagster webserver's output is what `stripe-close ui` shows."""


@contextmanager
def serve_downloads(root: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `root` on host:port (0: a free port) in a background thread; yields the base URL."""
    root.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer((host, port), functools.partial(_ReadOnlyFiles, directory=str(root.resolve())))
    thread = threading.Thread(target=server.serve_forever, name="stripe-close-downloads", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
