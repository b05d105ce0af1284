"""Every script in examples/ runs in a subprocess, exits 0, prints what it should, and writes
nothing to stderr (ResourceWarnings are shown, so a leaked socket fails the test)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

import rapidhttp

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


EXPECTED: dict[str, list[str]] = {
    # script: lines or fragments its output must contain
    "asgi_testing.py": [
        "GET /: 200 Hello World!",
        "app raised: something went wrong",
        "GET /error: 500",
        "GET /whoami: {'client': ['1.2.3.4', 123], 'root_path': '/api', 'path': '/whoami'}",
    ],
    "asgi_sse.py": [
        "content-type: text/event-stream",
        "app stopped after 3 events",
        "received: [1, 2, 3]",
    ],
    "wsgi_testing.py": [
        "GET /: 200 Hello World!",
        "streamed: ['line 0', 'line 1', 'line 2']",
        "app raised: something went wrong",
        "GET /error: 500",
        "GET /whoami: 1.2.3.4 /mount /whoami",
    ],
    "quickstart.py": [
        "<Response [200 OK]>",
        "status: 200 OK | type: application/json",
        "PATCH -> PATCH",
        "HEAD -> 200",
        "url query: key1=value1&key2=value2&key2=value3",
        "text: Hello, world! | content: b'Hello, world!' | encoding: utf-8",
        "sent user-agent: my-app/0.0.1",
        "form: {'key1': 'value1', 'key2': 'value2'}",
        "files: {'upload-file': 'a,b\\n1,2\\n'} | form: {'comment': 'hi'}",
        "json body: {'integer': 123, 'list': ['a', 'b']}",
        "raw body: Hello, world",
        "404 is codes.NOT_FOUND: True",
        "raise_for_status: HTTPStatusError 404",
        "lines: ['{\"id\": 0}', '{\"id\": 1}', '{\"id\": 2}']",
        "cookies sent: {'peanut': 'butter'}",
        "redirect: 302 /redirect/1",
        "followed: 200 /anything [302, 302]",
        "timeout: ReadTimeout",
        "auth: 200 {'authenticated': True, 'user': 'alice'}",
        "request error: ConnectError for http://127.0.0.1:1/",
    ],
    "client.py": [
        "merged params: client_id=client1&request_id=request1",
        "headers: from-client from-request",
        "request-level auth: 200 alice",
        "sent X-Client-ID: ABC123 | X-Api-Key sent: False",
        "hook: request GET /json",
        "hook: response 200 for /json",
        "downloaded 300000 of 300000 bytes",
        "uploaded 4096 bytes, server got 4096",
        "multipart: multipart/form-data",
    ],
    "async_basics.py": [
        "<Response [200 OK]>",
        "post: {'hello': 'world'}",
        "request: PUT data",
        "text: Hello, world!",
        "closed: True",
    ],
    "async_concurrency.py": [
        "statuses: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]",
        "10 x 0.2 s requests took less than 1 s: True",
        "in order: ['0', '1', '2', '3', '4']",
    ],
    "async_streaming.py": [
        "chunk sizes: [4096, 4096, 1808]",
        "lines: ['{\"id\": 0}', '{\"id\": 1}', '{\"id\": 2}']",
        "read: Hello, world!",
        "manual: '{\"id\": 0}\\n{\"id\": 1}\\n'",
        "uploaded: streamed request body",
    ],
    "async_config.py": [
        "timeout: Timeout(connect=2.0, read=5.0, write=5.0, pool=5.0)",
        "auth: 200 {'authenticated': True, 'user': 'alice'}",
        "user-agent: examples/1.0",
        "/json: ok 200",
        "/status/404: HTTP error 404 for /status/404",
        "/status/503: HTTP error 503 for /status/503",
        "/delay/1: ReadTimeout while requesting /delay/1",
    ],
    "async_trio.py": ["trio results: {'/': 200, '/json': 200, '/status/204': 204}"],
    "asgi_shared_client.py": [
        "summaries: {'upstream_status': 200, 'message': 'Hello, world!', "
        "'fast': True, 'answer': 42} x 3",
        "streamed: application/x-ndjson ['{\"id\": 0}', '{\"id\": 1}', '{\"id\": 2}']",
        "missing: 404",
        "shared client closed: True",
    ],
    "demo.py": [
        f"rapidhttp {rapidhttp.__version__} demo",
        '"answer": 42',
        "* Following redirect to ",
        "saved 50,000,000 bytes",
        "sync: rapidhttp.Client",
        "async: rapidhttp.AsyncClient (asyncio)",
        "GET /redirect/3 -> 200 at /anything after 3 redirects",
        "streamed 1,000,000 bytes in",
        "200 requests,",
        "20 requests of 0.2 s each, together in",
        "server stopped, done.",
    ],
}


def test_every_example_is_checked() -> None:
    scripts = {path.name for path in EXAMPLES.glob("*.py")} - {"local_server.py"}
    assert scripts == set(EXPECTED)


@pytest.mark.parametrize("script", list(EXPECTED))
def test_example(script: str) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "default::ResourceWarning", str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for expected in EXPECTED[script]:
        assert expected in result.stdout
