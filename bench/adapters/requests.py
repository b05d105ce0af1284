from __future__ import annotations

import requests

from adapters import CHUNK, Options, expect_200


class _Sync:
    def __init__(self, o: Options) -> None:
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=o.connections)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.verify = o.ca_file or True

    def get(self, url: str) -> int:
        r = self.session.get(url)
        expect_200(r.status_code, url)
        return len(r.content)

    def post(self, url: str, body: bytes) -> int:
        r = self.session.post(url, data=body)
        expect_200(r.status_code, url)
        return len(r.content)

    def download(self, url: str) -> int:
        with self.session.get(url, stream=True) as r:
            expect_200(r.status_code, url)
            return sum(len(chunk) for chunk in r.iter_content(CHUNK))

    def close(self) -> None:
        self.session.close()


def sync_session(o: Options) -> _Sync:
    return _Sync(o)
