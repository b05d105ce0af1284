from .asgi import ASGITransport
from .base import AsyncBaseTransport, BaseTransport
from .default import AsyncHTTPTransport, HTTPTransport
from .mock import MockTransport
from .wsgi import WSGITransport

__all__ = [
    "ASGITransport",
    "AsyncBaseTransport",
    "AsyncHTTPTransport",
    "BaseTransport",
    "HTTPTransport",
    "MockTransport",
    "WSGITransport",
]
