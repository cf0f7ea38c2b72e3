"""Issue 9, the web side, probed as an attacker would against the real `codeloft serve`: private data
files, framing and sniffing headers, hostile ZIP archives and file names, purpose-bound keys, hidden docs.
Every refusal is checked for its status, its message, and that nothing was stored or lost."""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.api_client import User, make_zip, sign_in
from tests.serving import Server, clean_env, codeloft, signed_in_client, start_server


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("hardening") / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def eve(server: Server) -> Iterator[User]:
    user = sign_in(server, "eve.hardening@example.com")
    yield user
    user.client.close()


@pytest.fixture
def ws(eve: User) -> str:
    ws = eve.create("Hardening")
    eve.write(ws, "keep.py", b"print('kept')\n")
    return ws


# --- 5: the data directory is private -------------------------------------------------------


def test_serve_keeps_the_data_directory_private_to_its_user(server: Server, eve: User, ws: str) -> None:
    data_dir = Path(server.env["CODELOFT_DATA_DIR"])
    assert mode(data_dir) == 0o700
    stored = [path for path in data_dir.iterdir() if path.is_file()]
    assert {"codeloft.db", "secret.key"} <= {path.name for path in stored}
    assert any(path.name.endswith("-wal") for path in stored)  # the database was written to
    for path in stored:
        assert mode(path) & 0o077 == 0, f"{path.name} is {oct(mode(path))}"


def test_a_readable_data_directory_is_made_private_at_start_and_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = clean_env(CODELOFT_DATA_DIR=str(data_dir))
    assert codeloft("user", "add", "first@example.com", env=env).returncode == 0
    data_dir.chmod(0o755)
    for path in data_dir.iterdir():
        path.chmod(0o644 if path.is_file() else 0o755)
    before = sqlite3.connect(data_dir / "codeloft.db").execute("SELECT count(*) FROM users").fetchone()

    result = codeloft("user", "add", "second@example.com", env=env)
    assert result.returncode == 0, result.stderr
    said = [line for line in (result.stdout + result.stderr).splitlines() if "private" in line]
    assert len(said) == 1 and str(data_dir) in said[0], result.stdout + result.stderr
    assert mode(data_dir) == 0o700
    for path in data_dir.iterdir():
        assert mode(path) & 0o077 == 0, f"{path.name} is {oct(mode(path))}"
    after = sqlite3.connect(data_dir / "codeloft.db").execute("SELECT count(*) FROM users").fetchone()
    assert after[0] == before[0] + 1  # nothing lost

    again = codeloft("user", "link", "second@example.com", env=env)
    assert "private" not in again.stdout + again.stderr  # said once, when something was fixed


def test_user_add_creates_a_private_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    assert codeloft("user", "add", "new@example.com", env=clean_env(CODELOFT_DATA_DIR=str(data_dir))).returncode == 0
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "codeloft.db") == 0o600 and mode(data_dir / "secret.key") == 0o600


# --- 7: no framing by other sites, no sniffing, no leaking referrers -------------------------


def framing_headers(response: httpx.Response, ancestors: str = "'none'") -> None:
    policy = response.headers.get("content-security-policy", "")
    assert f"frame-ancestors {ancestors}" in policy, (response.url, response.headers)
    assert response.headers.get("x-frame-options") == ("DENY" if ancestors == "'none'" else "SAMEORIGIN")
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("referrer-policy") == "same-origin"


def test_no_page_or_api_answer_can_be_framed_by_another_site(server: Server, eve: User, ws: str) -> None:
    anonymous = httpx.Client(base_url=server.base_url, timeout=30)
    for response in [
        eve.client.get("/"),  # the signed-in dashboard
        eve.client.get(f"/w/{ws}"),
        anonymous.get("/login"),
        anonymous.get("/no/such/page"),
        anonymous.get("/api/v1/session"),  # 401
        eve.client.get("/api/v1/session"),
        eve.client.get(f"/api/v1/workspaces/{ws}/archive"),
        anonymous.get("/healthz"),
        anonymous.get("/docs"),
    ]:
        framing_headers(response)
    served = eve.read(ws, "keep.py")
    framing_headers(served)
    assert "sandbox" in served.headers["content-security-policy"].split(";")[0]  # the route's own CSP kept


def test_previews_stay_framable_by_codeloft_itself_only(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/preview/{'0' * 32}/")
    framing_headers(response, "'self'")
    assert "'none'" not in response.headers["content-security-policy"]


# --- 8, 11: hostile archives and names ------------------------------------------------------


def encrypted_zip() -> bytes:
    """A ZIP whose entry says it is encrypted (general purpose flag bit 0), as `zip -e` writes it."""
    data = bytearray(make_zip([("secret.py", b"print('hidden')\n"), ("other.py", b"x = 1\n")]))
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start >= 0:
            data[start + flags_at] |= 0x01
            start = data.find(signature, start + 4)
    return bytes(data)


def refused_whole(eve: User, ws: str, response: httpx.Response, message: str) -> None:
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"] and "nothing was imported" in response.json()["detail"].lower()
    assert eve.paths(ws) == ["keep.py"] and eve.content(ws, "keep.py") == b"print('kept')\n"


def test_an_encrypted_archive_is_refused_with_its_reason(eve: User, ws: str) -> None:
    refused_whole(eve, ws, eve.import_zip(ws, encrypted_zip()), "encrypted")
    workspaces = eve.names()
    response = eve.post("/api/v1/workspaces/import", params={"name": "Locked", "language": "python"},
                        content=encrypted_zip())  # fmt: skip
    assert response.status_code == 422 and "encrypted" in response.json()["detail"], response.text
    assert eve.names() == workspaces


def nul_named_zip() -> bytes:
    """A ZIP holding `evil.py<NUL>.txt`, which unzip tools show as a text file."""
    data = make_zip([("readme.md", b"hi\n"), ("evil.pyX.txt", b"import os\n")])
    return data.replace(b"evil.pyX.txt", b"evil.py\x00.txt")


def test_an_archive_entry_with_nul_in_its_name_is_refused_whole(eve: User, ws: str) -> None:
    refused_whole(eve, ws, eve.import_zip(ws, nul_named_zip()), "control characters")
    workspaces = eve.names()
    response = eve.post("/api/v1/workspaces/import", params={"name": "Nul", "language": "python"},
                        content=nul_named_zip())  # fmt: skip
    assert response.status_code == 422 and "control characters" in response.json()["detail"], response.text
    assert eve.names() == workspaces


def test_a_bidi_control_in_a_name_is_refused_with_the_rule(eve: User, ws: str) -> None:
    spoof = "invoice\u202etxt.py"  # shows as "invoiceyp.txt"
    for response in [
        eve.put(ws, spoof, b"evil"),
        eve.put(ws, "docs/\u2066x.md", b"evil"),
        eve.folder(ws, "src\u200f"),
        eve.move(ws, "keep.py", spoof),
    ]:
        assert response.status_code == 422, response.text
        assert "bidirectional" in response.json()["detail"], response.text
    assert eve.paths(ws) == ["keep.py"] and eve.content(ws, "keep.py") == b"print('kept')\n"


def test_a_url_path_that_is_not_utf8_is_refused_not_stored_as_a_replacement(eve: User, ws: str) -> None:
    for raw in ("%ff.py", "%fe.py", "%c0%ae.py", "src/%c0%ae%c0%ae/x.py"):
        url = httpx.URL(f"{str(eve.client.base_url).rstrip('/')}/api/v1/workspaces/{ws}/files/{raw}")
        assert url.raw_path.endswith(raw.encode())  # sent as written, not re-encoded
        response = eve.client.put(url, content=b"evil", headers=eve.headers)
        assert response.status_code == 422, (raw, response.text)
        assert "UTF-8" in response.json()["detail"], response.text
        assert eve.client.get(url).status_code == 422
        assert eve.client.delete(url, headers=eve.headers).status_code == 422
    assert eve.paths(ws) == ["keep.py"] and eve.content(ws, "keep.py") == b"print('kept')\n"
    assert eve.put(ws, "%C3%BC.py", b"ok").status_code == 201 and "ü.py" in eve.paths(ws)  # valid escapes work


# --- 13: one key per purpose, docs can be hidden ---------------------------------------------


def hmac_hex(key: bytes, session_id: uuid.UUID) -> str:
    return hmac.new(key, b"csrf:" + session_id.bytes, hashlib.sha256).hexdigest()


def test_the_csrf_token_reveals_nothing_made_with_the_encryption_key(server: Server, eve: User) -> None:
    data_dir = Path(server.env["CODELOFT_DATA_DIR"])
    fernet_key = (data_dir / "secret.key").read_text().split()[0].encode("ascii")
    database = sqlite3.connect(data_dir / "codeloft.db")
    try:
        sessions = [uuid.UUID(row[0]) for row in database.execute("SELECT id FROM user_sessions")]
    finally:
        database.close()
    token = eve.headers["X-CSRF-Token"]
    assert sessions and all(token != hmac_hex(fernet_key, session) for session in sessions)
    csrf_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"codeloft csrf").derive(fernet_key)
    assert any(token == hmac_hex(csrf_key, session) for session in sessions)
    assert eve.folder(eve.create("Still works"), "src").status_code == 201  # the token is accepted


def test_api_docs_are_public_by_default_and_need_no_cdn(server: Server) -> None:
    page = httpx.get(server.base_url + "/docs")
    assert page.status_code == 200
    assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", page.text)
    assert assets and all(asset.startswith("/docs-assets/") for asset in assets), assets  # nothing from a CDN
    for asset in assets:
        assert httpx.get(server.base_url + asset).status_code == 200, asset
    document = httpx.get(server.base_url + "/openapi.json").json()
    assert document["info"]["title"] == "Codeloft API"


def test_public_docs_false_hides_the_api_docs(tmp_path: Path) -> None:
    hidden = start_server(tmp_path / "data", CODELOFT_PUBLIC_DOCS="false")
    try:
        for address in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            assert httpx.get(hidden.base_url + address).status_code == 404, address
        assert httpx.get(hidden.base_url + "/healthz").status_code == 200
        assert signed_in_client(hidden).get("/api/v1/session").status_code == 200  # the API itself still works
    finally:
        hidden.stop()
