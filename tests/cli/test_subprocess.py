"""`python -m rapidhttp` and the `rapidhttp` script as real processes: what a user sees."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from cli_helpers import CannedServer, Server, lines, run_module
from rich.text import Text

import rapidhttp

JSON_OUTPUT = [
    "HTTP/1.1 200 OK",
    "server: uvicorn",
    "content-type: application/json",
    "transfer-encoding: chunked",
    "",
    "{",
    '"Hello": "world!"',
    "}",
]


def test_json_get_without_a_terminal_has_no_escape_codes(server: Server) -> None:
    result = run_module(server.url + "json")
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == JSON_OUTPUT
    assert "\x1b" not in result.stdout
    assert result.stderr == ""


def test_colours_when_forced(server: Server) -> None:
    # FORCE_COLOR makes rich treat the output as a terminal, as a real one would be.
    result = run_module(server.url + "json", env={"FORCE_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert "\x1b[" in result.stdout
    assert '"Hello": "world!"' in Text.from_ansi(result.stdout).plain


def test_connection_refused_is_one_line_without_traceback(closed_port: int) -> None:
    result = run_module(f"http://127.0.0.1:{closed_port}/")
    assert result.returncode == 1
    assert result.stdout == ""
    error = result.stderr.strip().splitlines()
    assert len(error) == 1
    assert error[0].startswith("ConnectError: ")
    assert "Traceback" not in result.stderr


def test_http_error_exits_1(server: Server) -> None:
    result = run_module(server.url + "status/404")
    assert result.returncode == 1
    assert lines(result.stdout)[0] == "HTTP/1.1 404 Not Found"


def test_bad_url_exits_1() -> None:
    result = run_module("invalid://example.org")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "UnsupportedProtocol: Request URL has an unsupported protocol 'invalid://'."
    )


def test_download(server: Server, tmp_path: os.PathLike[str]) -> None:
    target = os.path.join(tmp_path, "big.bin")
    result = run_module(server.url + "bytes/5000000", "--download", target)
    assert result.returncode == 0, result.stderr
    with open(target, "rb") as file:
        data = file.read()
    assert data == bytes(range(256)) * (5_000_000 // 256) + bytes(range(5_000_000 % 256))
    assert os.listdir(tmp_path) == ["big.bin"]
    assert "\x1b" not in result.stdout


def _has_bytes(folder: os.PathLike[str]) -> bool:
    """Whether `folder` holds exactly one file, and that file is not empty."""
    names = os.listdir(folder)
    return len(names) == 1 and os.path.getsize(os.path.join(folder, names[0])) > 0


def test_interrupted_download_leaves_no_file(
    stalling_server: CannedServer, tmp_path: os.PathLike[str]
) -> None:
    target = os.path.join(tmp_path, "data.bin")
    command = [sys.executable, "-m", "rapidhttp", stalling_server.url, "--download", target]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            # Wait (bounded) until the transfer is under way: body bytes reached the
            # temporary file, so the client is inside its read loop.
            # (A fixed sleep here was flaky on a loaded machine.)
            deadline = time.monotonic() + 20
            while not _has_bytes(tmp_path) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert stalling_server.requests, "the download never started"
            assert _has_bytes(tmp_path), "the body's first bytes were never written"
            assert len(os.listdir(tmp_path)) == 1  # the temporary file
            assert not os.path.exists(target)  # in progress under a temporary name
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=20)
        finally:
            if process.poll() is None:  # pragma: no cover - only if the test failed above
                process.kill()
    assert process.returncode == 1
    assert "Aborted!" in stdout + stderr
    assert "Traceback" not in stderr
    assert os.listdir(tmp_path) == []


def test_without_the_cli_extra_prints_install_hint() -> None:
    # `sys.modules[name] = None` makes `import click` fail as if it were not installed.
    result = run_module("http://127.0.0.1:1/", prelude="import sys; sys.modules['click'] = None")
    assert result.returncode == 1
    assert "pip install 'rapidhttp[cli]'" in result.stdout


def test_console_script(server: Server) -> None:
    script = shutil.which("rapidhttp", path=os.path.dirname(sys.executable))
    if script is None:  # pragma: no cover - only an installed package has the script
        pytest.skip("the rapidhttp script is not installed next to this interpreter")
    result = subprocess.run([script, server.url, "-v"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"User-Agent: python-rapidhttp/{rapidhttp.__version__}" in lines(result.stdout)
