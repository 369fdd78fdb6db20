"""A moto S3 server on 127.0.0.1, standing in for the bucket Stripe Data Pipeline delivers to.

boto3 talks real HTTP to it (no in-process mocking), so the loader under test is the code that
runs against AWS or any S3-compatible endpoint given through `AWS_ENDPOINT_URL`. Tests run it on
a thread; benchmarks in its own process, so that serving bytes does not compete with the loader
for the interpreter lock.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time

import boto3
import requests
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
# moto accepts any credentials; these only keep boto3 from looking for real ones.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_DEFAULT_REGION": REGION}


class LocalS3:
    """`with LocalS3() as s3:` starts the server on a free port and stops it on exit."""

    def __init__(self, own_process: bool = False) -> None:
        self._own_process = own_process
        self._server: ThreadedMotoServer | None = None
        self._process: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> "LocalS3":
        if self._own_process:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            self.url = f"http://127.0.0.1:{port}"
            self._wait_until_up()
            return self
        # moto's werkzeug logs every request; tests make thousands.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def _wait_until_up(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                requests.get(self.url, timeout=1)
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting on a busy machine
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the moto S3 server did not start at {self.url}")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._process is not None:
            self._process.terminate()
            self._process.wait()

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.url, region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def __enter__(self) -> "LocalS3":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
