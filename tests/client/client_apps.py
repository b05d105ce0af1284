"""In-process apps for the client tests, served through MockTransport."""

from __future__ import annotations

import hashlib
import json
import typing

import rapidhttp


def echo_app(request: rapidhttp.Request) -> rapidhttp.Response:
    """Answers with what it received: method, URL, headers and body, as JSON."""
    return rapidhttp.Response(
        200,
        json={
            "method": request.method,
            "url": str(request.url),
            "headers": dict(request.headers),
            "body": request.content.decode("latin-1"),
        },
    )


def redirect_app(request: rapidhttp.Request) -> rapidhttp.Response:
    """Routes for the redirect tests. `/redirect?status=N&location=L` redirects to L with N."""
    path = request.url.path
    if path == "/redirect":
        status = int(request.url.params.get("status", "302"))
        location = request.url.params["location"]
        return rapidhttp.Response(status, headers={"Location": location})
    if path == "/loop":
        return rapidhttp.Response(302, headers={"Location": "/loop"})
    if path == "/set_cookie_and_redirect":
        return rapidhttp.Response(
            302, headers=[("Location", "/echo"), ("Set-Cookie", "session=abc; path=/")]
        )
    if path == "/no_location":
        return rapidhttp.Response(302)
    return echo_app(request)


def body(response: rapidhttp.Response) -> dict[str, typing.Any]:
    return typing.cast(dict[str, typing.Any], json.loads(response.content))


class DigestApp:
    """A digest-protected endpoint: 401 with a challenge unless the Authorization header is
    a correct answer to it (qop=auth, or RFC 2069 when `qop` is None)."""

    def __init__(
        self, algorithm: str = "MD5", qop: str | None = "auth", set_cookie: bool = False
    ) -> None:
        self.algorithm = algorithm
        self.qop = qop
        self.set_cookie = set_cookie
        self.requests: list[rapidhttp.Request] = []

    def challenge(self) -> str:
        fields = ['realm="api@example.org"', 'nonce="n0nce"', 'opaque="0paque"']
        fields.append(f"algorithm={self.algorithm}")
        if self.qop is not None:
            fields.append(f'qop="{self.qop}"')
        return "Digest " + ", ".join(fields)

    def __call__(self, request: rapidhttp.Request) -> rapidhttp.Response:
        self.requests.append(request)
        auth = request.headers.get("Authorization")
        if auth is None or not self.valid(request, auth):
            headers = [("WWW-Authenticate", self.challenge())]
            if self.set_cookie:
                headers.append(("Set-Cookie", "digest-session=1; path=/"))
            return rapidhttp.Response(401, headers=headers)
        return echo_app(request)

    def valid(self, request: rapidhttp.Request, header: str) -> bool:
        fields = dict(
            (k.strip(), v.strip('"'))
            for k, v in (part.split("=", 1) for part in header[len("Digest ") :].split(", "))
        )
        name = self.algorithm.upper().removesuffix("-SESS")
        algo = {"MD5": "md5", "SHA": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}[name]

        def h(data: str) -> str:
            return hashlib.new(algo, data.encode()).hexdigest()

        ha1 = h("user:api@example.org:pass")
        if self.algorithm.upper().endswith("-SESS"):
            ha1 = h(f"{ha1}:n0nce:{fields['cnonce']}")
        ha2 = h(f"{request.method}:{fields['uri']}")
        if self.qop is None:
            expected = h(f"{ha1}:n0nce:{ha2}")
        else:
            expected = h(f"{ha1}:n0nce:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
        return fields["response"] == expected and fields["opaque"] == "0paque"
