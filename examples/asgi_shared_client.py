"""A FastAPI-style ASGI app that calls an upstream service with one shared AsyncClient: the
client is created once (connection pooling across requests), responses are forwarded
(streamed in "manual mode"), and it is closed when the app shuts down. The app itself is
exercised in-process with ASGITransport; the upstream is a local HTTP server."""

import asyncio
import json

from local_server import serve

import rapidhttp as httpx


class ProxyApp:
    def __init__(self, upstream: str) -> None:
        self.client = httpx.AsyncClient(base_url=upstream, timeout=5.0)  # shared by requests

    async def __call__(self, scope, receive, send):
        if scope["path"] == "/summary":
            # Call upstream, post-process, answer with JSON.
            upstream = await self.client.get("/json")
            body = json.dumps({"upstream_status": upstream.status_code, **upstream.json()})
            await send_response(send, 200, body.encode(), b"application/json")
        elif scope["path"] == "/stream":
            # Forward a streamed upstream body chunk by chunk, closing it in all cases.
            request = self.client.build_request("GET", "/stream/3")
            upstream = await self.client.send(request, stream=True)
            try:
                headers = [(b"content-type", upstream.headers["content-type"].encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                async for chunk in upstream.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                await upstream.aclose()
        else:
            await send_response(send, 404, b"Not Found", b"text/plain")

    async def shutdown(self) -> None:
        await self.client.aclose()


async def send_response(send, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type)]})
    await send({"type": "http.response.body", "body": body})


async def main(upstream: str) -> None:
    app = ProxyApp(upstream)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            results = await asyncio.gather(*(client.get("/summary") for _ in range(3)))
            print("summaries:", [r.json() for r in results][0], "x", len(results))
            r = await client.get("/stream")
            print("streamed:", r.headers["content-type"], r.text.splitlines())
            print("missing:", (await client.get("/nope")).status_code)
    finally:
        await app.shutdown()
    print("shared client closed:", app.client.is_closed)


with serve() as base_url:
    asyncio.run(main(base_url))
