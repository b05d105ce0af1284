"""The `rapidhttp` command, driven through click's CliRunner against real servers on 127.0.0.1.

Output formats are httpx 0.28.1's (its tests compare them line for line); the shared `server`
fixture is uvicorn with httptools, which sends its header names in lower case.
"""

from __future__ import annotations

import base64
import json
import os
import tracemalloc

import pytest
from cli_helpers import BIG_CHUNK, BIG_REPEAT, CannedServer, Server, invoke, lines

import rapidhttp

USER_AGENT = f"User-Agent: python-rapidhttp/{rapidhttp.__version__}"
HELLO_HEAD = [
    "HTTP/1.1 200 OK",
    "server: uvicorn",
    "content-type: text/plain",
    "transfer-encoding: chunked",
    "",
]


def request_head(server: Server, method: str = "GET", target: str = "/") -> list[str]:
    netloc = server.url.split("/")[2]
    return [
        f"{method} {target} HTTP/1.1",
        f"Host: {netloc}",
        "Accept: */*",
        "Accept-Encoding: gzip, deflate, br, zstd",
        "Connection: keep-alive",
        USER_AGENT,
    ]


def expected_body(n: int) -> bytes:
    """What the `server` fixture's /bytes/{n} route sends."""
    return bytes(range(256)) * (n // 256) + bytes(range(n % 256))


# --------------------------------------------------------------------------- output


def test_main_is_a_click_command() -> None:
    import click

    assert isinstance(rapidhttp.main, click.Command)
    from rapidhttp._main import main

    assert rapidhttp.main is main


def test_help() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "A next generation HTTP client." in result.output
    assert f"rapidhttp {rapidhttp.__version__}" in result.output
    assert "Usage: rapidhttp <URL> [OPTIONS]" in result.output
    for option in ("-m, --method METHOD", "--proxy URL", "--download FILE", "-v, --verbose"):
        assert option in result.output
    assert "\x1b" not in result.output


def test_get(server: Server) -> None:
    result = invoke(server.url)
    assert result.exit_code == 0
    assert lines(result.output) == HELLO_HEAD + ["Hello, world!"]
    assert "\x1b" not in result.output


def test_json_is_pretty_printed(server: Server) -> None:
    result = invoke(server.url + "json")
    assert result.exit_code == 0
    assert lines(result.output) == [
        "HTTP/1.1 200 OK",
        "server: uvicorn",
        "content-type: application/json",
        "transfer-encoding: chunked",
        "",
        "{",
        '"Hello": "world!"',
        "}",
    ]


def test_binary_body_is_summarised(server: Server) -> None:
    result = invoke(server.url + "bytes/300")
    assert result.exit_code == 0
    assert lines(result.output)[-1] == "<300 bytes of binary data>"
    assert "\x00" not in result.output


def test_empty_body_prints_only_the_head(server: Server) -> None:
    result = invoke(server.url + "status/204")
    assert result.exit_code == 0
    assert lines(result.output) == [
        "HTTP/1.1 204 No Content",
        "server: uvicorn",
        "content-type: text/plain",
        "",
    ]


def test_verbose(server: Server) -> None:
    result = invoke(server.url, "-v")
    assert result.exit_code == 0
    port = server.port
    assert lines(result.output) == [
        "* Connecting to '127.0.0.1'",
        f"* Connected to '127.0.0.1' on port {port}",
        *request_head(server),
        "",
        *HELLO_HEAD,
        "Hello, world!",
    ]


# --------------------------------------------------------------------------- request options


def test_method_defaults_to_post_with_a_body(server: Server) -> None:
    result = invoke(server.url + "echo_method", "-c", "x")
    assert result.exit_code == 0
    assert lines(result.output)[-1] == "POST"


def test_method_option(server: Server) -> None:
    result = invoke(server.url + "echo_method", "-m", "PUT")
    assert result.exit_code == 0
    assert lines(result.output)[-1] == "PUT"


def test_json_body(server: Server) -> None:
    result = invoke(server.url + "echo_body", "-j", '{"hello": "world"}')
    assert result.exit_code == 0
    assert lines(result.output)[-1] == '{"hello":"world"}'


def test_content_body(server: Server) -> None:
    result = invoke(server.url + "echo_body", "-c", "raw text")
    assert result.exit_code == 0
    assert lines(result.output)[-1] == "raw text"


def test_form_data(server: Server) -> None:
    result = invoke(server.url + "echo_body", "-d", "a", "1", "-d", "b", "two words")
    assert result.exit_code == 0
    assert lines(result.output)[-1] == "a=1&b=two+words"


def test_files(server: Server, tmp_path: os.PathLike[str]) -> None:
    upload = os.path.join(tmp_path, "upload.txt")
    with open(upload, "w") as file:
        file.write("file contents")
    result = invoke(server.url + "echo_body", "-f", "doc", upload)
    assert result.exit_code == 0
    assert 'Content-Disposition: form-data; name="doc"; filename="upload.txt"' in result.output
    assert "file contents" in result.output


def test_params(server: Server) -> None:
    result = invoke(server.url, "-v", "-p", "a", "1", "-p", "b", "x y")
    assert result.exit_code == 0
    assert "GET /?a=1&b=x+y HTTP/1.1" in lines(result.output)


def echoed_headers(output: str) -> dict[str, str]:
    body = output[output.index("{") :]
    return dict(json.loads(body))


def test_headers(server: Server) -> None:
    result = invoke(server.url + "echo_headers", "-h", "X-Test", "yes")
    assert result.exit_code == 0
    assert echoed_headers(result.output)["x-test"] == "yes"


def test_cookies(server: Server) -> None:
    result = invoke(server.url + "echo_headers", "--cookies", "a", "b")
    assert result.exit_code == 0
    assert echoed_headers(result.output)["cookie"] == "a=b"


def test_auth(server: Server) -> None:
    result = invoke(server.url, "-v", "--auth", "username", "password")
    assert result.exit_code == 0
    assert lines(result.output)[2:10] == [
        *request_head(server),
        "Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmQ=",
        "",
    ]


def test_auth_password_prompt(server: Server) -> None:
    result = invoke(server.url, "-v", "--auth", "user", "-", input="s3cret\n")
    assert result.exit_code == 0
    assert "Password:" in result.output
    assert "s3cret" not in result.output  # the prompt hides what is typed
    token = base64.b64encode(b"user:s3cret").decode()
    assert f"Authorization: Basic {token}" in lines(result.output)


def test_proxy(proxy_server: CannedServer, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/path"
    result = invoke(url, "--proxy", proxy_server.url)
    assert result.exit_code == 0
    assert lines(result.output)[-1] == "via proxy"
    # A plain-HTTP proxy gets the absolute URL as the request target.
    assert proxy_server.requests[0].startswith(f"GET {url} HTTP/1.1\r\n".encode())


def test_timeout(server: Server) -> None:
    result = invoke(server.url + "slow_response", "--timeout", "0.2")
    assert result.exit_code == 1
    assert lines(result.output)[0].startswith("ReadTimeout: ")


def test_http2_flag_over_plain_http(server: Server) -> None:
    # No TLS means no ALPN: the request goes out as HTTP/1.1.
    result = invoke(server.url, "--http2")
    assert result.exit_code == 0
    assert lines(result.output) == HELLO_HEAD + ["Hello, world!"]


# --------------------------------------------------------------------------- redirects


def test_redirect_not_followed_exits_1(server: Server) -> None:
    result = invoke(server.url + "redirect_301")
    assert result.exit_code == 1
    assert lines(result.output) == [
        "HTTP/1.1 301 Moved Permanently",
        "server: uvicorn",
        "location: /",
        "transfer-encoding: chunked",
        "",
    ]


def test_follow_redirects_shows_every_hop(server: Server) -> None:
    result = invoke(server.url + "redirect_301", "--follow-redirects")
    assert result.exit_code == 0
    assert lines(result.output) == [
        "HTTP/1.1 301 Moved Permanently",
        "server: uvicorn",
        "location: /",
        "transfer-encoding: chunked",
        "",
        *HELLO_HEAD,
        "Hello, world!",
    ]


def test_verbose_redirect_note(server: Server) -> None:
    result = invoke(server.url + "redirect_301", "--follow-redirects", "-v")
    assert result.exit_code == 0
    output = lines(result.output)
    note = output.index(f"* Following redirect to '{server.url}'")
    assert output[note - 2 : note] == ["transfer-encoding: chunked", ""]
    assert output[note + 1] == "GET / HTTP/1.1"


# --------------------------------------------------------------------------- TLS


def test_tls_verbose_no_verify(tls_server: Server) -> None:
    result = invoke(tls_server.url, "-v", "--no-verify")
    assert result.exit_code == 0
    output = lines(result.output)
    assert output[1] == f"* Connected to '127.0.0.1' on port {tls_server.port}"
    assert output[2].startswith("* SSL established using 'TLSv1.")
    # uvicorn's TLS context offers no ALPN, so none is selected.
    assert output[3] == "* Selected ALPN protocol: None"
    assert "* Server certificate:" not in output  # nothing verified, nothing to show
    assert output[-1] == "Hello, world!"


def test_tls_verbose_shows_verified_certificate(
    tls_server: Server, ca_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle)
    result = invoke(tls_server.url, "-v")
    assert result.exit_code == 0
    output = lines(result.output)
    assert "* Server certificate:" in output
    assert "*   subjectAltName:" in output
    assert "*     IP Address: '127.0.0.1'" in output


def test_tls_unverified_certificate_fails(tls_server: Server) -> None:
    result = invoke(tls_server.url)
    assert result.exit_code == 1
    assert len(lines(result.output)) == 1
    assert lines(result.output)[0].startswith("ConnectError: ")
    assert "CERTIFICATE_VERIFY_FAILED" in result.output


# --------------------------------------------------------------------------- errors


def test_not_found_exits_1(server: Server) -> None:
    result = invoke(server.url + "status/404")
    assert result.exit_code == 1
    assert lines(result.output)[0] == "HTTP/1.1 404 Not Found"


def test_unsupported_protocol() -> None:
    result = invoke("invalid://example.org")
    assert result.exit_code == 1
    assert lines(result.output) == [
        "UnsupportedProtocol: Request URL has an unsupported protocol 'invalid://'.",
    ]


def test_invalid_url() -> None:
    result = invoke("http://[::1")
    assert result.exit_code == 1
    assert len(lines(result.output)) == 1
    assert lines(result.output)[0].startswith("InvalidURL: ")


def test_connection_refused(closed_port: int) -> None:
    result = invoke(f"http://127.0.0.1:{closed_port}/")
    assert result.exit_code == 1
    output = lines(result.output)
    assert len(output) == 1
    assert output[0].startswith("ConnectError: ")
    assert "refused" in output[0].lower()


def test_illegal_header_value(server: Server) -> None:
    result = invoke(server.url, "-h", "X-Bad", "a\nb")
    assert result.exit_code == 1
    assert lines(result.output) == ["LocalProtocolError: Illegal header value b'a\\nb'"]


def test_invalid_json_is_a_usage_error(server: Server) -> None:
    result = invoke(server.url, "-j", "{bad")
    assert result.exit_code == 2
    assert "Invalid value for '--json' / '-j': Not valid JSON" in result.output


def test_invalid_proxy_is_a_usage_error(server: Server) -> None:
    result = invoke(server.url, "--proxy", "ftp://127.0.0.1:1")
    assert result.exit_code == 2
    assert "Invalid value for '--proxy'" in result.output


def test_missing_url_is_a_usage_error() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "Missing argument 'URL'" in result.output


# --------------------------------------------------------------------------- --download


def leftovers(directory: str) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".part"))


def test_download_large_file(server: Server, tmp_path: os.PathLike[str]) -> None:
    target = os.path.join(tmp_path, "big.bin")
    result = invoke(server.url + "bytes/5000000", "--download", target)
    assert result.exit_code == 0
    with open(target, "rb") as file:
        assert file.read() == expected_body(5_000_000)
    assert leftovers(str(tmp_path)) == []
    assert f"Downloading {target}" in result.output
    assert "\x1b" not in result.output


def test_download_streams_to_disk(
    big_file_server: CannedServer, tmp_path: os.PathLike[str]
) -> None:
    """The body goes to disk chunk by chunk: peak memory stays far below its 5 MiB.
    (The server sends from one 64 KiB buffer, so the peak is the client's.)"""
    target = os.path.join(tmp_path, "big.bin")
    tracemalloc.start()
    try:
        result = invoke(big_file_server.url, "--download", target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0
    with open(target, "rb") as file:
        for _ in range(BIG_REPEAT):
            assert file.read(len(BIG_CHUNK)) == BIG_CHUNK
        assert file.read() == b""
    assert peak < 1_500_000


def test_download_text(server: Server, tmp_path: os.PathLike[str]) -> None:
    target = os.path.join(tmp_path, "index.txt")
    result = invoke(server.url, "--download", target)
    assert result.exit_code == 0
    with open(target) as file:
        assert file.read() == "Hello, world!"
    assert "Hello, world!" not in result.output  # saved, not displayed


def test_failed_download_leaves_no_file(
    truncating_server: CannedServer, tmp_path: os.PathLike[str]
) -> None:
    target = os.path.join(tmp_path, "data.bin")
    result = invoke(truncating_server.url, "--download", target)
    assert result.exit_code == 1
    assert "RemoteProtocolError: " in result.output
    assert os.listdir(tmp_path) == []


def test_failed_download_keeps_existing_file(
    truncating_server: CannedServer, tmp_path: os.PathLike[str]
) -> None:
    target = os.path.join(tmp_path, "data.bin")
    with open(target, "wb") as file:
        file.write(b"previous")
    result = invoke(truncating_server.url, "--download", target)
    assert result.exit_code == 1
    with open(target, "rb") as file:
        assert file.read() == b"previous"
    assert leftovers(str(tmp_path)) == []


def test_download_of_error_response_is_not_saved(
    server: Server, tmp_path: os.PathLike[str]
) -> None:
    target = os.path.join(tmp_path, "missing.bin")
    result = invoke(server.url + "status/404", "--download", target)
    assert result.exit_code == 1
    assert f"Not saved to {target!r}: the response status is 404 Not Found." in result.output
    assert os.listdir(tmp_path) == []


def test_download_connection_refused_leaves_no_file(
    closed_port: int, tmp_path: os.PathLike[str]
) -> None:
    target = os.path.join(tmp_path, "x.bin")
    result = invoke(f"http://127.0.0.1:{closed_port}/", "--download", target)
    assert result.exit_code == 1
    assert lines(result.output)[0].startswith("ConnectError: ")
    assert os.listdir(tmp_path) == []


def test_download_into_missing_directory(server: Server, tmp_path: os.PathLike[str]) -> None:
    target = os.path.join(tmp_path, "nope", "x.bin")
    result = invoke(server.url, "--download", target)
    assert result.exit_code == 1
    assert f"Could not open file '{target}': No such file or directory" in result.output


def test_download_onto_a_directory_is_a_usage_error(
    server: Server, tmp_path: os.PathLike[str]
) -> None:
    result = invoke(server.url, "--download", str(tmp_path))
    assert result.exit_code == 2
    assert "is a directory" in result.output
