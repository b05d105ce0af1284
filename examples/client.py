"""Clients (docs/advanced/clients.md): pooling, shared configuration, merging, base_url,
explicit requests, event hooks and upload/download progress, against a local server."""

from local_server import serve

import rapidhttp as httpx

with serve() as base:
    # A Client reuses connections and applies its configuration to every request.
    headers = {"X-Auth": "from-client"}
    params = {"client_id": "client1"}
    with httpx.Client(base_url=base, headers=headers, params=params) as client:
        r = client.get(
            "/anything", headers={"X-Custom": "from-request"}, params={"request_id": "request1"}
        )
        print(r)
        print("merged params:", r.request.url.query.decode())
        print("headers:", r.request.headers["X-Auth"], r.request.headers["X-Custom"])

    # Request-level values win over client-level ones for everything else.
    with httpx.Client(base_url=base, auth=("tom", "mot123")) as client:
        r = client.get("/basic-auth/alice/ecila123", auth=("alice", "ecila123"))
        print("request-level auth:", r.status_code, r.json()["user"])

    # Explicit Request instances: build, adjust, send.
    with httpx.Client(headers={"X-Api-Key": "...", "X-Client-ID": "ABC123"}) as client:
        request = client.build_request("GET", base + "/anything")
        del request.headers["X-Api-Key"]
        sent = client.send(request).json()["headers"]
        print("sent X-Client-ID:", sent["x-client-id"], "| X-Api-Key sent:", "x-api-key" in sent)

    # Event hooks see every request and response.
    def log_request(request: httpx.Request) -> None:
        print(f"hook: request {request.method} {request.url.path}")

    def log_response(response: httpx.Response) -> None:
        print(f"hook: response {response.status_code} for {response.request.url.path}")

    hooks = {"request": [log_request], "response": [log_response]}
    with httpx.Client(base_url=base, event_hooks=hooks) as client:
        client.get("/json")

    # Download progress with num_bytes_downloaded.
    with httpx.Client(base_url=base) as client:
        with client.stream("GET", "/bytes/300000") as r:
            total = int(r.headers["Content-Length"])
            for _ in r.iter_bytes():
                pass
            print(f"downloaded {r.num_bytes_downloaded} of {total} bytes")

        # Upload progress with a generator body.
        sent_bytes = 0

        def upload():
            global sent_bytes
            for _ in range(4):
                chunk = b"x" * 1024
                sent_bytes += len(chunk)
                yield chunk

        r = client.post("/anything", content=upload())
        print(f"uploaded {sent_bytes} bytes, server got {len(r.json()['data'])}")

        # Several files under one field name.
        files = [
            ("images", ("foo.png", b"foo", "image/png")),
            ("images", ("bar.png", b"bar", "image/png")),
        ]
        r = client.post("/anything", files=files)
        print("multipart:", r.request.headers["Content-Type"].split(";")[0])
