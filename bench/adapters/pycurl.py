"""pycurl: one Curl handle per thread (a handle is not thread-safe), each keeping its own
connection alive; the handles of one session share DNS and TLS session caches."""

from __future__ import annotations

import threading
from typing import Any

import pycurl

from adapters import Options, expect_200


class _Sync:
    def __init__(self, o: Options) -> None:
        self.options = o
        self.local = threading.local()
        self.handles: list[Any] = []
        self.lock = threading.Lock()
        self.share = pycurl.CurlShare()
        self.share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_DNS)
        self.share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_SSL_SESSION)

    def _handle(self) -> Any:
        c = getattr(self.local, "curl", None)
        if c is None:
            c = self.local.curl = pycurl.Curl()
            c.setopt(pycurl.SHARE, self.share)
            if self.options.ca_file:
                c.setopt(pycurl.CAINFO, self.options.ca_file)
            with self.lock:
                self.handles.append(c)
        return c

    def _perform(self, url: str, body: bytes | None, write: Any) -> None:
        c = self._handle()
        c.setopt(pycurl.URL, url)
        if body is None:
            c.setopt(pycurl.HTTPGET, 1)
        else:
            c.setopt(pycurl.POSTFIELDS, body)
        c.setopt(pycurl.WRITEFUNCTION, write)
        c.perform()
        expect_200(c.getinfo(pycurl.RESPONSE_CODE), url)

    def get(self, url: str) -> int:
        chunks: list[bytes] = []
        self._perform(url, None, chunks.append)
        return len(b"".join(chunks))

    def post(self, url: str, body: bytes) -> int:
        chunks: list[bytes] = []
        self._perform(url, body, chunks.append)
        return len(b"".join(chunks))

    def download(self, url: str) -> int:
        received = 0

        def count(chunk: bytes) -> None:
            nonlocal received
            received += len(chunk)

        self._perform(url, None, count)
        return received

    def close(self) -> None:
        for c in self.handles:
            c.close()
        self.share.close()


def sync_session(o: Options) -> _Sync:
    return _Sync(o)
