"""Bodies and errors against real servers, ASGI (uvicorn) and WSGI (the Procfile's granian):
chunked bodies are read and cut off at their limit, an oversized declared body is refused
before it is sent, a bad Host and a query string that is not UTF-8 get the API's JSON."""

import http.client
import json
import socket

import pytest

from tests.conftest import TEST_PASSWORD

JSON_LIMIT = 4096


@pytest.fixture(params=["asgi", "web"])
def server(cluster, request):
    """uvicorn on config.asgi, and the Procfile's `web` (granian on config.wsgi)."""
    env = {"MAX_JSON_BODY_BYTES": str(JSON_LIMIT), "RATE_LOGIN_IP": "1000/min"}
    if request.param == "web":
        server = cluster.add_procfile_server("web", WEB_CONCURRENCY="1", **env)
    else:
        server = cluster.add_server(**env)
    cluster.wait_ready()
    server.interface = request.param
    return server


def connect(server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)


def chunked_post(server, path: str, chunks):
    conn = connect(server)
    conn.request(
        "POST",
        path,
        body=iter(chunks),
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), json.loads(response.read())


def test_a_chunked_login_is_read_not_taken_as_empty(server, make_user):
    user = make_user()
    body = json.dumps({"email": user.email, "password": TEST_PASSWORD}).encode()
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]

    status, _, answer = chunked_post(server, "/api/users/login", chunks)

    assert status == 200, answer
    assert answer["user"]["email"] == user.email


def test_a_chunked_body_over_the_limit_is_cut_off(server):
    chunks = [b'{"email": "', *[b"a" * 1024] * 8, b'"}']

    status, headers, answer = chunked_post(server, "/api/users/login", chunks)

    assert status == 413
    assert answer["error"] == "request_too_large"
    assert answer["details"] == {"max_bytes": JSON_LIMIT}
    if server.interface == "asgi":
        # WSGI applications may not send hop-by-hop headers; the WSGI server read it all.
        assert headers.get("connection") == "close"


def test_a_declared_oversized_body_is_refused_before_it_is_sent(server):
    # given: headers announcing 512 MiB, and not one byte of the body
    conn = connect(server)
    conn.putrequest("POST", "/api/quotes")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(512 * 1024 * 1024))
    conn.endheaders()

    # when
    response = conn.getresponse()

    # then: answered at once
    assert response.status == 413
    assert json.loads(response.read())["error"] == "request_too_large"


def test_a_disallowed_host_is_a_json_400(server):
    conn = connect(server)
    conn.request("GET", "/api/ping", headers={"Host": "evil.example"})
    response = conn.getresponse()

    assert response.status == 400
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(response.read())["details"] == {"host": ["Not in ALLOWED_HOSTS."]}


def raw_request(server, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_a_query_string_that_is_not_utf8_is_never_a_500(server):
    status, body = raw_request(
        server,
        b"GET /api/notifications?unread=\xff HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Connection: close\r\n\r\n",
    )

    # The HTTP parser may refuse it itself (400); if it reaches the app, the answer is JSON.
    assert status == 400
    if body.startswith(b"{"):
        assert json.loads(body)["error"] == "validation_error"
