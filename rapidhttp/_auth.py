"""Authentication schemes.

An auth scheme is a generator (`Auth.auth_flow`) that yields requests and receives their
responses. It does no I/O itself, so the same flow serves `Client` and `AsyncClient`: the
clients only differ in how they send what the flow yields.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import typing
from base64 import b64encode
from urllib.request import parse_http_list

from ._exceptions import ProtocolError
from ._models import Cookies, Request, Response

__all__ = ["Auth", "BasicAuth", "DigestAuth", "FunctionAuth", "NetRCAuth"]


def _to_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _basic_auth_header(username: str | bytes, password: str | bytes) -> str:
    token = b64encode(_to_bytes(username) + b":" + _to_bytes(password)).decode()
    return f"Basic {token}"


class Auth:
    """Base class of authentication schemes.

    Override `auth_flow` to write a scheme: `yield` each request to send; the client sends the
    response back into the generator; when the generator ends, the last response is returned.

    A scheme that does I/O or uses locks overrides `sync_auth_flow` and/or `async_auth_flow`
    instead, which `Client` and `AsyncClient` call respectively.
    """

    requires_request_body = False
    requires_response_body = False

    def auth_flow(self, request: Request) -> typing.Generator[Request, Response, None]:
        yield request

    def sync_auth_flow(self, request: Request) -> typing.Generator[Request, Response, None]:
        if self.requires_request_body:
            request.read()
        flow = self.auth_flow(request)
        request = next(flow)
        while True:
            response = yield request
            if self.requires_response_body:
                response.read()
            try:
                request = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(self, request: Request) -> typing.AsyncGenerator[Request, Response]:
        if self.requires_request_body:
            await request.aread()
        flow = self.auth_flow(request)
        request = next(flow)
        while True:
            response = yield request
            if self.requires_response_body:
                await response.aread()
            try:
                request = flow.send(response)
            except StopIteration:
                return


class FunctionAuth(Auth):
    """`auth=callable`: the callable takes the request and returns the request to send."""

    def __init__(self, func: typing.Callable[[Request], Request]) -> None:
        self._func = func

    def auth_flow(self, request: Request) -> typing.Generator[Request, Response, None]:
        yield self._func(request)


class BasicAuth(Auth):
    """HTTP Basic authentication; also what `auth=(username, password)` means."""

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        # The header never changes, so it is built once rather than per request.
        self._auth_header = _basic_auth_header(username, password)

    def auth_flow(self, request: Request) -> typing.Generator[Request, Response, None]:
        request.headers["Authorization"] = self._auth_header
        yield request


class NetRCAuth(Auth):
    """Basic authentication with the credentials a netrc file holds for the request's host."""

    def __init__(self, file: str | None = None) -> None:
        import netrc  # only loaded by those who use it

        self._netrc_info = netrc.netrc(file)

    def auth_flow(self, request: Request) -> typing.Generator[Request, Response, None]:
        auth_info = self._netrc_info.authenticators(request.url.host)
        if auth_info is not None and auth_info[2]:
            request.headers["Authorization"] = _basic_auth_header(auth_info[0], auth_info[2])
        yield request


class _DigestAuthChallenge(typing.NamedTuple):
    realm: bytes
    nonce: bytes
    algorithm: str
    opaque: bytes | None
    qop: bytes | None


class DigestAuth(Auth):
    """HTTP Digest authentication (RFC 7616, and RFC 2069 when the server sends no qop).

    The last challenge is kept, so later requests authenticate up front with an incremented
    nonce count instead of paying a 401 round trip each time.
    """

    _ALGORITHM_TO_HASH_FUNCTION: dict[str, typing.Callable[[bytes], typing.Any]] = {
        "MD5": hashlib.md5,
        "MD5-SESS": hashlib.md5,
        "SHA": hashlib.sha1,
        "SHA-SESS": hashlib.sha1,
        "SHA-256": hashlib.sha256,
        "SHA-256-SESS": hashlib.sha256,
        "SHA-512": hashlib.sha512,
        "SHA-512-SESS": hashlib.sha512,
    }

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        self._username = _to_bytes(username)
        self._password = _to_bytes(password)
        self._last_challenge: _DigestAuthChallenge | None = None
        self._nonce_count = 1

    def auth_flow(self, request: Request) -> typing.Generator[Request, Response, None]:
        if self._last_challenge:
            request.headers["Authorization"] = self._build_auth_header(
                request, self._last_challenge
            )

        response = yield request

        if response.status_code != 401 or "www-authenticate" not in response.headers:
            return
        auth_header = next(
            (
                value
                for value in response.headers.get_list("www-authenticate")
                if value.lower().startswith("digest ")
            ),
            None,
        )
        if auth_header is None:
            return  # a challenge for some other scheme: nothing we can answer

        self._last_challenge = self._parse_challenge(request, response, auth_header)
        self._nonce_count = 1
        request.headers["Authorization"] = self._build_auth_header(request, self._last_challenge)
        if response.cookies:
            # Servers may tie the challenge to a session cookie set on the 401.
            Cookies(response.cookies).set_cookie_header(request=request)
        yield request

    def _parse_challenge(
        self, request: Request, response: Response, auth_header: str
    ) -> _DigestAuthChallenge:
        # `Digest realm="r", qop="auth,auth-int", nonce="abc", opaque="xyz"`
        _, _, fields = auth_header.partition(" ")
        header_dict: dict[str, str] = {}
        for field in parse_http_list(fields):
            key, value = field.strip().split("=", 1)
            header_dict[key] = value[1:-1] if value[0] == value[-1] == '"' else value

        try:
            return _DigestAuthChallenge(
                realm=header_dict["realm"].encode(),
                nonce=header_dict["nonce"].encode(),
                algorithm=header_dict.get("algorithm", "MD5"),
                opaque=header_dict["opaque"].encode() if "opaque" in header_dict else None,
                qop=header_dict["qop"].encode() if "qop" in header_dict else None,
            )
        except KeyError as exc:
            raise ProtocolError(
                "Malformed Digest WWW-Authenticate header", request=request
            ) from exc

    def _build_auth_header(self, request: Request, challenge: _DigestAuthChallenge) -> str:
        hash_func = self._ALGORITHM_TO_HASH_FUNCTION[challenge.algorithm.upper()]

        def digest(data: bytes) -> bytes:
            return hash_func(data).hexdigest().encode()  # type: ignore[no-any-return]

        path = request.url.raw_path
        ha2 = digest(request.method.encode() + b":" + path)

        nc_value = b"%08x" % self._nonce_count
        cnonce = self._get_client_nonce(self._nonce_count, challenge.nonce)
        self._nonce_count += 1

        ha1 = digest(b":".join((self._username, challenge.realm, self._password)))
        if challenge.algorithm.lower().endswith("-sess"):
            ha1 = digest(b":".join((ha1, challenge.nonce, cnonce)))

        qop = self._resolve_qop(challenge.qop, request=request)
        if qop is None:  # RFC 2069
            digest_data = [ha1, challenge.nonce, ha2]
        else:
            digest_data = [ha1, challenge.nonce, nc_value, cnonce, qop, ha2]

        fields: dict[str, bytes] = {
            "username": self._username,
            "realm": challenge.realm,
            "nonce": challenge.nonce,
            "uri": path,
            "response": digest(b":".join(digest_data)),
            "algorithm": challenge.algorithm.encode(),
        }
        if challenge.opaque:
            fields["opaque"] = challenge.opaque
        if qop:
            fields["qop"] = b"auth"
            fields["nc"] = nc_value
            fields["cnonce"] = cnonce
        return "Digest " + self._get_header_value(fields)

    def _get_client_nonce(self, nonce_count: int, nonce: bytes) -> bytes:
        # Tests monkeypatch this method to make the header deterministic.
        seed = str(nonce_count).encode() + nonce + time.ctime().encode() + os.urandom(8)
        return hashlib.sha1(seed).hexdigest()[:16].encode()

    def _get_header_value(self, header_fields: dict[str, bytes]) -> str:
        unquoted = ("algorithm", "qop", "nc")
        return ", ".join(
            f"{field}={value.decode()}" if field in unquoted else f'{field}="{value.decode()}"'
            for field, value in header_fields.items()
        )

    def _resolve_qop(self, qop: bytes | None, request: Request) -> bytes | None:
        if qop is None:
            return None
        qops = re.split(b", ?", qop)
        if b"auth" in qops:
            return b"auth"
        if qops == [b"auth-int"]:
            raise NotImplementedError("Digest auth-int support is not yet implemented")
        raise ProtocolError(f'Unexpected qop value "{qop!r}" in digest auth', request=request)
