from __future__ import annotations

import urllib3

from adapters import CHUNK, Options, expect_200


class _Sync:
    def __init__(self, o: Options) -> None:
        self.pool = urllib3.PoolManager(maxsize=o.connections, ca_certs=o.ca_file)

    def get(self, url: str) -> int:
        r = self.pool.request("GET", url)
        expect_200(r.status, url)
        return len(r.data)

    def post(self, url: str, body: bytes) -> int:
        r = self.pool.request("POST", url, body=body)
        expect_200(r.status, url)
        return len(r.data)

    def download(self, url: str) -> int:
        r = self.pool.request("GET", url, preload_content=False)
        try:
            expect_200(r.status, url)
            return sum(len(chunk) for chunk in r.stream(CHUNK))
        finally:
            r.release_conn()

    def close(self) -> None:
        self.pool.clear()


def sync_session(o: Options) -> _Sync:
    return _Sync(o)
