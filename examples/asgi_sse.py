"""Streaming from an ASGI app: rapidhttp's ASGITransport returns the response as soon as the
app starts it, so an endless server-sent-events endpoint can be read event by event, and
closing the response stops the app."""

import asyncio

import rapidhttp as httpx


async def events(scope, receive, send):
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    n = 0
    try:
        while True:  # an endless stream
            n += 1
            event = f"event: tick\ndata: {n}\n\n".encode()
            await send({"type": "http.response.body", "body": event, "more_body": True})
            await asyncio.sleep(0.01)
    finally:
        print(f"app stopped after {n} events")


async def main() -> None:
    transport = httpx.ASGITransport(app=events)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        async with client.stream("GET", "/events") as response:
            print("content-type:", response.headers["content-type"])
            received = []
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    received.append(int(line.removeprefix("data: ")))
                    if len(received) == 3:
                        break
        print("received:", received)


asyncio.run(main())
