"""The preview proxy over HTTP: viewers only, and a link planted in place of the socket is never
followed to a socket of the host."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving import Server, link_in, sign_in, start_server

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

SERVER_JS = b"""require("http").createServer((req, res) => res.end("preview says " + req.url))
  .listen(process.env.PORT);
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("previews"))
    yield running
    running.stop()


def user(server: Server, email: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=server.base_url, timeout=30)
    sign_in(client, link_in(server.cli("user", "add", email).stdout))
    return client, {"X-CSRF-Token": client.get("/api/v1/session").json()["csrf_token"]}


def workspace_with(client: httpx.Client, headers: dict[str, str], files: dict[str, bytes]) -> str:
    workspace = client.post("/api/v1/workspaces", json={"name": "w", "language": "javascript"}, headers=headers).json()
    for path, data in files.items():
        client.put(f"/api/v1/workspaces/{workspace['id']}/files/{path}", content=data, headers=headers)
    return str(workspace["id"])


def test_a_preview_answers_through_its_address_only(server: Server) -> None:
    ann, headers = user(server, "ann@example.com")
    workspace = workspace_with(ann, headers, {"server.js": SERVER_JS})
    started = ann.post(f"/api/v1/workspaces/{workspace}/preview", headers=headers)
    assert started.status_code == 201 and started.json()["path"] == "server.js"
    address = started.json()["address"]
    answer = httpx.get(f"{server.base_url}{address}deep/path?x=1")
    assert answer.text == "preview says /deep/path?x=1"
    assert answer.headers["content-security-policy"].startswith("sandbox")
    bob, bob_headers = user(server, "bob@example.com")
    assert bob.post(f"/api/v1/workspaces/{workspace}/preview", headers=bob_headers).status_code == 404
    assert ann.delete(f"/api/v1/workspaces/{workspace}/preview", headers=headers).status_code == 204
    assert httpx.get(f"{server.base_url}{address}").status_code == 404


def test_a_link_in_place_of_the_socket_is_never_followed(server: Server, tmp_path: Path) -> None:
    secret_path = Path("/tmp") / f"codeloft-secret-{time.monotonic_ns()}.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(secret_path))
    secret_path.chmod(0o777)
    listener.listen()
    reached: list[bool] = []

    def answer_secret() -> None:
        listener.settimeout(8)
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        reached.append(True)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSECRET")
        connection.close()

    threading.Thread(target=answer_secret, daemon=True).start()
    planting = f"""const fs = require("fs");
fs.symlinkSync({str(secret_path)!r}, process.env.PORT);
setInterval(() => {{}}, 1000);
""".encode()
    ann, headers = user(server, "planter@example.com")
    workspace = workspace_with(ann, headers, {"server.js": planting})
    address = ann.post(f"/api/v1/workspaces/{workspace}/preview", headers=headers).json()["address"]
    answer = httpx.get(f"{server.base_url}{address}", timeout=20)
    assert answer.status_code == 502 and "SECRET" not in answer.text
    assert reached == []
    ann.delete(f"/api/v1/workspaces/{workspace}/preview", headers=headers)
    listener.close()
    secret_path.unlink()


def test_the_workspaces_own_preview_address_is_for_its_readers_only(server: Server) -> None:
    cara, headers = user(server, "cara@example.com")
    workspace = workspace_with(cara, headers, {"server.js": SERVER_JS})
    own = f"/w/{workspace}/preview/"
    nothing = cara.get(own)
    assert nothing.status_code == 404 and "No preview is running" in nothing.text
    assert cara.post(f"/api/v1/workspaces/{workspace}/preview", headers=headers).status_code == 201

    first = cara.get(f"{own}page?q=1")
    assert first.status_code == 307
    target = first.headers["location"]
    assert target.startswith("/preview/") and target.endswith("/page?q=1")
    assert cara.get(f"{own}page?q=1", follow_redirects=True).text == "preview says /page?q=1"
    assert cara.get(own).headers["location"].rsplit("/", 1)[0] == target.rsplit("/", 1)[0]  # one token per person

    dan, _ = user(server, "dan@example.com")  # may not read the workspace: learns nothing
    refused = dan.get(own)
    assert refused.status_code == 404 and "/preview/" not in refused.headers.get("location", "")
    signed_out = httpx.get(f"{server.base_url}{own}")
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login"

    assert cara.delete(f"/api/v1/workspaces/{workspace}/preview", headers=headers).status_code == 204
    assert httpx.get(f"{server.base_url}{target}").status_code == 404  # the token ended with the preview
    assert cara.get(own).status_code == 404


HEADERS_JS = rb"""const dangerous = {
  "Clear-Site-Data": '"cookies", "storage", "cache", "executionContexts"',
  "Refresh": "0; url=/api/v1/session",
  "Link": "</api/v1/session>; rel=preload; as=fetch",
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Credentials": "true",
  "Access-Control-Allow-Methods": "DELETE",
  "Access-Control-Allow-Headers": "X-CSRF-Token",
  "Access-Control-Expose-Headers": "*",
  "Access-Control-Max-Age": "86400",
  "Set-Cookie": "session=planted; Path=/",
  "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
  "Service-Worker-Allowed": "/",
  "WWW-Authenticate": 'Basic realm="Codeloft"',
  "Alt-Svc": 'h2="evil.example:443"',
  "Report-To": '{"group":"x","max_age":1,"endpoints":[{"url":"https://evil.example/"}]}',
  "NEL": '{"report_to":"x","max_age":1}',
  "Content-Security-Policy": "default-src *",
  "Content-Security-Policy-Report-Only": "default-src 'none'; report-uri https://evil.example/",
  "X-Made-Up": "anything",
};
const allowed = {
  "Content-Type": "text/plain; charset=utf-8",
  "Cache-Control": "max-age=60",
  "ETag": '"v1"',
  "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
  "Vary": "Accept-Language",
};
const places = {
  "/go": "/next?a=1", "/dir/rel": "sibling", "/away": "https://evil.example/", "/scheme": "//evil.example/",
  "/climb": "../../../api/v1/session", "/backslash": "/\\\\evil.example/", "/bare-backslash": "\\\\evil.example/",
};
require("http").createServer((req, res) => {
  if (places[req.url]) { res.writeHead(302, {Location: places[req.url]}); return res.end(); }
  for (const [name, value] of Object.entries({...dangerous, ...allowed})) res.setHeader(name, value);
  res.end("headers");
}).listen(process.env.PORT);
"""
NEVER_FORWARDED = [
    "clear-site-data", "refresh", "link", "access-control-allow-origin", "access-control-allow-credentials",
    "access-control-allow-methods", "access-control-allow-headers", "access-control-expose-headers",
    "access-control-max-age", "set-cookie", "strict-transport-security", "service-worker-allowed",
    "www-authenticate", "alt-svc", "report-to", "nel", "content-security-policy-report-only", "x-made-up",
]  # fmt: skip


def test_only_harmless_response_headers_reach_the_viewer(server: Server) -> None:
    eve, headers = user(server, "eve@example.com")
    workspace = workspace_with(eve, headers, {"server.js": HEADERS_JS})
    address = eve.post(f"/api/v1/workspaces/{workspace}/preview", headers=headers).json()["address"]
    answer = httpx.get(f"{server.base_url}{address}", timeout=20)
    assert answer.text == "headers"
    assert [name for name in NEVER_FORWARDED if name in answer.headers] == []
    policy = answer.headers["content-security-policy"]
    assert policy.startswith("sandbox") and "default-src *" not in policy  # Codeloft's policy, not the page's
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "max-age=60"
    assert answer.headers["etag"] == '"v1"'
    assert answer.headers["last-modified"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert answer.headers["vary"].startswith("Accept-Language")  # Codeloft may add Accept-Encoding
    assert eve.get("/api/v1/session").status_code == 200  # still signed in

    def location(path: str) -> str | None:
        moved = httpx.get(f"{server.base_url}{address}{path}", timeout=20)
        assert moved.status_code == 302
        return moved.headers.get("location")

    assert location("go") == f"{address}next?a=1"  # the server's root is the preview's root
    assert location("dir/rel") == "sibling"
    for away in ("away", "scheme", "climb", "backslash", "bare-backslash"):  # nowhere outside the preview
        assert location(away) is None, away
    eve.delete(f"/api/v1/workspaces/{workspace}/preview", headers=headers)


STREAMING_JS = b"""const MB = Buffer.alloc(1024 * 1024, 120);
let release = null;
function send(res, megabytes, done) {
  let left = megabytes;
  (function more() {
    while (left > 0) { left -= 1; if (!res.write(MB)) return res.once("drain", more); }
    done ? done() : res.end();
  })();
}
require("http").createServer((req, res) => {
  if (req.url === "/held") {  // the first part, then the rest only once /release has been asked for
    res.write("first part\\n");
    release = () => res.end("the rest\\n");
  } else if (req.url === "/release") {
    if (release) release();
    res.end("released");
  } else if (req.url.startsWith("/big/")) {
    send(res, Number(req.url.slice(5)));
  } else if (req.url === "/declared") {
    res.setHeader("Content-Length", String(200 * 1024 * 1024));
    send(res, 200);
  } else {
    let received = 0;
    req.on("data", (chunk) => { received += chunk.length; });
    req.on("end", () => res.end("received " + received));
  }
}).listen(process.env.PORT);
"""
MB = 1024 * 1024
IDENTITY = {"Accept-Encoding": "identity"}  # bytes as they travel: Codeloft would gzip them for a browser


@pytest.fixture(scope="module")
def streaming(server: Server) -> Iterator[str]:
    """The address of a preview whose server answers slowly, largely or by counting what it is sent."""
    fay, headers = user(server, "fay@example.com")
    workspace = workspace_with(fay, headers, {"server.js": STREAMING_JS})
    address = fay.post(f"/api/v1/workspaces/{workspace}/preview", headers=headers).json()["address"]
    assert httpx.post(f"{server.base_url}{address}count", content=b"ping", timeout=20).text == "received 4"
    yield f"{server.base_url}{address}"
    fay.delete(f"/api/v1/workspaces/{workspace}/preview", headers=headers)


def memory_kb(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(field + ":")))


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_an_answer_reaches_the_viewer_as_it_is_written(server: Server, streaming: str, encoding: str) -> None:
    # A browser asks for gzip: Codeloft's own gzip must not hold the first part back either.
    with httpx.stream("GET", f"{streaming}held", headers={"Accept-Encoding": encoding}, timeout=10) as answer:
        assert "content-encoding" not in answer.headers
        chunks = answer.iter_raw()
        first = next(chunks)  # the server holds the rest back until /release: no buffering
        assert first.startswith(b"first part")
        assert httpx.get(f"{streaming}release", timeout=10).text == "released"
        assert first + b"".join(chunks) == b"first part\nthe rest\n"
    if encoding == "gzip":
        return

    pid = server.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets the peak (VmHWM) to the present size
    before = memory_kb(pid, "VmRSS")
    received = 0
    with httpx.stream("GET", f"{streaming}big/50", headers=IDENTITY, timeout=30) as answer:
        for chunk in answer.iter_raw():
            received += len(chunk)
    assert received == 50 * MB
    grown = memory_kb(pid, "VmHWM") - before
    assert grown < 30 * 1024, f"the server grew by {grown} kB while passing on 50 MB"


def test_an_answer_over_the_cap_is_cut(streaming: str) -> None:
    declared = httpx.get(f"{streaming}declared", timeout=30)  # says 200 MB up front: refused at once
    assert declared.status_code == 502 and "too large" in declared.text
    received = 0
    with httpx.stream("GET", f"{streaming}big/130", headers=IDENTITY, timeout=30) as answer:
        for chunk in answer.iter_raw():  # sent without a length: it stops at the cap
            received += len(chunk)
    assert received == 100 * MB


def test_a_request_body_over_the_cap_is_refused_before_it_is_read(streaming: str) -> None:
    assert httpx.post(f"{streaming}count", content=b"x" * (5 * MB), timeout=30).text == f"received {5 * MB}"

    url = httpx.URL(streaming)
    with socket.create_connection((url.host, url.port), timeout=10) as raw:  # announces 50 MB, sends 5 bytes
        raw.sendall(
            f"POST {url.raw_path.decode()}count HTTP/1.1\r\nHost: {url.host}\r\n"
            f"Content-Length: {50 * MB}\r\n\r\nhello".encode()
        )
        assert raw.recv(100).startswith(b"HTTP/1.1 413")

    sent = 0

    def body() -> Iterator[bytes]:  # no length announced: counted as it comes
        nonlocal sent
        while sent < 200 * MB:
            sent += MB
            yield b"x" * MB

    refused = httpx.post(f"{streaming}count", content=body(), timeout=30)
    assert refused.status_code == 413
    assert sent < 50 * MB, f"{sent // MB} MB were read before the refusal"
