"""Calling into a WSGI application in-process (Flask, Django, ...) with WSGITransport: no
server and no network."""

import rapidhttp as httpx


def app(environ, start_response):
    """A small WSGI app: a greeting, the request details, a streamed body, and an error."""
    path = environ["PATH_INFO"]
    if path == "/error":
        raise ValueError("something went wrong")
    if path == "/whoami":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ['REMOTE_ADDR']} {environ['SCRIPT_NAME']} {path}".encode()]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (f"line {i}\n".encode() for i in range(3))  # sent as it is produced
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"Hello World!"]


with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver") as client:
    r = client.get("/")
    print("GET /:", r.status_code, r.text)
    with client.stream("GET", "/stream") as r:
        print("streamed:", list(r.iter_lines()))
    try:
        client.get("/error")
    except ValueError as exc:
        print("app raised:", exc)

transport = httpx.WSGITransport(
    app=app, raise_app_exceptions=False, script_name="/mount", remote_addr="1.2.3.4"
)
with httpx.Client(transport=transport, base_url="http://testserver") as client:
    print("GET /error:", client.get("/error").status_code)
    print("GET /whoami:", client.get("/whoami").text)
