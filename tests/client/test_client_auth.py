"""Auth schemes and the auth-flow driver (sync; the async side is in test_async_client.py)."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from client_apps import DigestApp, body, echo_app

import rapidhttp


def test_basic_auth_tuple(echo_client: rapidhttp.Client) -> None:
    response = echo_client.get("http://example.org/", auth=("user", "pass"))
    assert body(response)["headers"]["authorization"] == "Basic dXNlcjpwYXNz"


def test_basic_auth_on_client() -> None:
    with rapidhttp.Client(
        transport=rapidhttp.MockTransport(echo_app), auth=rapidhttp.BasicAuth(b"user", b"pass")
    ) as client:
        assert body(client.get("http://example.org/"))["headers"]["authorization"] == (
            "Basic dXNlcjpwYXNz"
        )
        # auth=None disables the client's auth for one request.
        assert "authorization" not in body(client.get("http://example.org/", auth=None))["headers"]


def test_url_userinfo_becomes_basic_auth(echo_client: rapidhttp.Client) -> None:
    response = echo_client.get("http://user:pass@example.org/")
    assert body(response)["headers"]["authorization"] == "Basic dXNlcjpwYXNz"


def test_function_auth(echo_client: rapidhttp.Client) -> None:
    def sign(request: rapidhttp.Request) -> rapidhttp.Request:
        request.headers["X-Signature"] = request.method
        return request

    assert body(echo_client.get("http://example.org/", auth=sign))["headers"]["x-signature"] == (
        "GET"
    )


def test_netrc_auth(tmp_path: Path, echo_client: rapidhttp.Client) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine example.org\nlogin user\npassword pass\n")
    netrc.chmod(0o600)
    auth = rapidhttp.NetRCAuth(file=str(netrc))
    response = echo_client.get("http://example.org/", auth=auth)
    assert body(response)["headers"]["authorization"] == "Basic dXNlcjpwYXNz"
    response = echo_client.get("http://other.org/", auth=auth)
    assert "authorization" not in body(response)["headers"]


def test_netrc_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        rapidhttp.NetRCAuth(file=str(tmp_path / "missing"))


@pytest.mark.parametrize(
    "algorithm",
    ["MD5", "MD5-SESS", "SHA", "SHA-SESS", "SHA-256", "SHA-256-SESS", "SHA-512", "SHA-512-SESS"],
)
def test_digest_algorithms(algorithm: str) -> None:
    app = DigestApp(algorithm=algorithm)
    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        response = client.get(
            "http://example.org/path?q=1", auth=rapidhttp.DigestAuth("user", "pass")
        )
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert 'uri="/path?q=1"' in response.request.headers["Authorization"]


def test_digest_rfc_2069() -> None:
    app = DigestApp(qop=None)
    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        response = client.get("http://example.org/", auth=rapidhttp.DigestAuth("user", "pass"))
    assert response.status_code == 200
    assert "nc=" not in response.request.headers["Authorization"]


def test_digest_reuses_challenge_and_counts_nonces() -> None:
    app = DigestApp()
    auth = rapidhttp.DigestAuth("user", "pass")
    with rapidhttp.Client(transport=rapidhttp.MockTransport(app), auth=auth) as client:
        client.get("http://example.org/")
        second = client.get("http://example.org/")
    # The second request authenticates up front: no 401 round trip.
    assert second.history == []
    assert len(app.requests) == 3
    assert "nc=00000002" in app.requests[2].headers["Authorization"]


def test_digest_carries_cookies_of_the_challenge() -> None:
    app = DigestApp(set_cookie=True)
    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        response = client.get("http://example.org/", auth=rapidhttp.DigestAuth("user", "pass"))
    assert body(response)["headers"]["cookie"] == "digest-session=1"


def test_digest_auth_int_not_implemented() -> None:
    app = DigestApp(qop="auth-int")
    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        with pytest.raises(NotImplementedError, match="Digest auth-int support"):
            client.get("http://example.org/", auth=rapidhttp.DigestAuth("user", "pass"))


def test_digest_unknown_qop() -> None:
    app = DigestApp(qop="bogus")
    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        with pytest.raises(rapidhttp.ProtocolError, match="Unexpected qop value \"b'bogus'\""):
            client.get("http://example.org/", auth=rapidhttp.DigestAuth("user", "pass"))


def test_digest_malformed_challenge() -> None:
    def app(request: rapidhttp.Request) -> rapidhttp.Response:
        return rapidhttp.Response(401, headers={"WWW-Authenticate": 'Digest realm="x"'})

    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        with pytest.raises(rapidhttp.ProtocolError, match="Malformed Digest WWW-Authenticate"):
            client.get("http://example.org/", auth=rapidhttp.DigestAuth("user", "pass"))


def test_digest_ignores_other_challenges() -> None:
    def app(request: rapidhttp.Request) -> rapidhttp.Response:
        return rapidhttp.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        response = client.get("http://example.org/", auth=rapidhttp.DigestAuth("user", "pass"))
    assert response.status_code == 401
    assert response.history == []


def test_digest_deterministic_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rapidhttp.DigestAuth, "_get_client_nonce", lambda self, nc, n: b"cn")
    app = DigestApp()
    with rapidhttp.Client(transport=rapidhttp.MockTransport(app)) as client:
        response = client.get("http://example.org/", auth=rapidhttp.DigestAuth("user", "pass"))
    header = response.request.headers["Authorization"]
    assert header.startswith('Digest username="user", realm="api@example.org", nonce="n0nce", ')
    assert header.endswith('algorithm=MD5, opaque="0paque", qop=auth, nc=00000001, cnonce="cn"')


class RepeatAuth(rapidhttp.Auth):
    """Sends the request `count` times, reading each response body."""

    requires_response_body = True

    def __init__(self, count: int) -> None:
        self.count = count

    def auth_flow(
        self, request: rapidhttp.Request
    ) -> typing.Generator[rapidhttp.Request, rapidhttp.Response, None]:
        for index in range(self.count):
            request.headers["X-Attempt"] = str(index)
            response = yield request
            assert response.content  # requires_response_body: already read


def test_multi_step_flow_history(echo_client: rapidhttp.Client) -> None:
    response = echo_client.get("http://example.org/", auth=RepeatAuth(3))
    assert body(response)["headers"]["x-attempt"] == "2"
    assert len(response.history) == 2
    assert all(r.is_closed for r in response.history)


def test_auth_flow_exception_propagates_and_closes(echo_client: rapidhttp.Client) -> None:
    responses: list[rapidhttp.Response] = []

    class Failing(rapidhttp.Auth):
        def auth_flow(
            self, request: rapidhttp.Request
        ) -> typing.Generator[rapidhttp.Request, rapidhttp.Response, None]:
            response = yield request
            responses.append(response)
            raise ValueError("flow failed")

    with pytest.raises(ValueError, match="flow failed"):
        echo_client.get("http://example.org/", auth=Failing())
    assert responses[0].is_closed


def test_requires_request_body(echo_client: rapidhttp.Client) -> None:
    class BodySigning(rapidhttp.Auth):
        requires_request_body = True

        def auth_flow(
            self, request: rapidhttp.Request
        ) -> typing.Generator[rapidhttp.Request, rapidhttp.Response, None]:
            request.headers["X-Body-Length"] = str(len(request.content))
            yield request

    def chunks() -> typing.Iterator[bytes]:
        yield b"abc"
        yield b"de"

    response = echo_client.post("http://example.org/", content=chunks(), auth=BodySigning())
    assert body(response)["headers"]["x-body-length"] == "5"


def test_sync_auth_flow_override(echo_client: rapidhttp.Client) -> None:
    class SyncOnly(rapidhttp.Auth):
        def sync_auth_flow(
            self, request: rapidhttp.Request
        ) -> typing.Generator[rapidhttp.Request, rapidhttp.Response, None]:
            request.headers["X-Sync"] = "1"
            yield request

    assert (
        body(echo_client.get("http://example.org/", auth=SyncOnly()))["headers"]["x-sync"] == "1"
    )


def test_auth_sub_requests_fire_hooks() -> None:
    seen: list[int] = []
    app = DigestApp()
    with rapidhttp.Client(
        transport=rapidhttp.MockTransport(app),
        event_hooks={"response": [lambda response: seen.append(response.status_code)]},
    ) as client:
        client.get("http://example.org/", auth=rapidhttp.DigestAuth("user", "pass"))
    assert seen == [401, 200]


def test_empty_url_userinfo_sends_no_auth(echo_client: rapidhttp.Client) -> None:
    response = echo_client.get("http://:@example.org/")
    assert "authorization" not in body(response)["headers"]
