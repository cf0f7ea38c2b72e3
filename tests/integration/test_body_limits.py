"""Request bodies against the real `codeloft serve`: a caller who is not signed in is refused before any
of the body is read, and every route refuses a body past its cap (413) without waiting for the rest."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.api_client import MB, User, sign_in
from tests.serving import Server, start_server
from ui.body_limits import JSON_BODY_LIMIT


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("body-limits"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ann(server: Server) -> Iterator[User]:
    user = sign_in(server, "ann.bodies@example.com")
    yield user
    user.client.close()


def raw_request(
    server: Server, method: str, path: str, *, headers: dict[str, str], body: bytes, chunked: bool = False
) -> tuple[int, bytes, float]:
    """Send the request line, `headers` and `body` (which may be only the start of what the headers
    promise), then read the answer: (status, answer, seconds until it came). Never sends the rest."""
    where = urlsplit(server.base_url)
    started = time.monotonic()
    with socket.create_connection((where.hostname, where.port), timeout=10) as connection:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {where.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            if chunked:
                for start in range(0, len(body), 64 * 1024):
                    piece = body[start : start + 64 * 1024]
                    connection.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                connection.sendall(body)
        except OSError:
            pass  # the server answered and closed without reading the rest: what these tests want
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            try:
                data = connection.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            answer += data
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split()[1]), answer, elapsed


def session_headers(user: User) -> dict[str, str]:
    cookie = "; ".join(f"{name}={value}" for name, value in user.client.cookies.items())
    return {"Cookie": cookie, **user.headers, "Content-Type": "application/json"}


def test_a_caller_not_signed_in_is_refused_before_the_body_is_read(server: Server) -> None:
    # 150 MB promised, 1 MB sent: the answer comes without the server waiting for the rest.
    status, answer, elapsed = raw_request(
        server,
        "POST",
        "/api/v1/workspaces",
        headers={"Content-Type": "application/json", "Content-Length": str(150 * MB)},
        body=b'{"name": "' + b"x" * MB,
    )
    assert status == 401, answer[:300]
    assert b"Sign in first" in answer and elapsed < 5


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/workspaces/00000000-0000-0000-0000-000000000000/files/main.py"),
        ("POST", "/api/v1/workspaces/import?name=x&language=python"),
        ("POST", "/api/v1/workspaces/00000000-0000-0000-0000-000000000000/runs"),
    ],
)
def test_every_body_route_refuses_a_stranger_before_reading(server: Server, method: str, path: str) -> None:
    status, answer, _ = raw_request(
        server, method, path, headers={"Content-Length": str(500 * MB)}, body=b"x" * (256 * 1024)
    )
    assert status == 401, answer[:300]


def test_a_json_body_past_its_cap_is_refused_at_once(server: Server, ann: User) -> None:
    status, answer, elapsed = raw_request(
        server,
        "POST",
        "/api/v1/workspaces",
        headers={**session_headers(ann), "Content-Length": str(150 * MB)},
        body=b'{"name": "',
    )
    assert status == 413, answer[:300]
    assert b"larger than 1 MB" in answer and elapsed < 5


def test_a_streamed_json_body_is_cut_off_once_it_crosses_the_cap(server: Server, ann: User) -> None:
    body = b'{"name": "' + b"x" * (JSON_BODY_LIMIT + 64 * 1024) + b'", "language": "python"}'
    status, answer, _ = raw_request(
        server, "POST", "/api/v1/workspaces", headers=session_headers(ann), body=body, chunked=True
    )
    assert status == 413, answer[:300]
    assert b"larger than 1 MB" in answer
    assert b'"error":"LimitExceeded"' in answer  # the API's one error body, as the document declares


def test_a_body_within_its_cap_still_works(ann: User) -> None:
    response = ann.post("/api/v1/workspaces", json={"name": "Fine", "language": "python"})
    assert response.status_code == 201, response.text
    ws = response.json()["id"]
    # a file PUT is capped at the file limit, not the JSON cap
    assert ann.put(ws, "big.txt", b"a" * (2 * MB)).status_code == 201


def test_a_file_put_past_the_file_limit_is_refused_unread(server: Server, ann: User) -> None:
    ws = ann.create("Too big")
    status, answer, elapsed = raw_request(
        server,
        "PUT",
        f"/api/v1/workspaces/{ws}/files/huge.bin",
        headers={**session_headers(ann), "Content-Length": str(400 * MB)},
        body=b"x" * 1024,
    )
    assert status == 413, answer[:300]
    assert b"25 MB" in answer and elapsed < 5
