"""The extension marketplace over REST through the real server on PostgreSQL: publish (pending, hidden from
others), moderation by the administrators only (approve, reject with a reason the author reads, verify,
feature), search, install with the permissions granted, enable, disable, settings, uninstall; refusals name
the manifest's field; 20 installs at once count 20 downloads, 20 reviews at once give the exact average."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.extension_manifest import CATEGORIES, PERMISSIONS
from tests.api_client import User, make_zip, refused, sign_in
from tests.serving import Server, start_server
from tests.unit.test_extension_manifest import night_owl
from ui.api.extensions import Category, Permission

pytestmark = pytest.mark.postgres

ADMIN = "mod@example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("extensions")
    running = start_server(folder / "data", CODELOFT_DATABASE_URL=postgres_dsn, CODELOFT_ADMIN_EMAILS=ADMIN)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(server: Server) -> User:
    return sign_in(server, ADMIN)


@pytest.fixture(scope="module")
def ann(server: Server) -> User:
    return sign_in(server, "ann@example.com")


@pytest.fixture(scope="module")
def bob(server: Server) -> User:
    return sign_in(server, "bob@example.com")


def package(name: str, version: str = "1.0.0", **changes: Any) -> bytes:
    manifest = {**night_owl(), "name": name, "version": version, **changes}
    return make_zip([("manifest.json", json.dumps(manifest).encode()), ("README.md", b"# Readme\n")])


def publish(user: User, data: bytes) -> httpx.Response:
    headers = user.headers | {"Content-Type": "application/zip"}
    return user.client.post("/api/v1/extensions", content=data, headers=headers)


def published(user: User, admin: User, name: str, **changes: Any) -> dict[str, Any]:
    response = publish(user, package(name, **changes))
    assert response.status_code == 201, response.text
    approved = admin.post(f"/api/v1/admin/extensions/{name}/approve")
    assert approved.status_code == 200, approved.text
    return dict(approved.json())


def test_the_api_literals_are_the_manifests() -> None:
    assert set(typing.get_args(Category)) == set(CATEGORIES)
    assert set(typing.get_args(Permission)) == set(PERMISSIONS)


def test_publish_moderate_and_find(ann: User, bob: User, admin: User) -> None:
    response = publish(ann, package("owl-one", description="An owl of the night"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("name", "version", "status", "download_count", "rating_average", "rating_count")} == {
        "name": "owl-one",
        "version": "1.0.0",
        "status": "pending",
        "download_count": 0,
        "rating_average": 0.0,
        "rating_count": 0,
    }
    assert body["manifest"]["contributes"]["themes"][0]["id"] == "night-owl"
    refused(bob.client.get("/api/v1/extensions/owl-one"), 404, "No extension is named 'owl-one'")
    refused(bob.post("/api/v1/admin/extensions/owl-one/approve"), 403, "Only Codeloft's administrators")
    refused(ann.post("/api/v1/admin/extensions/owl-one/approve"), 403, "Only Codeloft's administrators")
    assert httpx.get(f"{bob.client.base_url}/api/v1/extensions", params={"q": "owl"}).json() == []

    assert admin.post("/api/v1/admin/extensions/owl-one/approve").json()["status"] == "approved"
    anyone = httpx.get(f"{bob.client.base_url}/api/v1/extensions", params={"q": "night", "category": "theme"})
    assert [e["name"] for e in anyone.json()] == ["owl-one"]
    assert bob.client.get("/api/v1/extensions", params={"q": "owl", "category": "tool"}).json() == []
    marked = admin.client.patch(
        "/api/v1/admin/extensions/owl-one", json={"featured": True, "verified": True}, headers=admin.headers
    )
    assert marked.status_code == 200 and marked.json()["is_featured"] and marked.json()["is_verified"]
    featured = bob.client.get("/api/v1/extensions", params={"featured": "true", "sort": "newest"}).json()
    assert [e["name"] for e in featured] == ["owl-one"]
    refused(publish(bob, package("owl-one", "2.0.0")), 409, "The name 'owl-one' is taken by another author")


def test_a_rejection_reason_reaches_the_author(ann: User, bob: User, admin: User) -> None:
    assert publish(ann, package("owl-two")).status_code == 201
    rejected = admin.post("/api/v1/admin/extensions/owl-two/reject", json={"reason": "Too dark to read."})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    mine = ann.client.get("/api/v1/extensions/owl-two").json()
    assert mine["versions"][0]["status"] == "rejected"
    assert mine["versions"][0]["rejection_reason"] == "Too dark to read."
    refused(bob.client.get("/api/v1/extensions/owl-two"), 404, "No extension is named")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (package("Bad Name"), 422, "manifest.json is not valid: name: 'Bad Name' is not a lowercase slug"),
        (package("owl-x", "1.0"), 422, "version: '1.0' is not a semantic version"),
        (package("owl-x", permissions=["network"]), 422, "permissions[0]: 'network' is not one of"),
        (make_zip([("manifest.json", b"{oops"), ("README.md", b"")]), 422, "manifest.json is not valid JSON"),
        (make_zip([("../evil", b""), ("manifest.json", b"{}")]), 422, "points outside the extension"),
        (b"PK" + b"\0" * 3 * 1024 * 1024, 413, "larger than 2 MB"),
    ],
)
def test_a_bad_package_is_refused_naming_why(ann: User, data: bytes, status: int, message: str) -> None:
    response = publish(ann, data)
    refused(response, status, message)
    assert set(response.json()) == {"detail", "error"}


def test_a_new_version_waits_and_asks_again_for_more(ann: User, bob: User, admin: User) -> None:
    published(ann, admin, "owl-three")
    installed = bob.post("/api/v1/extensions/owl-three/install")
    assert installed.status_code == 200 and installed.json()["version"] == "1.0.0"
    assert publish(ann, package("owl-three", "1.1.0", permissions=["workspace:read"])).status_code == 201
    assert bob.client.get("/api/v1/extensions/owl-three").json()["version"] == "1.0.0"
    assert admin.post("/api/v1/admin/extensions/owl-three/approve").json()["version"] == "1.1.0"
    mine = bob.client.get("/api/v1/me/extensions").json()
    assert [(m["extension"]["name"], m["update_available"], m["new_permissions"]) for m in mine] == [
        ("owl-three", True, ["workspace:read"])
    ]
    refused(bob.post("/api/v1/extensions/owl-three/install", json={"permissions": []}), 409, "asks for workspace:read")
    updated = bob.post("/api/v1/extensions/owl-three/install", json={"permissions": ["workspace:read"]})
    assert updated.json()["version"] == "1.1.0" and updated.json()["granted_permissions"] == ["workspace:read"]
    assert updated.json()["extension"]["download_count"] == 1


def test_enable_disable_settings_uninstall(ann: User, bob: User, admin: User) -> None:
    published(ann, admin, "owl-four")
    assert bob.post("/api/v1/extensions/owl-four/install").status_code == 200
    url = "/api/v1/extensions/owl-four/install"
    patched = bob.client.patch(url, json={"enabled": False, "settings": {"italic": True}}, headers=bob.headers)
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert patched.json()["settings"] == {"italic": True}
    assert bob.client.delete(url, headers=bob.headers).status_code == 204
    refused(bob.client.delete(url, headers=bob.headers), 404, "You have not installed 'owl-four'")
    assert "owl-four" not in [m["extension"]["name"] for m in bob.client.get("/api/v1/me/extensions").json()]


def test_twenty_installs_and_reviews_at_once_count_exactly(server: Server, ann: User, admin: User) -> None:
    published(ann, admin, "owl-crowd")
    people = [sign_in(server, f"crowd{n}@example.com") for n in range(20)]
    ratings = [n % 5 + 1 for n in range(20)]
    with ThreadPoolExecutor(20) as pool:
        installs = list(pool.map(lambda p: p.post("/api/v1/extensions/owl-crowd/install"), people))
        assert [r.status_code for r in installs] == [200] * 20
        reviews = list(
            pool.map(
                lambda pr: pr[0].post("/api/v1/extensions/owl-crowd/reviews", json={"rating": pr[1], "text": "ok"}),
                zip(people, ratings, strict=True),
            )
        )
        assert [r.status_code for r in reviews] == [200] * 20, [r.text for r in reviews]
    detail = ann.client.get("/api/v1/extensions/owl-crowd").json()
    assert detail["download_count"] == 20
    assert (detail["rating_count"], detail["rating_average"]) == (20, round(sum(ratings) / 20, 2))
    again = people[0].post("/api/v1/extensions/owl-crowd/reviews", json={"rating": 5})
    assert again.json()["rating_count"] == 20
    assert again.json()["rating_average"] == round((sum(ratings) - ratings[0] + 5) / 20, 2)
    refused(ann.post("/api/v1/extensions/owl-crowd/reviews", json={"rating": 5}), 403, "your own extension")


def test_codeloft_ext_publish(server: Server, tmp_path: Path, ann: User, bob: User) -> None:
    zip_file = tmp_path / "owl-cli.zip"
    zip_file.write_bytes(package("owl-cli"))
    published = server.cli("ext", "publish", str(zip_file), "--as", "ann@example.com")
    assert published.returncode == 0, published.stderr
    assert published.stdout.strip() == "Published owl-cli 1.0.0 as ann@example.com: pending approval."
    assert ann.client.get("/api/v1/extensions/owl-cli").json()["status"] == "pending"
    taken = server.cli("ext", "publish", str(zip_file), "--as", "bob@example.com")
    assert taken.returncode == 2
    assert taken.stderr.strip() == "error: The name 'owl-cli' is taken by another author: choose another name."
    zip_file.write_bytes(package("owl-cli", "1.0"))
    bad = server.cli("ext", "publish", str(zip_file), "--as", "ann@example.com")
    assert bad.returncode == 2 and "version: '1.0' is not a semantic version" in bad.stderr
