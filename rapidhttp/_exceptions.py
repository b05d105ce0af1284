"""
The exception hierarchy, identical in names, parents and attributes to httpx 0.28.

    HTTPError
    ├── RequestError                 (has .request)
    │   ├── TransportError
    │   │   ├── TimeoutException
    │   │   │   ├── ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout
    │   │   ├── NetworkError
    │   │   │   ├── ConnectError, ReadError, WriteError, CloseError
    │   │   ├── ProtocolError
    │   │   │   ├── LocalProtocolError, RemoteProtocolError
    │   │   ├── ProxyError
    │   │   └── UnsupportedProtocol
    │   ├── DecodingError
    │   └── TooManyRedirects
    └── HTTPStatusError              (has .request and .response)
    InvalidURL, CookieConflict       (plain Exception subclasses)
    StreamError (RuntimeError)
    ├── StreamConsumed, StreamClosed, ResponseNotRead, RequestNotRead

Lower layers (the engine, the decoders) raise these classes directly, without a `request`;
the transport or client attaches the request on the way up, so no exception-mapping layer
sits on the hot path.
"""

from __future__ import annotations

import typing

if typing.TYPE_CHECKING:  # pragma: no cover
    from ._models import Request, Response

__all__ = [
    "CloseError",
    "ConnectError",
    "ConnectTimeout",
    "CookieConflict",
    "DecodingError",
    "HTTPError",
    "HTTPStatusError",
    "InvalidURL",
    "LocalProtocolError",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "RequestError",
    "RequestNotRead",
    "ResponseNotRead",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
]


class HTTPError(Exception):
    """Base class for `RequestError` and `HTTPStatusError`.

    Useful for `try...except` blocks around `response.raise_for_status()`.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._request: Request | None = None

    @property
    def request(self) -> Request:
        if self._request is None:
            raise RuntimeError("The .request property has not been set.")
        return self._request

    @request.setter
    def request(self, request: Request) -> None:
        self._request = request


class RequestError(HTTPError):
    """Base class for all exceptions that may occur when issuing a `.request()`."""

    def __init__(self, message: str, *, request: Request | None = None) -> None:
        super().__init__(message)
        # The request is usually attached later, by the transport or the client, once it is
        # known which request was in flight.
        self._request = request


class TransportError(RequestError):
    """Base class for all exceptions that occur at the level of the transport API."""


# Timeouts


class TimeoutException(TransportError):
    """The base class for timeout errors. An operation has timed out."""


class ConnectTimeout(TimeoutException):
    """Timed out while connecting to the host."""


class ReadTimeout(TimeoutException):
    """Timed out while receiving data from the host."""


class WriteTimeout(TimeoutException):
    """Timed out while sending data to the host."""


class PoolTimeout(TimeoutException):
    """Timed out waiting to acquire a connection from the pool."""


# Core networking exceptions


class NetworkError(TransportError):
    """The base class for network-related errors."""


class ReadError(NetworkError):
    """Failed to receive data from the network."""


class WriteError(NetworkError):
    """Failed to send data through the network."""


class ConnectError(NetworkError):
    """Failed to establish a connection."""


class CloseError(NetworkError):
    """Failed to close a connection."""


# Other transport exceptions


class ProxyError(TransportError):
    """An error occurred while establishing a proxy connection."""


class UnsupportedProtocol(TransportError):
    """Attempted to make a request to an unsupported protocol (e.g. `ftp://`)."""


class ProtocolError(TransportError):
    """The protocol was violated."""


class LocalProtocolError(ProtocolError):
    """A protocol was violated by the client (e.g. an invalid header)."""


class RemoteProtocolError(ProtocolError):
    """The protocol was violated by the server (e.g. a malformed response)."""


# Other request exceptions


class DecodingError(RequestError):
    """Decoding of the response failed, due to a malformed encoding."""


class TooManyRedirects(RequestError):
    """Too many redirects."""


# Client errors


class HTTPStatusError(HTTPError):
    """The response had an error HTTP status of 4xx or 5xx.

    May be raised when calling `response.raise_for_status()`.
    """

    def __init__(self, message: str, *, request: Request, response: Response) -> None:
        super().__init__(message)
        self.request = request
        self.response = response


class InvalidURL(Exception):
    """URL is improperly formed or cannot be parsed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class CookieConflict(Exception):
    """Attempted to look up a cookie by name, but multiple cookies existed.

    Can occur when calling `response.cookies.get(...)`.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


# Stream exceptions. These are programming errors, so they derive from RuntimeError
# rather than HTTPError.


class StreamError(RuntimeError):
    """The base class for stream exceptions."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class StreamConsumed(StreamError):
    """Attempted to read or stream content that has already been streamed."""

    def __init__(self) -> None:
        # The missing space in "flow.For" is httpx's; code matching on the message expects it.
        message = (
            "Attempted to read or stream some content, but the content has "
            "already been streamed. For requests, this could be due to passing "
            "a generator as request content, and then receiving a redirect "
            "response or a secondary request as part of an authentication flow."
            "For responses, this could be due to attempting to stream the response "
            "content more than once."
        )
        super().__init__(message)


class StreamClosed(StreamError):
    """Attempted to read or stream response content after the response was closed."""

    def __init__(self) -> None:
        message = "Attempted to read or stream content, but the stream has been closed."
        super().__init__(message)


class ResponseNotRead(StreamError):
    """Attempted to access streaming response content without having called `read()`."""

    def __init__(self) -> None:
        message = (
            "Attempted to access streaming response content, without having called `read()`."
        )
        super().__init__(message)


class RequestNotRead(StreamError):
    """Attempted to access streaming request content without having called `read()`."""

    def __init__(self) -> None:
        message = (
            "Attempted to access streaming request content, without having called `read()`."
        )
        super().__init__(message)
