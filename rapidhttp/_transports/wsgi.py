"""
`WSGITransport`: send requests straight into a WSGI application, in-process (PEP 3333).

The response body is pulled from the app's iterable as the reader asks for it. Only the leading
empty chunks are consumed up front: a WSGI app may call `start_response` as late as its first
non-empty chunk (generators do), so the status and headers are known only then. The iterable's
`close()` is called when the response is closed, exhausted, or abandoned on an error.
"""

from __future__ import annotations

import io
import sys
import typing

from .._exceptions import RemoteProtocolError
from .._models import Request, Response
from .._types import SyncByteStream
from .base import BaseTransport

if typing.TYPE_CHECKING:  # pragma: no cover
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import WSGIApplication

__all__ = ["WSGITransport"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class _WSGIExchange:
    """One call of the app: `start_response`, the legacy `write()` callable and the
    iterable it returns, with PEP 3333's rules about when headers count as sent."""

    def __init__(self, request: Request, raise_app_exceptions: bool) -> None:
        self._request = request
        self.raise_app_exceptions = raise_app_exceptions
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.exc_info: OptExcInfo | None = None
        # Data passed to `write()`, to be sent before the next chunk of the iterable.
        self.written: list[bytes] = []
        self.headers_sent = False
        self.protocol_error: RemoteProtocolError | None = None

    def start_response(
        self,
        status: str,
        response_headers: list[tuple[str, str]],
        exc_info: OptExcInfo | None = None,
    ) -> typing.Callable[[bytes], typing.Any]:
        if exc_info is not None and exc_info[0] is not None:
            if self.headers_sent:
                # Too late to change the response: PEP 3333 says to re-raise the error.
                raise exc_info[1].with_traceback(exc_info[2])  # type: ignore[union-attr]
            self.exc_info = exc_info
        elif self.status is not None:
            self.fail("WSGI app called start_response() twice without exc_info.")
        if not isinstance(status, str) or not status[:3].isdigit() or status[3:4] not in ("", " "):
            self.fail(f"WSGI app sent an invalid status: {status!r}.")
        self.status = status
        self.headers = response_headers
        return self.written.append

    def fail(self, message: str) -> typing.NoReturn:
        # Raised inside the app, and remembered in case the app swallows it.
        error = RemoteProtocolError(message, request=self._request)
        if self.protocol_error is None:
            self.protocol_error = error
        raise error

    def check_failure(self, exc: BaseException) -> None:
        """Decide what an exception raised by the app means for the caller: re-raise it, or
        (when app exceptions are not raised) let the response end where it is."""
        if self.protocol_error is not None:
            raise self.protocol_error
        if self.raise_app_exceptions or not isinstance(exc, Exception):
            raise exc


class WSGIByteStream(SyncByteStream):
    def __init__(
        self,
        exchange: _WSGIExchange,
        result: typing.Iterable[bytes],
        chunks: typing.Iterator[bytes],
        first_chunk: bytes,
    ) -> None:
        self._exchange = exchange
        self._result: typing.Iterable[bytes] | None = result
        self._chunks = chunks
        self._first_chunk = first_chunk

    def __iter__(self) -> typing.Iterator[bytes]:
        written = self._exchange.written
        chunk = self._first_chunk
        try:
            while True:
                if written:
                    yield from written
                    written.clear()
                if chunk:
                    yield chunk
                try:
                    chunk = next(self._chunks)
                except StopIteration:
                    break
                except Exception as exc:
                    self._exchange.check_failure(exc)
                    break
            if written:  # a `write()` from the iterable's last step
                yield from written
                written.clear()
        finally:
            self.close()

    def close(self) -> None:
        result, self._result = self._result, None
        close = getattr(result, "close", None)
        if close is not None:
            close()


class WSGITransport(BaseTransport):
    """
    A transport that sends requests directly to a WSGI application, without a network.

    ```python
    transport = rapidhttp.WSGITransport(app=app, script_name="/submount", remote_addr="1.2.3.4")
    client = rapidhttp.Client(transport=transport)
    ```

    Arguments:

    * `app` - The WSGI application.
    * `raise_app_exceptions` - Whether exceptions raised by the application propagate to the
       caller (the default). With `False`, an application that fails before starting its
       response produces a `500` response instead, and one that fails later ends the body.
    * `script_name` - The root path on which the WSGI application is mounted.
    * `remote_addr` - The client IP of incoming requests.
    * `wsgi_errors` - The text stream behind `environ["wsgi.errors"]` (default `sys.stderr`).
    """

    def __init__(
        self,
        app: WSGIApplication,
        raise_app_exceptions: bool = True,
        script_name: str = "",
        remote_addr: str = "127.0.0.1",
        wsgi_errors: typing.TextIO | None = None,
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.script_name = script_name
        self.remote_addr = remote_addr
        self.wsgi_errors = wsgi_errors

    def _environ(self, request: Request) -> dict[str, typing.Any]:
        url = request.url
        environ: dict[str, typing.Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url.scheme,
            "wsgi.input": io.BytesIO(request.read()),
            "wsgi.errors": self.wsgi_errors or sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": self.script_name,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query.decode("ascii"),
            "SERVER_NAME": url.host,
            "SERVER_PORT": str(url.port or _DEFAULT_PORTS.get(url.scheme, 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
        }
        for raw_key, raw_value in request.headers.raw:
            # PEP 3333 "native strings" are latin-1; CGI joins repeated headers with commas.
            key = raw_key.decode("latin-1").upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            value = raw_value.decode("latin-1")
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def handle_request(self, request: Request) -> Response:
        exchange = _WSGIExchange(request, self.raise_app_exceptions)
        environ = self._environ(request)
        result: typing.Iterable[bytes] = ()
        try:
            result = self.app(environ, exchange.start_response)
            # Headers count as sent with the first non-empty chunk, not before (PEP 3333).
            chunks = iter(result)
            first_chunk = b""
            for first_chunk in chunks:
                if first_chunk:
                    break
            if exchange.status is None:
                exchange.fail("WSGI app returned without calling start_response().")
        except BaseException as exc:
            _close(result)
            exchange.check_failure(exc)
            return Response(500)
        if exchange.exc_info is not None and self.raise_app_exceptions:
            _close(result)
            raise exchange.exc_info[1]  # type: ignore[misc]
        exchange.headers_sent = True

        status_code = int(exchange.status[:3])
        headers = [
            (key.encode("latin-1"), value.encode("latin-1")) for key, value in exchange.headers
        ]
        stream = WSGIByteStream(exchange, result, chunks, first_chunk)
        return Response(status_code, headers=headers, stream=stream)


def _close(result: typing.Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()
