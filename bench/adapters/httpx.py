import httpx

from adapters.httpx_api import bind

sync_session, async_session = bind(httpx)
