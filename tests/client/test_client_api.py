"""The top-level functions, and Client against a real server on 127.0.0.1."""

from __future__ import annotations

import inspect
import typing

import pytest

import rapidhttp


@pytest.mark.parametrize("method", ["get", "options", "head", "delete"])
def test_verbs_without_body(server: typing.Any, method: str) -> None:
    response = getattr(rapidhttp, method)(server.url + "echo_method")
    assert response.status_code == 200
    assert response.request.method == method.upper()


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_verbs_with_body(server: typing.Any, method: str) -> None:
    response = getattr(rapidhttp, method)(server.url + "echo_body", content=b"payload")
    assert response.content == b"payload"


def test_request(server: typing.Any) -> None:
    response = rapidhttp.request("GET", server.url + "json", params={"a": "1"})
    assert response.json() == {"Hello": "world!"}
    assert response.url == server.url + "json?a=1"


def test_stream(server: typing.Any) -> None:
    with rapidhttp.stream("GET", server.url + "stream/3") as response:
        chunks = list(response.iter_bytes())
    assert b"".join(chunks)
    assert response.is_closed


def test_follow_redirects(server: typing.Any) -> None:
    response = rapidhttp.get(server.url + "redirect_301", follow_redirects=True)
    assert response.status_code == 200
    assert response.history[0].status_code == 301


def test_connect_error_has_request() -> None:
    # Port 1 on loopback: nothing listens there.
    with pytest.raises(rapidhttp.ConnectError) as info:
        rapidhttp.get("http://127.0.0.1:1/", timeout=2.0)
    assert info.value.request.url == "http://127.0.0.1:1/"


def test_signatures_match_httpx() -> None:
    parameters = inspect.signature(rapidhttp.request).parameters
    assert list(parameters) == [
        "method",
        "url",
        "params",
        "content",
        "data",
        "files",
        "json",
        "headers",
        "cookies",
        "auth",
        "proxy",
        "timeout",
        "follow_redirects",
        "verify",
        "trust_env",
        "proxies",  # httpx 0.27's, deprecated
    ]
    assert "cert" not in inspect.signature(rapidhttp.get).parameters
    # httpx 0.28's 19 options, then httpx 0.27's deprecated `app` and `proxies`.
    assert list(inspect.signature(rapidhttp.Client).parameters) == [
        "auth",
        "params",
        "headers",
        "cookies",
        "verify",
        "cert",
        "trust_env",
        "http1",
        "http2",
        "proxy",
        "mounts",
        "timeout",
        "follow_redirects",
        "limits",
        "max_redirects",
        "event_hooks",
        "base_url",
        "transport",
        "default_encoding",
        "app",
        "proxies",
    ]


def test_client_against_server(server: typing.Any) -> None:
    with rapidhttp.Client(base_url=server.url, headers={"X-Test": "1"}) as client:
        echoed = client.get("/echo_headers").json()
        assert echoed["x-test"] == "1"
        assert echoed["user-agent"] == f"python-rapidhttp/{rapidhttp.__version__}"
        response = client.get("/status/404")
        with pytest.raises(rapidhttp.HTTPStatusError, match="404 Not Found"):
            response.raise_for_status()
        with client.stream("GET", "/bytes/1000") as streamed:
            assert len(streamed.read()) == 1000
        assert streamed.elapsed.total_seconds() > 0
