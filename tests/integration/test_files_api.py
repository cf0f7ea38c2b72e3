"""The workspace and file REST API over HTTP, against the real `codeloft serve`: templates, listing and
search, settings, raw reads and writes with ETags, folders, moves, ZIP archives, path rules, size
limits, quotas, and who may touch what. Every refusal is checked for its status, its message, and that
nothing was lost or changed."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import sqlite3
import struct
import threading
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_client import MB, NOWHERE, User, make_zip, refused, sign_in
from tests.serving import Server, start_server

TEMPLATES_ROOT = Path(__file__).resolve().parents[2] / "persistence" / "starter_templates"
TEMPLATES = [
    ("python", "blank"),
    ("python", "python"),
    ("javascript", "blank"),
    ("javascript", "javascript"),
    ("javascript", "express"),
    ("javascript", "react"),
    ("cpp", "blank"),
    ("cpp", "cpp"),
    ("java", "blank"),
    ("java", "java"),
]
FILE_FIELDS = {"path", "size_bytes", "content_hash", "mime_type", "is_binary", "is_folder", "updated_at"}


# --- helpers ---------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def zip_bomb() -> bytes:
    """A 30 MB entry of zeros that compresses to a few tens of KB."""
    return make_zip([("zeros.bin", bytes(30 * MB))])


@functools.cache
def tiny_png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def template_files(language: str, template: str) -> dict[str, bytes]:
    folder = TEMPLATES_ROOT / language / template
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "_template.json"
    }


def rows_of_files(server: Server, ws: str) -> int:
    database = sqlite3.connect(Path(server.env["CODELOFT_DATA_DIR"]) / "codeloft.db")
    try:
        (count,) = database.execute(
            "SELECT count(*) FROM files WHERE workspace_id IN (?, ?)", (uuid.UUID(ws).hex, ws)
        ).fetchone()
    finally:
        database.close()
    return int(count)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Ann makes a fresh workspace per test: more than the free plan's workspaces, which are not tested here.
    folder = tmp_path_factory.mktemp("files-api")
    plans = folder / "plans.json"
    plans.write_text('{"free": {"max_workspaces": 1000}}')
    running = start_server(folder / "data", CODELOFT_PLANS=str(plans))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ann(server: Server) -> Iterator[User]:
    user = sign_in(server, "ann.files@example.com")
    yield user
    user.client.close()


@pytest.fixture(scope="module")
def bob(server: Server) -> Iterator[User]:
    user = sign_in(server, "bob.files@example.com")
    yield user
    user.client.close()


@pytest.fixture
def ws(ann: User) -> str:
    """A fresh, empty workspace of Ann's."""
    return ann.create()


# --- workspaces: create from every template --------------------------------------------------


def test_the_template_list_covers_every_template_on_disk() -> None:
    on_disk = sorted((meta.parent.parent.name, meta.parent.name) for meta in TEMPLATES_ROOT.glob("*/*/_template.json"))
    assert on_disk == sorted(TEMPLATES)


@pytest.mark.parametrize(("language", "template"), TEMPLATES)
def test_a_new_workspace_holds_its_templates_files(ann: User, language: str, template: str) -> None:
    response = ann.client.post(
        "/api/v1/workspaces",
        json={"name": f"{language} {template}", "language": language, "template": template},
        headers=ann.headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["language"], created["template"]) == (language, template)
    expected = template_files(language, template)
    tree = ann.tree(created["id"])
    assert [entry["path"] for entry in tree] == sorted(expected)
    for entry in tree:
        data = expected[entry["path"]]
        assert (entry["size_bytes"], entry["content_hash"], entry["is_folder"]) == (len(data), sha256(data), False)


def test_create_answers_the_new_workspace(ann: User) -> None:
    response = ann.client.post(
        "/api/v1/workspaces",
        json={"name": "  Described  ", "language": "cpp", "template": "cpp", "description": "For the C++ course"},
        headers=ann.headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Described" and body["description"] == "For the C++ course"
    assert body["settings"] == {"run": {"entry": "main.cpp"}} and body["is_public"] is False
    assert ann.workspace(body["id"]) == body


# --- workspaces: list, search, read ----------------------------------------------------------


@pytest.fixture(scope="module")
def searcher(server: Server) -> Iterator[User]:
    user = sign_in(server, "searcher@example.com")
    user.create("Alpha notes", description="About birds")
    user.create("Beta", description="A fish tank controller")
    user.create("Gamma")
    yield user
    user.client.close()


def test_the_list_holds_every_own_workspace_newest_first(searcher: User) -> None:
    assert searcher.names() == ["Gamma", "Beta", "Alpha notes"]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("alpha", ["Alpha notes"]),  # name, any case
        ("FISH", ["Beta"]),  # description, any case
        ("a", ["Gamma", "Beta", "Alpha notes"]),
        ("zebra", []),
        ("", ["Gamma", "Beta", "Alpha notes"]),  # an empty query lists everything
    ],
)
def test_search_matches_name_and_description(searcher: User, query: str, names: list[str]) -> None:
    assert searcher.names(query) == names


def test_search_never_shows_another_users_workspace(searcher: User, ann: User) -> None:
    ann.create("Alpha of Ann")
    assert searcher.names("alpha") == ["Alpha notes"]


def test_a_missing_workspace_is_404(ann: User) -> None:
    refused(ann.client.get(f"/api/v1/workspaces/{NOWHERE}"), 404, "No such workspace")


# --- workspaces: change settings -------------------------------------------------------------


def test_rename_and_describe_persist(ann: User, ws: str) -> None:
    response = ann.client.patch(
        f"/api/v1/workspaces/{ws}", json={"name": "Renamed", "description": "New words"}, headers=ann.headers
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    shown = ann.workspace(ws)
    assert (shown["name"], shown["description"]) == ("Renamed", "New words")


def test_an_empty_description_clears_it(ann: User) -> None:
    ws = ann.create(description="Temporary")
    response = ann.client.patch(f"/api/v1/workspaces/{ws}", json={"description": ""}, headers=ann.headers)
    assert response.status_code == 200
    assert ann.workspace(ws)["description"] is None


def test_editor_settings_persist_and_merge(ann: User, ws: str) -> None:
    first = {"theme": "dark", "font_size": 18, "tab_size": 2, "word_wrap": True, "autosave_delay_ms": 0}
    response = ann.client.patch(f"/api/v1/workspaces/{ws}", json={"editor": first}, headers=ann.headers)
    assert response.status_code == 200
    assert ann.workspace(ws)["settings"]["editor"] == first
    ann.client.patch(f"/api/v1/workspaces/{ws}", json={"editor": {"font_size": 12}}, headers=ann.headers)
    assert ann.workspace(ws)["settings"]["editor"] == {**first, "font_size": 12}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"editor": {"colour": "red"}}, "There is no editor setting 'colour'"),
        ({"editor": {"font_size": 3}}, "Font size must be between 8 and 40 px"),
        ({"editor": {"font_size": "14"}}, "Font size must be a whole number"),
        ({"editor": {"tab_size": 0}}, "Tab size must be between 1 and 8 spaces"),
        ({"editor": {"tab_size": 99}}, "Tab size must be between 1 and 8 spaces"),
        ({"editor": {"theme": "pink"}}, "Theme must be light or dark"),
        ({"editor": {"tab_size": 4, "word_wrap": "yes"}}, "Wrap long lines must be on or off (true or false)"),
        ({"editor": {"autosave_delay_ms": 50}}, "Autosave delay must be 0 (off) or between 200 and 60000 ms"),
        ({"name": ""}, "The workspace name cannot be empty"),
        ({"name": "   "}, "The workspace name cannot be empty"),
        ({"name": "ok", "editor": {"theme": "pink"}}, "Theme must be light or dark"),  # nothing of it is applied
    ],
)
def test_invalid_changes_are_refused_and_change_nothing(ann: User, ws: str, body: dict[str, Any], message: str) -> None:
    ann.client.patch(f"/api/v1/workspaces/{ws}", json={"editor": {"theme": "dark"}}, headers=ann.headers)
    before = ann.workspace(ws)
    refused(ann.client.patch(f"/api/v1/workspaces/{ws}", json=body, headers=ann.headers), 422, message)
    assert ann.workspace(ws) == before


def test_an_unknown_top_level_key_is_refused(ann: User, ws: str) -> None:
    before = ann.workspace(ws)
    response = ann.client.patch(f"/api/v1/workspaces/{ws}", json={"desciption": "typo"}, headers=ann.headers)
    assert ann.workspace(ws) == before
    assert response.status_code == 422


# --- workspaces: delete ----------------------------------------------------------------------


def test_delete_removes_the_workspace_and_its_files(server: Server, ann: User) -> None:
    ws = ann.create("Doomed", template="python")
    ann.write(ws, "notes/todo.txt", b"buy milk")
    assert rows_of_files(server, ws) == 2
    response = ann.client.delete(f"/api/v1/workspaces/{ws}", headers=ann.headers)
    assert response.status_code == 204 and response.content == b""
    refused(ann.client.get(f"/api/v1/workspaces/{ws}"), 404, "No such workspace")
    refused(ann.client.get(f"/api/v1/workspaces/{ws}/files"), 404, "No such workspace")
    refused(ann.read(ws, "main.py"), 404, "No such workspace")
    refused(ann.client.delete(f"/api/v1/workspaces/{ws}", headers=ann.headers), 404, "No such workspace")
    assert "Doomed" not in ann.names()
    assert rows_of_files(server, ws) == 0


# --- files: list and read --------------------------------------------------------------------


def test_the_file_list_describes_each_entry(ann: User, ws: str) -> None:
    ann.write(ws, "src/app.py", b"print('hi')\n")
    ann.folder(ws, "docs")
    tree = ann.tree(ws)
    assert all(set(entry) == FILE_FIELDS for entry in tree)
    by_path = {entry["path"]: entry for entry in tree}
    assert list(by_path) == ["docs", "src/app.py"]
    app = by_path["src/app.py"]
    assert app["size_bytes"] == 12 and app["content_hash"] == sha256(b"print('hi')\n")
    assert app["mime_type"] == "text/x-python" and not app["is_binary"] and not app["is_folder"]
    assert by_path["docs"]["is_folder"] and by_path["docs"]["size_bytes"] == 0


def test_read_answers_raw_bytes_with_etag_and_safe_headers(ann: User, ws: str) -> None:
    data = "naïve café\n".encode()
    ann.write(ws, "notes.txt", data)
    response = ann.read(ws, "notes.txt")
    assert response.status_code == 200 and response.content == data
    assert response.headers["etag"] == f'"{sha256(data)}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox; frame-ancestors 'none'"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "content-disposition" not in response.headers


def test_html_is_served_as_plain_text(ann: User, ws: str) -> None:
    page = b"<html><script>alert(document.cookie)</script></html>"
    ann.write(ws, "index.html", page)
    assert ann.tree(ws)[0]["mime_type"] == "text/html"
    response = ann.read(ws, "index.html")
    assert response.content == page
    assert response.headers["content-type"].startswith("text/plain")
    assert "html" not in response.headers["content-type"]
    assert response.headers["content-security-policy"] == "sandbox; frame-ancestors 'none'"


def test_download_asks_the_browser_to_save(ann: User, ws: str) -> None:
    ann.write(ws, "src/report final.txt", b"done")
    response = ann.read(ws, "src/report final.txt", download="1")
    assert response.status_code == 200 and response.content == b"done"
    assert response.headers["content-disposition"] == "attachment; filename*=UTF-8''report%20final.txt"


def test_reading_a_missing_file_is_404(ann: User, ws: str) -> None:
    refused(ann.read(ws, "ghost.txt"), 404, "There is no file ghost.txt")


# --- files: write ----------------------------------------------------------------------------


def test_put_creates_then_updates_with_a_new_etag(ann: User, ws: str) -> None:
    created = ann.put(ws, "a.txt", b"one")
    assert created.status_code == 201
    assert created.headers["etag"] == f'"{sha256(b"one")}"'
    assert created.json()["path"] == "a.txt" and created.json()["content_hash"] == sha256(b"one")
    updated = ann.put(ws, "a.txt", b"two")
    assert updated.status_code == 200
    assert updated.headers["etag"] == f'"{sha256(b"two")}"'
    assert ann.content(ws, "a.txt") == b"two"
    assert ann.paths(ws) == ["a.txt"]


def test_a_save_from_a_stale_copy_is_refused_and_changes_nothing(ann: User, ws: str) -> None:
    first = ann.put(ws, "a.txt", b"one").headers["etag"]
    ann.put(ws, "a.txt", b"two (another tab)", **{"If-Match": first})
    refused(ann.put(ws, "a.txt", b"three", **{"If-Match": first}), 412, "a.txt was changed elsewhere")
    refused(ann.put(ws, "a.txt", b"three", **{"If-None-Match": "*"}), 412, "a.txt was changed elsewhere")
    assert ann.content(ws, "a.txt") == b"two (another tab)"
    assert ann.put(ws, "b.txt", b"new", **{"If-None-Match": "*"}).status_code == 201


def test_a_save_retried_after_its_answer_was_lost_succeeds(ann: User, ws: str) -> None:
    """The same bytes again from the same stale copy: already done, so 200 and the current ETag (RFC 9110
    13.1.1 allows it), not a conflict with the person's own save."""
    first = ann.put(ws, "a.txt", b"one").headers["etag"]
    saved = ann.put(ws, "a.txt", b"two", **{"If-Match": first})
    retried = ann.put(ws, "a.txt", b"two", **{"If-Match": first})
    assert retried.status_code == 200 and retried.headers["etag"] == saved.headers["etag"] == f'"{sha256(b"two")}"'
    assert retried.json()["updated_at"] == saved.json()["updated_at"]
    assert ann.content(ws, "a.txt") == b"two"


def test_a_weak_etag_in_if_match_is_accepted(ann: User, ws: str) -> None:
    etag = ann.put(ws, "a.txt", b"one").headers["etag"]
    assert ann.put(ws, "a.txt", b"two", **{"If-Match": f"W/{etag}"}).status_code == 200
    assert ann.content(ws, "a.txt") == b"two"


def test_a_binary_upload_stays_binary_and_byte_identical(ann: User, ws: str) -> None:
    png = tiny_png()
    response = ann.put(ws, "img/logo.png", png)
    assert response.status_code == 201
    (entry,) = ann.tree(ws)
    assert entry["is_binary"] is True and entry["mime_type"] == "image/png" and entry["size_bytes"] == len(png)
    read = ann.read(ws, "img/logo.png")
    assert read.content == png and read.headers["content-type"] == "image/png"
    assert read.headers["etag"] == f'"{sha256(png)}"'


def test_a_file_cannot_go_under_a_file(ann: User, ws: str) -> None:
    ann.write(ws, "a.txt", b"keep")
    before = ann.tree(ws)
    refused(ann.put(ws, "a.txt/b.txt", b"x"), 409, "a file and a folder cannot share a path")
    assert ann.tree(ws) == before and ann.content(ws, "a.txt") == b"keep"


# --- files: delete ---------------------------------------------------------------------------


def test_delete_a_file(ann: User, ws: str) -> None:
    ann.write(ws, "a.txt", b"1")
    ann.write(ws, "b.txt", b"2")
    response = ann.client.delete(f"/api/v1/workspaces/{ws}/files/a.txt", headers=ann.headers)
    assert response.status_code == 204
    refused(ann.read(ws, "a.txt"), 404, "There is no file a.txt")
    assert ann.paths(ws) == ["b.txt"]
    again = ann.client.delete(f"/api/v1/workspaces/{ws}/files/a.txt", headers=ann.headers)
    refused(again, 404, "There is no file or folder a.txt")


# --- folders and moves -----------------------------------------------------------------------


def test_create_a_folder(ann: User, ws: str) -> None:
    response = ann.folder(ws, "docs/api")
    assert response.status_code == 201
    assert response.json()["path"] == "docs/api" and response.json()["is_folder"] is True
    assert ann.paths(ws) == ["docs/api"]
    refused(ann.folder(ws, "docs/api"), 409, "docs/api exists already")
    assert ann.paths(ws) == ["docs/api"]


def test_move_a_file(ann: User, ws: str) -> None:
    ann.write(ws, "a.txt", b"content")
    assert ann.move(ws, "a.txt", "notes/b.txt").status_code == 204
    assert ann.paths(ws) == ["notes/b.txt"]
    assert ann.content(ws, "notes/b.txt") == b"content"
    refused(ann.read(ws, "a.txt"), 404, "There is no file a.txt")


def test_move_onto_an_existing_path_is_409(ann: User, ws: str) -> None:
    ann.write(ws, "a.txt", b"a")
    ann.write(ws, "b.txt", b"b")
    before = ann.tree(ws)
    refused(ann.move(ws, "a.txt", "b.txt"), 409, "b.txt exists already")
    assert ann.tree(ws) == before
    assert (ann.content(ws, "a.txt"), ann.content(ws, "b.txt")) == (b"a", b"b")


def test_moving_something_missing_is_404(ann: User, ws: str) -> None:
    refused(ann.move(ws, "ghost.txt", "b.txt"), 404, "There is no file or folder ghost.txt")
    assert ann.paths(ws) == []


# --- folder prefixes are matched exactly ----------------------------------------------------


def test_like_wildcards_in_a_folder_name_match_only_that_folder(ann: User, ws: str) -> None:
    for path in ("a_/x.txt", "ab/x.txt", "100%25/y.txt", "1000/y.txt"):
        ann.write(ws, path, b"x")
    assert ann.client.delete(f"/api/v1/workspaces/{ws}/files/a_", headers=ann.headers).status_code == 204
    assert ann.client.delete(f"/api/v1/workspaces/{ws}/files/100%25", headers=ann.headers).status_code == 204
    assert ann.paths(ws) == ["1000/y.txt", "ab/x.txt"]


def test_deleting_a_folder_spares_one_differing_in_case(ann: User, ws: str) -> None:
    ann.write(ws, "Src/a.py", b"other folder")
    ann.write(ws, "src/b.py", b"doomed")
    assert ann.client.delete(f"/api/v1/workspaces/{ws}/files/src", headers=ann.headers).status_code == 204
    assert ann.paths(ws) == ["Src/a.py"]


def test_moving_a_folder_leaves_one_differing_in_case(ann: User, ws: str) -> None:
    ann.write(ws, "Src/a.py", b"stays")
    ann.write(ws, "src/b.py", b"moves")
    assert ann.move(ws, "src", "app").status_code == 204
    assert ann.paths(ws) == ["Src/a.py", "app/b.py"]


def test_a_path_beside_a_folder_differing_in_case_is_free(ann: User, ws: str) -> None:
    ann.write(ws, "SRC/x.py", b"x")
    assert ann.put(ws, "src", b"a file named src").status_code == 201
    assert ann.folder(ws, "Src").status_code == 201
    assert ann.paths(ws) == ["SRC/x.py", "Src", "src"]


# --- path rules ------------------------------------------------------------------------------

BAD_URL_PATHS = [
    pytest.param("a/%2E%2E/b.txt", "A path cannot contain '.' or '..' segments", id="dotdot-inside"),
    pytest.param("%2E%2E/b.txt", "A path cannot contain '.' or '..' segments", id="dotdot-first"),
    pytest.param("a/%2E/b.txt", "A path cannot contain '.' or '..' segments", id="dot"),
    pytest.param("a%5Cb.txt", "never a backslash", id="backslash"),
    pytest.param("a%01b.txt", "cannot contain NUL or other control characters", id="control"),
    pytest.param("a%00b.txt", "cannot contain NUL or other control characters", id="nul"),
    pytest.param("a//b.txt", "cannot have an empty segment", id="empty-segment"),
    pytest.param("d/" * 512 + "x.txt", "A path may be at most 1024 bytes long", id="too-long"),
]


@pytest.mark.parametrize(("path", "message"), BAD_URL_PATHS)
def test_writing_a_bad_path_is_refused_naming_the_rule(ann: User, ws: str, path: str, message: str) -> None:
    ann.write(ws, "keep.txt", b"keep")
    before = ann.tree(ws)
    refused(ann.put(ws, path, b"x"), 422, message)
    assert ann.tree(ws) == before


@pytest.mark.parametrize(("path", "message"), BAD_URL_PATHS)
def test_reading_or_deleting_a_bad_path_is_refused(ann: User, ws: str, path: str, message: str) -> None:
    ann.write(ws, "keep.txt", b"keep")
    refused(ann.read(ws, path), 422, message)
    refused(ann.client.delete(f"/api/v1/workspaces/{ws}/files/{path}", headers=ann.headers), 422, message)
    assert ann.paths(ws) == ["keep.txt"]


def test_a_path_of_exactly_1024_bytes_is_fine(ann: User, ws: str) -> None:
    path = "/".join(["é" * 127 + "x"] * 3 + ["é" * 127, "x"])  # 1024 bytes in UTF-8, no name over 255 bytes
    assert len(path.encode()) == 1024
    assert ann.put(ws, path, b"x").status_code == 201
    assert ann.paths(ws) == [path]


def test_folders_and_moves_refuse_a_bad_path(ann: User, ws: str) -> None:
    """Each path rule on each operation: tests/unit/test_files.py."""
    ann.write(ws, "keep.txt", b"keep")
    before = ann.tree(ws)
    refused(ann.folder(ws, "../outside"), 422, "'.' or '..' segments")
    refused(ann.move(ws, "keep.txt", "../outside"), 422, "'.' or '..' segments")
    refused(ann.move(ws, "../outside", "moved.txt"), 422, "'.' or '..' segments")
    assert ann.tree(ws) == before


# --- sizes -----------------------------------------------------------------------------------


def test_a_text_file_over_5_mb_is_refused_and_not_stored(ann: User, ws: str) -> None:
    refused(
        ann.put(ws, "big.txt", b"a" * (6 * MB)),
        413,
        "big.txt is 6,291,456 bytes; a text file may be at most 5 MB (5,242,880 bytes)",
    )
    assert ann.paths(ws) == []


def test_a_binary_body_over_25_mb_is_refused_and_not_stored(ann: User, ws: str) -> None:
    refused(ann.put(ws, "big.bin", bytes(25 * MB + 1)), 413, "larger than 25 MB")
    assert ann.paths(ws) == []


# --- archives --------------------------------------------------------------------------------


def test_download_the_workspace_as_a_zip(ann: User) -> None:
    ws = ann.create("Zipped", template="python")
    ann.write(ws, "src/lib/util.py", b"def f(): ...\n")
    ann.write(ws, "img/logo.png", tiny_png())
    ann.folder(ws, "empty")
    response = ann.client.get(f"/api/v1/workspaces/{ws}/archive")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == "attachment; filename*=UTF-8''Zipped.zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == ["empty/", "img/logo.png", "main.py", "src/lib/util.py"]
        assert archive.read("src/lib/util.py") == b"def f(): ...\n"
        assert archive.read("img/logo.png") == tiny_png()
        assert archive.read("main.py") == template_files("python", "python")["main.py"]


def test_import_a_zip_into_a_workspace(ann: User, ws: str) -> None:
    ann.write(ws, "a.txt", b"old")
    ann.write(ws, "keep.txt", b"keep")
    archive = make_zip([("a.txt", b"new"), ("src/b.py", b"print(2)\n"), ("img/logo.png", tiny_png()), ("docs/", b"")])
    response = ann.import_zip(ws, archive)
    assert response.status_code == 200 and response.json() == {"imported": 3}
    assert ann.paths(ws) == ["a.txt", "docs", "img/logo.png", "keep.txt", "src/b.py"]
    assert ann.content(ws, "a.txt") == b"new" and ann.content(ws, "keep.txt") == b"keep"
    assert ann.content(ws, "img/logo.png") == tiny_png()


def test_a_downloaded_zip_imports_back_unchanged(ann: User) -> None:
    source = ann.create("Round trip", language="java", template="java")
    archive = ann.client.get(f"/api/v1/workspaces/{source}/archive").content
    target = ann.create("Copy", language="java")
    assert ann.import_zip(target, archive).json() == {"imported": 2}
    strip = [{k: v for k, v in entry.items() if k != "updated_at"} for entry in ann.tree(source)]
    assert [{k: v for k, v in entry.items() if k != "updated_at"} for entry in ann.tree(target)] == strip


def test_import_a_zip_as_a_new_workspace(ann: User) -> None:
    archive = make_zip([("main.py", b"print('imported')\n"), ("pkg/__init__.py", b""), ("pkg/data.bin", b"\x00\x01")])
    response = ann.client.post(
        "/api/v1/workspaces/import",
        params={"name": "From a ZIP", "language": "python"},
        content=archive,
        headers=ann.headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "From a ZIP" and created["language"] == "python"
    assert ann.paths(created["id"]) == ["main.py", "pkg/__init__.py", "pkg/data.bin"]
    assert ann.content(created["id"], "main.py") == b"print('imported')\n"
    assert ann.content(created["id"], "pkg/data.bin") == b"\x00\x01"
    assert "From a ZIP" in ann.names()


BAD_ARCHIVES = [  # each archive rule: tests/unit/test_files.py
    pytest.param(lambda: make_zip([("ok.txt", b"x"), ("../evil.txt", b"x")]), 422, "points outside", id="zip-slip"),
    pytest.param(zip_bomb, 413, "'zeros.bin' is larger than 25 MB", id="zip-bomb"),
]


@pytest.mark.parametrize(("archive", "status", "message"), BAD_ARCHIVES)
def test_a_bad_archive_imports_nothing(ann: User, ws: str, archive: Any, status: int, message: str) -> None:
    ann.write(ws, "ok.txt", b"original")
    before = ann.tree(ws)
    refused(ann.import_zip(ws, archive()), status, message)
    assert ann.tree(ws) == before
    assert ann.content(ws, "ok.txt") == b"original"


@pytest.mark.parametrize(("archive", "status", "message"), BAD_ARCHIVES)
def test_a_bad_archive_creates_no_workspace(ann: User, archive: Any, status: int, message: str) -> None:
    before = ann.names()
    response = ann.client.post(
        "/api/v1/workspaces/import",
        params={"name": "Bad", "language": "python"},
        content=archive(),
        headers=ann.headers,
    )
    refused(response, status, message)
    assert ann.names() == before


# --- quota -----------------------------------------------------------------------------------


@functools.cache
def many_files(count: int) -> bytes:
    return make_zip([(f"f/{n:04}.txt", b"x") for n in range(count)])


def test_ann_is_on_the_free_tier(ann: User) -> None:
    assert ann.client.get("/api/v1/session").json()["user"]["subscription_tier"] == "free"


def test_the_file_quota_refuses_an_import_with_429(ann: User, ws: str) -> None:
    ann.write(ws, "existing.txt", b"1")
    before = ann.tree(ws)
    response = ann.import_zip(ws, many_files(1000))  # 1000 new files + the existing one > 1000
    refused(response, 429, "This workspace may hold at most 1000 files and folders on its owner's plan")
    assert ann.tree(ws) == before


def test_the_file_quota_refuses_a_new_file_past_it(ann: User, ws: str) -> None:
    assert ann.import_zip(ws, many_files(1000)).json() == {"imported": 1000}
    refused(ann.put(ws, "one-more.txt", b"x"), 429, "at most 1000 files")
    refused(ann.folder(ws, "one-more"), 429, "at most 1000 files")
    assert len(ann.paths(ws)) == 1000
    assert ann.put(ws, "f/0000.txt", b"replacing is fine").status_code == 200


# --- authorization ---------------------------------------------------------------------------

FOREIGN_CALLS = [
    pytest.param("GET", "", {}, id="get-workspace"),
    pytest.param("PATCH", "", {"json": {"name": "Mine now"}}, id="patch-workspace"),
    pytest.param("DELETE", "", {}, id="delete-workspace"),
    pytest.param("GET", "/files", {}, id="list-files"),
    pytest.param("GET", "/files/secret.txt", {}, id="read-file"),
    pytest.param("GET", "/files/secret.txt?download=1", {}, id="download-file"),
    pytest.param("PUT", "/files/secret.txt", {"content": b"overwritten"}, id="overwrite-file"),
    pytest.param("PUT", "/files/new.txt", {"content": b"planted"}, id="create-file"),
    pytest.param("DELETE", "/files/secret.txt", {}, id="delete-file"),
    pytest.param("GET", "/archive", {}, id="download-archive"),
    pytest.param("POST", "/archive", {"content": make_zip([("planted.txt", b"x")])}, id="import-archive"),
    pytest.param("POST", "/move", {"json": {"from": "secret.txt", "to": "moved.txt"}}, id="move"),
    pytest.param("POST", "/folders", {"json": {"path": "planted"}}, id="folder"),
]


@pytest.fixture(scope="module")
def anns_secret(ann: User) -> str:
    ws = ann.create("Ann's secret")
    ann.write(ws, "secret.txt", b"for Ann only")
    return ws


@pytest.mark.parametrize(("method", "suffix", "kwargs"), FOREIGN_CALLS)
def test_another_users_workspace_answers_like_a_missing_one(
    ann: User, bob: User, anns_secret: str, method: str, suffix: str, kwargs: dict[str, Any]
) -> None:
    before = (ann.workspace(anns_secret), ann.tree(anns_secret))
    hidden = bob.client.request(method, f"/api/v1/workspaces/{anns_secret}{suffix}", headers=bob.headers, **kwargs)
    missing = bob.client.request(method, f"/api/v1/workspaces/{NOWHERE}{suffix}", headers=bob.headers, **kwargs)
    assert hidden.status_code == missing.status_code == 404
    assert (
        hidden.json()
        == missing.json()
        == {"detail": "No such workspace, or you have no access to it.", "error": "NotFound"}
    )
    assert (ann.workspace(anns_secret), ann.tree(anns_secret)) == before
    assert ann.content(anns_secret, "secret.txt") == b"for Ann only"


def test_a_no_op_move_in_another_users_workspace_is_404(bob: User, anns_secret: str) -> None:
    response = bob.move(anns_secret, "secret.txt", "secret.txt")
    assert response.status_code == 404


CSRF_CALLS = [
    pytest.param("POST", "/api/v1/workspaces", {"json": {"name": "x", "language": "python"}}, id="create"),
    pytest.param("POST", "/api/v1/workspaces/import?name=x&language=python", {"content": make_zip([])}, id="import"),
    pytest.param("PATCH", "/api/v1/workspaces/{ws}", {"json": {"name": "Renamed"}}, id="patch"),
    pytest.param("DELETE", "/api/v1/workspaces/{ws}", {}, id="delete-workspace"),
    pytest.param("PUT", "/api/v1/workspaces/{ws}/files/a.txt", {"content": b"changed"}, id="put-file"),
    pytest.param("DELETE", "/api/v1/workspaces/{ws}/files/a.txt", {}, id="delete-file"),
    pytest.param("POST", "/api/v1/workspaces/{ws}/folders", {"json": {"path": "new"}}, id="folder"),
    pytest.param("POST", "/api/v1/workspaces/{ws}/move", {"json": {"from": "a.txt", "to": "b.txt"}}, id="move"),
    pytest.param("POST", "/api/v1/workspaces/{ws}/archive", {"content": make_zip([("z.txt", b"z")])}, id="archive"),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), CSRF_CALLS)
def test_writes_without_the_csrf_token_are_403_and_change_nothing(
    ann: User, ws: str, method: str, url: str, kwargs: dict[str, Any]
) -> None:
    ann.write(ws, "a.txt", b"original")
    before = (ann.names(), ann.workspace(ws), ann.tree(ws))
    response = ann.client.request(method, url.format(ws=ws), **kwargs)
    refused(response, 403, "Missing or wrong X-CSRF-Token header")
    assert (ann.names(), ann.workspace(ws), ann.tree(ws)) == before
    assert ann.content(ws, "a.txt") == b"original"


# --- archives off the event loop ------------------------------------------------------------


def slowest_health_answer_while(
    server: Server, work: Callable[[], httpx.Response]
) -> tuple[float, float, httpx.Response]:
    """Run `work` in a thread while asking for /healthz every 20 ms: the slowest answer, how long the work
    took, and its answer."""
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(work()))
    slowest = 0.0
    with httpx.Client(base_url=server.base_url, timeout=60) as probe:
        probe.get("/healthz")
        began = time.monotonic()
        thread.start()
        while thread.is_alive():
            started = time.monotonic()
            assert probe.get("/healthz").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.02)
    thread.join()
    return slowest, time.monotonic() - began, answers[0]


def test_a_big_export_and_import_do_not_stall_other_requests(server: Server, ann: User) -> None:
    """ZIP work runs off the event loop: 4 x 24 MB (2.5 s of DEFLATE) once stalled /healthz for all of it
    (2.5 s; 8.7 s on a loaded machine). Now the server keeps answering: no /healthz waits half as long as the
    export or import itself takes, however fast the machine (the figures are in bench/export_stall.py)."""
    ws = ann.create("Big export")
    for n in range(4):
        assert ann.put(ws, f"data{n}.bin", os.urandom(24 * MB)).status_code == 201
    with httpx.Client(base_url=server.base_url, cookies=ann.client.cookies, timeout=300) as own:
        slowest, took, exported = slowest_health_answer_while(
            server, lambda: own.get(f"/api/v1/workspaces/{ws}/archive")
        )
        assert exported.status_code == 200 and len(exported.content) > 96 * MB
        assert slowest < took / 2, f"/healthz waited {slowest:.2f} s during an export of {took:.2f} s"
        slowest, took, imported = slowest_health_answer_while(
            server,
            lambda: own.post(
                "/api/v1/workspaces/import",
                params={"name": "Big import", "language": "python"},
                content=exported.content,
                headers=ann.headers,
            ),
        )
    assert imported.status_code == 201, imported.text
    assert slowest < took / 2, f"/healthz waited {slowest:.2f} s during an import of {took:.2f} s"
