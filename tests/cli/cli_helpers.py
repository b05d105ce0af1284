"""Helpers for the command line client tests: a canned-response socket server and ways to
run the command (in-process through click's CliRunner, or as `python -m rapidhttp`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import typing

from click.testing import CliRunner, Result

import rapidhttp

BIG_CHUNK = bytes(range(256)) * 256  # 64 KiB
BIG_REPEAT = 80  # 5 MiB


class Server(typing.Protocol):
    """The shared `server` / `tls_server` fixtures (tests/conftest.py's ServerInfo)."""

    url: str  # ends with "/"
    port: int


class CannedServer:
    """Answers each connection on 127.0.0.1 with `response`, then closes it, recording the
    request heads it read. Serves until the fixture ends; every wait is bounded."""

    def __init__(
        self, response: bytes, chunk: bytes = b"", repeat: int = 0, hold: float = 0.0
    ) -> None:
        # After `response`, `chunk` is sent `repeat` times: a big body from one small buffer.
        # Then the connection is held open for `hold` seconds (or until the fixture ends).
        self.response = response
        self.chunk = chunk
        self.repeat = repeat
        self.hold = hold
        self.requests: list[bytes] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                head = b""
                try:
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        data = conn.recv(4096)
                        if not data:
                            break
                        head += data
                    self.requests.append(head)
                    conn.sendall(self.response)
                    for _ in range(self.repeat):
                        conn.sendall(self.chunk)
                    self.stopping.wait(self.hold)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


def canned(
    response: bytes, chunk: bytes = b"", repeat: int = 0, hold: float = 0.0
) -> typing.Iterator[CannedServer]:
    server = CannedServer(response, chunk, repeat, hold)
    try:
        yield server
    finally:
        server.close()


def invoke(*args: str, input: str | None = None) -> Result:
    """Run the command in-process. CliRunner's output is not a terminal: no colours."""
    return CliRunner().invoke(rapidhttp.main, list(args), input=input)


def lines(output: str) -> list[str]:
    """Output lines without the `date:` header (it changes) and without edge whitespace."""
    stripped = (line.strip() for line in output.splitlines())
    return [line for line in stripped if not line.startswith("date:")]


def run_module(
    *args: str, env: dict[str, str] | None = None, prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `python -m rapidhttp ARGS` in a subprocess (after `prelude`, if any)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    environ["COLUMNS"] = "120"
    environ.update(env or {})
    if prelude:
        code = f"{prelude}\nimport runpy; runpy.run_module('rapidhttp', run_name='__main__')"
        command = [sys.executable, "-c", code, *args]
    else:
        command = [sys.executable, "-m", "rapidhttp", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=60)
