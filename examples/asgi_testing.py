"""Calling into an ASGI application in-process, the way apps are tested (docs/async.md):
no server and no network, the client talks to the app through ASGITransport."""

import asyncio
import json

import rapidhttp as httpx


async def app(scope, receive, send):
    """A small ASGI app: "Hello World!" on /, the request details on /whoami, 500 on /error."""
    path = scope["path"]
    if path == "/error":
        raise RuntimeError("something went wrong")
    if path == "/whoami":
        info = {"client": scope["client"], "root_path": scope["root_path"], "path": path}
        body, content_type = json.dumps(info).encode(), b"application/json"
    else:
        body, content_type = b"Hello World!", b"text/html; charset=utf-8"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def main() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.get("/")
        assert r.status_code == 200
        assert r.text == "Hello World!"
        print("GET /:", r.status_code, r.text)

        # By default an exception in the app propagates to the test...
        try:
            await client.get("/error")
        except RuntimeError as exc:
            print("app raised:", exc)

    # ...or it can be inspected as a 500 response; root_path and client are configurable too.
    transport = httpx.ASGITransport(
        app=app, raise_app_exceptions=False, root_path="/api", client=("1.2.3.4", 123)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        print("GET /error:", (await client.get("/error")).status_code)
        print("GET /whoami:", (await client.get("/whoami")).json())


asyncio.run(main())
