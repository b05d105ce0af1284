"""WSGITransport: the environ, start_response and exc_info rules of PEP 3333, lazy streaming of
the app's iterable, closing it, and app errors."""

from __future__ import annotations

import io
import sys
import typing
import wsgiref.validate

import pytest

import rapidhttp

if typing.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

TEXT = [("Content-Type", "text/plain")]


def hello(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", TEXT)
    return [b"Hello, world!"]


def get(
    app: typing.Any, url: str = "http://example.org/", **kwargs: typing.Any
) -> rapidhttp.Response:
    """Send through the transport alone, and read the body."""
    transport = rapidhttp.WSGITransport(app, **kwargs)
    response = transport.handle_request(rapidhttp.Request("GET", url))
    response.read()
    return response


class Recorder:
    """A WSGI iterable that records how far it was iterated and whether it was closed."""

    def __init__(self, chunks: list[bytes], fail_at: int | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.produced = 0
        self.closed = 0

    def __iter__(self) -> typing.Iterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_at:
                raise ValueError("boom mid body")
            self.produced += 1
            yield chunk

    def close(self) -> None:
        self.closed += 1

    def app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Recorder:
        start_response("200 OK", TEXT)
        return self


# --------------------------------------------------------------------------- environ


def test_environ() -> None:
    seen: dict[str, typing.Any] = {}

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        seen.update(environ)
        seen["body"] = environ["wsgi.input"].read()
        return hello(environ, start_response)

    transport = rapidhttp.WSGITransport(app, script_name="/mount", remote_addr="1.2.3.4")
    with rapidhttp.Client(transport=transport) as client:
        client.post(
            "https://example.org/caf%C3%A9/x?a=1&b=%20",
            content=b"payload",
            headers=[("Content-Type", "text/x"), ("X-Dup", "1"), ("X-Dup", "2")],
        )
    assert seen["wsgi.version"] == (1, 0)
    assert seen["wsgi.url_scheme"] == "https"
    assert seen["wsgi.errors"] is sys.stderr
    assert seen["wsgi.multithread"] is True
    assert seen["wsgi.multiprocess"] is False
    assert seen["wsgi.run_once"] is False
    assert seen["REQUEST_METHOD"] == "POST"
    assert seen["SCRIPT_NAME"] == "/mount"
    assert seen["PATH_INFO"] == "/café/x"
    assert seen["QUERY_STRING"] == "a=1&b=%20"
    assert seen["SERVER_NAME"] == "example.org"
    assert seen["SERVER_PORT"] == "443"
    assert seen["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert seen["REMOTE_ADDR"] == "1.2.3.4"
    assert seen["CONTENT_TYPE"] == "text/x"
    assert seen["CONTENT_LENGTH"] == "7"
    assert "HTTP_CONTENT_TYPE" not in seen
    assert seen["HTTP_HOST"] == "example.org"
    assert seen["HTTP_X_DUP"] == "1,2"
    assert seen["HTTP_USER_AGENT"] == f"python-rapidhttp/{rapidhttp.__version__}"
    assert seen["body"] == b"payload"


@pytest.mark.parametrize(
    "url, port",
    [("http://example.org", "80"), ("https://example.org", "443"), ("http://a.b:8080", "8080")],
)
def test_server_port(url: str, port: str) -> None:
    seen = {}

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        seen["port"] = environ["SERVER_PORT"]
        return hello(environ, start_response)

    get(app, url)
    assert seen["port"] == port


def test_wsgi_errors() -> None:
    errors = io.StringIO()

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        environ["wsgi.errors"].write("logged")
        return hello(environ, start_response)

    get(app, wsgi_errors=errors)
    assert errors.getvalue() == "logged"


def test_passes_the_wsgiref_validator() -> None:
    app = wsgiref.validate.validator(Recorder([b"a", b"", b"b"]).app)
    response = get(app)
    assert response.status_code == 200
    assert response.text == "ab"


# --------------------------------------------------------------------------- the response


def test_response() -> None:
    response = get(hello)
    assert response.status_code == 200
    assert response.reason_phrase == "OK"
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "Hello, world!"


def test_latin1_header_values() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("X-Name", "café")])
        return []

    response = get(app)
    assert response.headers.raw == [(b"X-Name", "café".encode("latin-1"))]


def test_body_is_streamed_lazily_and_the_iterable_closed() -> None:
    body = Recorder([b"", b"", b"one", b"two", b"three"])
    transport = rapidhttp.WSGITransport(body.app)
    response = transport.handle_request(rapidhttp.Request("GET", "http://example.org/"))
    # Only the leading empty chunks and the first real one are read up front.
    assert body.produced == 3
    chunks = response.iter_raw()
    assert next(chunks) == b"one"
    assert body.produced == 3
    assert next(chunks) == b"two"
    assert body.produced == 4
    assert body.closed == 0
    response.close()
    assert body.closed == 1


def test_streaming_through_the_client() -> None:
    body = Recorder([b"one\n", b"two\n"])
    with rapidhttp.Client(transport=rapidhttp.WSGITransport(body.app)) as client:
        with client.stream("GET", "http://example.org/") as response:
            assert list(response.iter_lines()) == ["one", "two"]
    assert body.closed == 1


def test_iterable_closed_after_full_read() -> None:
    body = Recorder([b"one", b"two"])
    assert get(body.app).text == "onetwo"
    assert body.closed == 1


def test_only_empty_chunks() -> None:
    body = Recorder([b"", b""])
    response = get(body.app)
    assert response.status_code == 200
    assert response.content == b""
    assert body.closed == 1


def test_generator_app_calls_start_response_late() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> typing.Iterator[bytes]:
        yield b""
        start_response("201 Created", TEXT)
        yield b"made"

    response = get(app)
    assert response.status_code == 201
    assert response.text == "made"


def test_write_callable() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        write = start_response("200 OK", TEXT)
        write(b"written ")
        return [b"returned"]

    assert get(app).text == "written returned"


# --------------------------------------------------------------------------- errors


def raise_with_exc_info(
    environ: WSGIEnvironment, start_response: StartResponse
) -> list[bytes]:
    start_response("200 OK", TEXT)
    try:
        raise ValueError("handled by the app")
    except ValueError:
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
    return [b"error page"]


def test_exc_info_is_raised() -> None:
    with pytest.raises(ValueError, match="handled by the app"):
        get(raise_with_exc_info)


def test_exc_info_without_raise_gives_the_error_response() -> None:
    response = get(raise_with_exc_info, raise_app_exceptions=False)
    assert response.status_code == 500
    assert response.text == "error page"


def test_exc_info_after_headers_sent_is_reraised_in_the_app() -> None:
    reraised = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> typing.Iterator[bytes]:
        start_response("200 OK", TEXT)
        yield b"first"
        try:
            raise ValueError("too late")
        except ValueError:
            try:
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            except ValueError as exc:
                reraised.append(exc)
                raise

    with pytest.raises(ValueError, match="too late"):
        get(app)
    assert len(reraised) == 1


def test_app_exception_before_start() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        raise ValueError("boom before start")

    with pytest.raises(ValueError, match="boom before start"):
        get(app)
    response = get(app, raise_app_exceptions=False)
    assert response.status_code == 500
    assert response.content == b""


def test_app_exception_mid_body() -> None:
    body = Recorder([b"one", b"two"], fail_at=1)
    with pytest.raises(ValueError, match="boom mid body"):
        get(body.app)
    assert body.closed == 1

    body = Recorder([b"one", b"two"], fail_at=1)
    response = get(body.app, raise_app_exceptions=False)
    assert response.status_code == 200
    assert response.content == b"one"
    assert body.closed == 1


def test_iterable_closed_when_raising_exc_info() -> None:
    body = Recorder([b"page"])

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Recorder:
        try:
            raise ValueError("exc_info")
        except ValueError:
            start_response("500 Internal Server Error", TEXT, sys.exc_info())
        return body

    with pytest.raises(ValueError, match="exc_info"):
        get(app)
    assert body.closed == 1


@pytest.mark.parametrize("raise_app_exceptions", [True, False])
def test_start_response_twice(raise_app_exceptions: bool) -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", TEXT)
        start_response("404 Not Found", TEXT)
        return []

    with pytest.raises(rapidhttp.RemoteProtocolError, match=r"start_response\(\) twice"):
        get(app, raise_app_exceptions=raise_app_exceptions)


@pytest.mark.parametrize("status", ["OK", "20 OK", "2000 OK", 200])
def test_invalid_status(status: typing.Any) -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response(status, TEXT)
        return []

    with pytest.raises(rapidhttp.RemoteProtocolError, match="invalid status"):
        get(app)


def test_app_never_calls_start_response() -> None:
    body = Recorder([b"orphan"])

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Recorder:
        return body

    request = rapidhttp.Request("GET", "http://example.org/")
    error = "without calling start_response"
    with pytest.raises(rapidhttp.RemoteProtocolError, match=error) as info:
        rapidhttp.WSGITransport(app).handle_request(request)
    assert info.value.request is request
    assert body.closed == 1
