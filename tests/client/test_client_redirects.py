"""Redirect following: methods, Location edge cases, credentials, cookies, limits."""

from __future__ import annotations

import typing

import pytest
from client_apps import body, redirect_app

import rapidhttp


def redirect(status: int, location: str) -> str:
    return str(
        rapidhttp.URL(
            "https://example.org/redirect", params={"status": status, "location": location}
        )
    )


def test_not_followed_by_default(redirect_client: rapidhttp.Client) -> None:
    response = redirect_client.get(redirect(302, "/echo"))
    assert response.status_code == 302
    assert response.next_request is not None
    assert response.next_request.url == "https://example.org/echo"
    followed = redirect_client.send(response.next_request)
    assert followed.status_code == 200


def test_followed_with_history(redirect_client: rapidhttp.Client) -> None:
    response = redirect_client.get(redirect(301, "/echo"), follow_redirects=True)
    assert response.status_code == 200
    assert response.url == "https://example.org/echo"
    assert [r.status_code for r in response.history] == [301]
    assert response.history[0].is_closed
    assert response.next_request is None


@pytest.mark.parametrize(
    ("status", "method", "expected"),
    [
        (301, "POST", "GET"),
        (301, "PUT", "PUT"),
        (302, "POST", "GET"),
        (302, "HEAD", "HEAD"),
        (303, "PUT", "GET"),
        (303, "HEAD", "HEAD"),
        (307, "POST", "POST"),
        (308, "POST", "POST"),
    ],
)
def test_method_rewriting(
    redirect_client: rapidhttp.Client, status: int, method: str, expected: str
) -> None:
    response = redirect_client.request(
        method, redirect(status, "/echo"), content=b"payload", follow_redirects=True
    )
    request = response.request
    assert request.method == expected
    if expected == method:
        assert request.content == b"payload"
        assert request.headers.get("content-length") == "7"
    else:
        # The body, and the headers describing it, are dropped when the method changes.
        assert request.content == b""
        assert "content-length" not in request.headers


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/echo", "https://example.org/echo"),
        ("echo?x=1", "https://example.org/echo?x=1"),
        ("//other.org/echo", "https://other.org/echo"),
        ("https:///echo", "https://example.org/echo"),
        ("http://other.org:8080/echo", "http://other.org:8080/echo"),
    ],
)
def test_location_forms(redirect_client: rapidhttp.Client, location: str, expected: str) -> None:
    response = redirect_client.get(redirect(302, location))
    assert response.next_request is not None
    assert response.next_request.url == expected


def test_fragment_carried_over(redirect_client: rapidhttp.Client) -> None:
    response = redirect_client.get(redirect(302, "/echo") + "#frag")
    assert response.next_request is not None
    assert response.next_request.url.fragment == "frag"


def test_non_ascii_location() -> None:
    def app(request: rapidhttp.Request) -> rapidhttp.Response:
        return rapidhttp.Response(302, headers=[(b"Location", "/caf\u00e9".encode())])

    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        response = client.get("https://example.org/")
    assert response.next_request is not None
    assert response.next_request.url == "https://example.org/caf%C3%A9"


def test_invalid_location(redirect_client: rapidhttp.Client) -> None:
    with pytest.raises(
        rapidhttp.RemoteProtocolError,
        match=r"^Invalid URL in location header: Invalid port: 'abc'\.$",
    ) as info:
        redirect_client.get(redirect(302, "https://example.org:abc/"), follow_redirects=True)
    assert info.value.request.url.path == "/redirect"


def test_redirect_without_location_is_a_response(redirect_client: rapidhttp.Client) -> None:
    response = redirect_client.get("/no_location", follow_redirects=True)
    assert response.status_code == 302
    assert response.next_request is None


def test_too_many_redirects(redirect_client: rapidhttp.Client) -> None:
    with pytest.raises(
        rapidhttp.TooManyRedirects, match="Exceeded maximum allowed redirects."
    ) as info:
        redirect_client.get("/loop", follow_redirects=True)
    assert info.value.request.url == "https://example.org/loop"


def test_max_redirects_setting() -> None:
    with rapidhttp.Client(
        transport=rapidhttp.MockTransport(redirect_app),
        base_url="https://example.org",
        max_redirects=2,
        follow_redirects=True,
    ) as client:
        with pytest.raises(rapidhttp.TooManyRedirects):
            client.get("/loop")
        client.max_redirects = 0
        inner = redirect(302, "/echo")
        with pytest.raises(rapidhttp.TooManyRedirects):
            client.get(inner)


@pytest.mark.parametrize(
    ("location", "kept"),
    [
        ("https://example.org/echo", True),  # same origin
        ("https://example.org:443/echo", True),  # same origin, explicit default port
        ("https://other.org/echo", False),  # other host
        ("https://example.org:8443/echo", False),  # other port
        ("http://example.org/echo", False),  # https -> http downgrade
    ],
)
def test_authorization_header_on_redirect(
    redirect_client: rapidhttp.Client, location: str, kept: bool
) -> None:
    response = redirect_client.get(
        redirect(302, location), headers={"Authorization": "secret"}, follow_redirects=True
    )
    assert ("authorization" in body(response)["headers"]) is kept


def test_authorization_kept_on_https_upgrade() -> None:
    with rapidhttp.Client(transport=rapidhttp.MockTransport(redirect_app)) as client:
        url = rapidhttp.URL(
            "http://example.org/redirect",
            params={"status": 301, "location": "https://example.org/echo"},
        )
        response = client.get(url, headers={"Authorization": "secret"}, follow_redirects=True)
    assert body(response)["headers"]["authorization"] == "secret"


def test_host_header_updated_cross_origin(redirect_client: rapidhttp.Client) -> None:
    response = redirect_client.get(
        redirect(302, "https://other.org:8443/echo"), follow_redirects=True
    )
    assert body(response)["headers"]["host"] == "other.org:8443"


def test_cookies_from_redirect_are_sent(redirect_client: rapidhttp.Client) -> None:
    response = redirect_client.get("/set_cookie_and_redirect", follow_redirects=True)
    assert body(response)["headers"]["cookie"] == "session=abc"
    assert redirect_client.cookies["session"] == "abc"


def test_stale_cookie_header_not_replayed(redirect_client: rapidhttp.Client) -> None:
    response = redirect_client.get(
        redirect(302, "https://other.org/echo"),
        headers={"Cookie": "manual=1"},
        follow_redirects=True,
    )
    assert "cookie" not in body(response)["headers"]


class ConsumingTransport(rapidhttp.BaseTransport):
    """Iterates the request stream as a network transport would (without buffering it)."""

    def handle_request(self, request: rapidhttp.Request) -> rapidhttp.Response:
        for _ in request.stream:  # type: ignore[union-attr]
            pass
        return redirect_app(request)


def test_streaming_body_cannot_be_replayed_on_307() -> None:
    def chunks() -> typing.Iterator[bytes]:
        yield b"data"

    with rapidhttp.Client(transport=ConsumingTransport()) as client:
        with pytest.raises(rapidhttp.StreamConsumed):
            client.post(redirect(307, "/echo"), content=chunks(), follow_redirects=True)


def test_redirect_headers_helper() -> None:
    client = rapidhttp.Client()
    request = client.build_request(
        "POST", "https://example.org/", headers={"Authorization": "a"}, content=b"x"
    )
    headers = client._redirect_headers(request, rapidhttp.URL("https://other.org/"), "GET")
    assert "authorization" not in headers
    assert "content-length" not in headers
    assert headers["host"] == "other.org"
