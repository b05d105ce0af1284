"""The quickstart guide (docs/quickstart.md), against a local server."""

import io

from local_server import serve

import rapidhttp as httpx

with serve() as base:
    # Make a request, read the response.
    r = httpx.get(base + "/json")
    print(r)
    print("status:", r.status_code, r.reason_phrase, "| type:", r.headers["Content-Type"])
    print("json:", r.json())

    # The other HTTP methods.
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        print(method, "->", httpx.request(method, base + "/anything").json()["method"])
    print("HEAD ->", httpx.head(base + "/").status_code)

    # Query parameters: lists become repeated keys.
    r = httpx.get(base + "/anything", params={"key1": "value1", "key2": ["value2", "value3"]})
    print("url query:", r.url.query.decode())

    # Text, bytes and the encoding used to decode them.
    r = httpx.get(base + "/")
    print("text:", r.text, "| content:", r.content, "| encoding:", r.encoding)

    # Custom headers.
    r = httpx.get(base + "/anything", headers={"user-agent": "my-app/0.0.1"})
    print("sent user-agent:", r.json()["headers"]["user-agent"])

    # Request bodies: form data, multipart files, JSON, raw bytes.
    r = httpx.post(base + "/anything", data={"key1": "value1", "key2": "value2"})
    print("form:", r.json()["form"])
    files = {"upload-file": ("report.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv")}
    r = httpx.post(base + "/anything", files=files, data={"comment": "hi"})
    print("files:", r.json()["files"], "| form:", r.json()["form"])
    r = httpx.post(base + "/anything", json={"integer": 123, "list": ["a", "b"]})
    print("json body:", r.json()["json"])
    r = httpx.post(base + "/anything", content=b"Hello, world")
    print("raw body:", r.json()["data"])

    # Status codes.
    r = httpx.get(base + "/status/404")
    print("404 is codes.NOT_FOUND:", r.status_code == httpx.codes.NOT_FOUND)
    try:
        r.raise_for_status()
    except httpx.HTTPStatusError as exc:
        print("raise_for_status:", type(exc).__name__, exc.response.status_code)

    # Response headers are a case-insensitive multi-dict.
    r = httpx.get(base + "/json")
    print("content-length:", r.headers["content-length"], r.headers.get("CONTENT-LENGTH"))

    # Streaming responses.
    with httpx.stream("GET", base + "/stream/3") as r:
        print("lines:", [line for line in r.iter_lines()])

    # Cookies.
    r = httpx.get(base + "/cookies", cookies={"peanut": "butter"})
    print("cookies sent:", r.json()["cookies"])

    # Redirects are not followed unless asked for.
    r = httpx.get(base + "/redirect/2")
    print("redirect:", r.status_code, r.next_request.url.path if r.next_request else None)
    r = httpx.get(base + "/redirect/2", follow_redirects=True)
    print("followed:", r.status_code, r.url.path, [h.status_code for h in r.history])

    # Timeouts.
    try:
        httpx.get(base + "/delay/1", timeout=0.1)
    except httpx.TimeoutException as exc:
        print("timeout:", type(exc).__name__)

    # Authentication.
    r = httpx.get(base + "/basic-auth/alice/secret", auth=("alice", "secret"))
    print("auth:", r.status_code, r.json())

    # Exceptions: every error a request can raise is a RequestError.
    try:
        httpx.get("http://127.0.0.1:1/")
    except httpx.RequestError as exc:
        print(f"request error: {type(exc).__name__} for {exc.request.url}")
