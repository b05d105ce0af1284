"""Client construction, configuration merging, state rules and response binding (sync)."""

from __future__ import annotations

import datetime
import logging
import typing

import pytest
from client_apps import body, echo_app

import rapidhttp
from rapidhttp import __version__


def test_default_headers(echo_client: rapidhttp.Client) -> None:
    headers = body(echo_client.get("http://example.org/"))["headers"]
    assert headers == {
        "host": "example.org",
        "accept": "*/*",
        "accept-encoding": "gzip, deflate, br, zstd",
        "connection": "keep-alive",
        "user-agent": f"python-rapidhttp/{__version__}",
    }


def test_client_and_request_headers_merge(echo_client: rapidhttp.Client) -> None:
    echo_client.headers = {"X-Client": "1", "Accept": "application/json"}
    headers = body(echo_client.get("http://example.org/", headers={"X-Request": "2"}))["headers"]
    assert headers["x-client"] == "1"
    assert headers["x-request"] == "2"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"] == f"python-rapidhttp/{__version__}"


def test_mutating_client_headers_is_seen_by_next_request(echo_client: rapidhttp.Client) -> None:
    echo_client.get("http://example.org/")
    echo_client.headers["X-Later"] = "yes"
    assert body(echo_client.get("http://example.org/"))["headers"]["x-later"] == "yes"


def test_base_url_joining() -> None:
    client = rapidhttp.Client(base_url="https://example.org/api")
    assert client.base_url == "https://example.org/api/"
    assert client.build_request("GET", "/users").url == "https://example.org/api/users"
    assert client.build_request("GET", "users?a=1").url == "https://example.org/api/users?a=1"
    assert client.build_request("GET", "https://other.org/x").url == "https://other.org/x"
    # A cached join must follow a base_url change.
    client.base_url = "https://example.net"
    assert client.build_request("GET", "/users").url == "https://example.net/users"


def test_params_merge_and_replace_query() -> None:
    client = rapidhttp.Client(params={"client": "1"})
    request = client.build_request("GET", "https://example.org/?a=1", params={"b": "2"})
    # httpx 0.28: request params replace the URL's own query string.
    assert request.url.params == rapidhttp.QueryParams({"client": "1", "b": "2"})
    request = client.build_request("GET", "https://example.org/", params={"client": "2"})
    assert request.url.params == rapidhttp.QueryParams({"client": "2"})
    # ... and so do the client's params, as in httpx 0.28.
    assert client.build_request("GET", "https://example.org/?a=1").url.query == b"client=1"
    plain = rapidhttp.Client()
    assert plain.build_request("GET", "https://example.org/?a=1").url.query == b"a=1"


def test_timeout_in_extensions() -> None:
    client = rapidhttp.Client(timeout=3.0)
    request = client.build_request("GET", "https://example.org/")
    assert request.extensions["timeout"] == rapidhttp.Timeout(3.0).as_dict()
    request = client.build_request("GET", "https://example.org/", timeout=None)
    assert request.extensions["timeout"] == rapidhttp.Timeout(None).as_dict()
    request = client.build_request(
        "GET", "https://example.org/", extensions={"timeout": {"read": 1}}
    )
    assert request.extensions["timeout"] == {"read": 1}
    # Requests don't share a mutable timeout dict with the client.
    request.extensions["timeout"]["read"] = 99
    assert client.build_request("GET", "https://example.org/").extensions["timeout"]["read"] == 3.0


def test_send_sets_timeout_on_bare_request(echo_client: rapidhttp.Client) -> None:
    request = rapidhttp.Request("GET", "http://example.org/")
    response = echo_client.send(request)
    assert response.request.extensions["timeout"] == rapidhttp.Timeout(5.0).as_dict()


def test_use_client_default() -> None:
    assert isinstance(rapidhttp.USE_CLIENT_DEFAULT, rapidhttp._client.UseClientDefault)


def test_per_request_cookies_deprecated(echo_client: rapidhttp.Client) -> None:
    with pytest.warns(DeprecationWarning, match="per-request cookies"):
        response = echo_client.get("http://example.org/", cookies={"a": "1"})
    assert body(response)["headers"]["cookie"] == "a=1"


def test_client_cookies_sent_and_persisted() -> None:
    def app(request: rapidhttp.Request) -> rapidhttp.Response:
        if request.url.path == "/set":
            return rapidhttp.Response(200, headers={"Set-Cookie": "token=xyz; path=/"})
        return echo_app(request)

    with rapidhttp.Client(
        transport=rapidhttp.MockTransport(app), cookies={"static": "1"}
    ) as client:
        assert body(client.get("http://example.org/"))["headers"]["cookie"] == "static=1"
        client.get("http://example.org/set")
        assert client.cookies["token"] == "xyz"
        cookie = body(client.get("http://example.org/"))["headers"]["cookie"]
        assert sorted(cookie.split("; ")) == ["static=1", "token=xyz"]
        client.cookies = {}
        assert "cookie" not in body(client.get("http://example.org/"))["headers"]


def test_properties_and_setters() -> None:
    client = rapidhttp.Client()
    assert client.timeout == rapidhttp.Timeout(5.0)
    client.timeout = 1.0
    assert client.timeout == rapidhttp.Timeout(1.0)
    assert client.auth is None
    client.auth = ("user", "pass")
    assert isinstance(client.auth, rapidhttp.BasicAuth)
    client.params = {"a": "1"}
    assert client.params == rapidhttp.QueryParams("a=1")
    client.cookies = {"c": "1"}
    assert client.cookies["c"] == "1"
    assert client.trust_env is True
    assert client.follow_redirects is False
    assert client.max_redirects == 20
    assert client.event_hooks == {"request": [], "response": []}
    client.event_hooks = {"request": [print]}
    assert client.event_hooks == {"request": [print], "response": []}
    client.close()


def test_invalid_auth_argument() -> None:
    with pytest.raises(TypeError, match='Invalid "auth" argument: 123'):
        rapidhttp.Client(auth=123)  # type: ignore[arg-type]


def test_state_rules() -> None:
    client = rapidhttp.Client(transport=rapidhttp.MockTransport(echo_app))
    assert not client.is_closed
    with client:
        with pytest.raises(RuntimeError, match="Cannot open a client instance more than once."):
            with client:
                pass  # pragma: no cover
    assert client.is_closed
    with pytest.raises(
        RuntimeError, match="Cannot reopen a client instance, once it has been closed."
    ):
        with client:
            pass  # pragma: no cover
    with pytest.raises(
        RuntimeError, match="Cannot send a request, as the client has been closed."
    ):
        client.get("http://example.org/")


def test_close_closes_transport_and_mounts() -> None:
    closed = []

    class Transport(rapidhttp.MockTransport):
        def close(self) -> None:
            closed.append(self)

    default, mounted = Transport(echo_app), Transport(echo_app)
    client = rapidhttp.Client(transport=default, mounts={"https://": mounted, "http://x": None})
    client.get("http://example.org/")
    client.close()
    client.close()  # a second close is a no-op
    assert closed == [default, mounted]


def test_async_stream_with_sync_client_raises(echo_client: rapidhttp.Client) -> None:
    async def content() -> typing.AsyncIterator[bytes]:
        yield b"data"  # pragma: no cover

    with pytest.raises(
        RuntimeError, match="Attempted to send an async request with a sync Client instance."
    ):
        echo_client.post("http://example.org/", content=content())


def test_stream_context_manager(echo_client: rapidhttp.Client) -> None:
    with echo_client.stream("GET", "http://example.org/") as response:
        assert not response.is_closed or response.is_stream_consumed
        data = response.read()
    assert response.is_closed
    assert b'"method":"GET"' in data


def test_response_binding(echo_client: rapidhttp.Client) -> None:
    echo_client_with_encoding = rapidhttp.Client(
        transport=rapidhttp.MockTransport(
            lambda request: rapidhttp.Response(200, content="é".encode("latin-1"))
        ),
        default_encoding="latin-1",
    )
    response = echo_client_with_encoding.get("http://example.org/")
    assert response.text == "é"
    assert response.request.url == "http://example.org/"
    echo_client_with_encoding.close()


def test_elapsed_set_when_stream_closes() -> None:
    def app(request: rapidhttp.Request) -> rapidhttp.Response:
        return rapidhttp.Response(200, content=iter([b"a", b"b"]))

    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        with client.stream("GET", "http://example.org/") as response:
            with pytest.raises(RuntimeError):
                response.elapsed  # noqa: B018
            assert response.read() == b"ab"
        assert isinstance(response.elapsed, datetime.timedelta)
        assert response.elapsed.total_seconds() >= 0


def test_transport_errors_get_request_attached() -> None:
    def app(request: rapidhttp.Request) -> rapidhttp.Response:
        raise rapidhttp.ConnectError("boom")

    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        with pytest.raises(rapidhttp.ConnectError, match="boom") as info:
            client.get("http://example.org/path")
    assert info.value.request.url == "http://example.org/path"


def test_decoding_error_has_request() -> None:
    def app(request: rapidhttp.Request) -> rapidhttp.Response:
        return rapidhttp.Response(
            200, headers={"Content-Encoding": "gzip"}, content=iter([b"not gzip"])
        )

    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        with pytest.raises(rapidhttp.DecodingError) as info:
            client.get("http://example.org/")
    assert info.value.request.url == "http://example.org/"


def test_logging(caplog: pytest.LogCaptureFixture, echo_client: rapidhttp.Client) -> None:
    caplog.set_level(logging.INFO, logger="rapidhttp")
    echo_client.get("http://example.org/path")
    assert caplog.record_tuples == [
        ("rapidhttp", logging.INFO, 'HTTP Request: GET http://example.org/path "HTTP/1.1 200 OK"')
    ]


def test_no_logging_when_disabled(
    caplog: pytest.LogCaptureFixture, echo_client: rapidhttp.Client
) -> None:
    caplog.set_level(logging.WARNING, logger="rapidhttp")
    echo_client.get("http://example.org/path")
    assert caplog.record_tuples == []


def test_event_hooks_order_and_errors() -> None:
    events: list[str] = []

    def on_request(request: rapidhttp.Request) -> None:
        events.append(f"request {request.url.path}")

    def on_response(response: rapidhttp.Response) -> None:
        events.append(f"response {response.status_code}")

    def app(request: rapidhttp.Request) -> rapidhttp.Response:
        if request.url.path == "/start":
            return rapidhttp.Response(302, headers={"Location": "/end"})
        if request.url.path == "/missing":
            return rapidhttp.Response(404)
        return rapidhttp.Response(200)

    hooks: dict[str, list[typing.Callable[..., None]]] = {
        "request": [on_request],
        "response": [on_response],
    }
    with rapidhttp.Client(
        transport=rapidhttp.MockTransport(app), event_hooks=hooks, follow_redirects=True
    ) as client:
        client.get("http://example.org/start")
        assert events == ["request /start", "response 302", "request /end", "response 200"]

        def raise_on_status(response: rapidhttp.Response) -> None:
            response.raise_for_status()

        client.event_hooks = {"response": [raise_on_status]}
        client.get("http://example.org/end")
        with pytest.raises(rapidhttp.HTTPStatusError, match="404 Not Found"):
            client.get("http://example.org/missing")


def test_response_hook_exception_closes_response() -> None:
    seen: list[rapidhttp.Response] = []

    def hook(response: rapidhttp.Response) -> None:
        seen.append(response)
        raise ValueError("hook failed")

    with rapidhttp.Client(
        transport=rapidhttp.MockTransport(echo_app), event_hooks={"response": [hook]}
    ) as client:
        with pytest.raises(ValueError, match="hook failed"):
            client.get("http://example.org/")
    assert seen[0].is_closed


def test_http2_flag_accepted() -> None:
    rapidhttp.Client(http2=True).close()


@pytest.mark.parametrize("method", ["get", "options", "head", "delete"])
def test_verbs_without_body(echo_client: rapidhttp.Client, method: str) -> None:
    response = getattr(echo_client, method)("http://example.org/")
    assert response.status_code == 200
    assert response.request.method == method.upper()


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_verbs_with_body(echo_client: rapidhttp.Client, method: str) -> None:
    response = getattr(echo_client, method)("http://example.org/", json={"a": 1})
    assert body(response)["body"] == '{"a":1}'
    assert body(response)["method"] == method.upper()


def test_hot_path_skips_unused_machinery(
    monkeypatch: pytest.MonkeyPatch, echo_client: rapidhttp.Client
) -> None:
    def unexpected(*args: object, **kwargs: object) -> typing.NoReturn:
        raise AssertionError("called on the hot path")

    # No Set-Cookie, no auth, logging off: none of this machinery may run.
    monkeypatch.setattr(rapidhttp.Cookies, "extract_cookies", unexpected)
    monkeypatch.setattr(rapidhttp.Auth, "sync_auth_flow", unexpected)
    monkeypatch.setattr(logging.getLogger("rapidhttp"), "info", unexpected)
    logging.getLogger("rapidhttp").setLevel(logging.WARNING)
    try:
        assert echo_client.get("http://example.org/").status_code == 200
    finally:
        logging.getLogger("rapidhttp").setLevel(logging.NOTSET)


def test_url_cache_is_bounded(echo_client: rapidhttp.Client) -> None:
    for index in range(600):
        echo_client.build_request("GET", f"http://example.org/{index}")
    assert 0 < len(echo_client._url_cache) <= 256
