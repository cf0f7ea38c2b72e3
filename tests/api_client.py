"""A signed-in user of the live server's REST API, as the integration tests drive it."""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass
from typing import Any

import httpx

from tests.serving import Server, csrf, new_link, signed_in_client

MB = 1024 * 1024
NOWHERE = "00000000-0000-0000-0000-000000000000"


@dataclass
class User:
    """A signed-in browser session with its CSRF header, and the calls the tests make through it."""

    client: httpx.Client
    headers: dict[str, str]

    def create(self, name: str = "Files", language: str = "python", template: str = "blank", **extra: Any) -> str:
        body = {"name": name, "language": language, "template": template, **extra}
        response = self.client.post("/api/v1/workspaces", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def workspace(self, ws: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/workspaces/{ws}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def names(self, query: str | None = None) -> list[str]:
        params = {"q": query} if query is not None else {}
        response = self.client.get("/api/v1/workspaces", params=params)
        assert response.status_code == 200, response.text
        return [w["name"] for w in response.json()]

    def tree(self, ws: str) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/workspaces/{ws}/files")
        assert response.status_code == 200, response.text
        return list(response.json())

    def paths(self, ws: str) -> list[str]:
        return [entry["path"] for entry in self.tree(ws)]

    def put(self, ws: str, path: str, data: bytes, **headers: str) -> httpx.Response:
        return self.client.put(f"/api/v1/workspaces/{ws}/files/{path}", content=data, headers=self.headers | headers)

    def write(self, ws: str, path: str, data: bytes) -> None:
        response = self.put(ws, path, data)
        assert response.status_code in (200, 201), response.text

    def read(self, ws: str, path: str, **params: str) -> httpx.Response:
        return self.client.get(f"/api/v1/workspaces/{ws}/files/{path}", params=params)

    def content(self, ws: str, path: str) -> bytes:
        response = self.read(ws, path)
        assert response.status_code == 200, response.text
        return response.content

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(url, headers=self.headers, **kwargs)

    def move(self, ws: str, source: str, destination: str) -> httpx.Response:
        return self.post(f"/api/v1/workspaces/{ws}/move", json={"from": source, "to": destination})

    def folder(self, ws: str, path: str) -> httpx.Response:
        return self.post(f"/api/v1/workspaces/{ws}/folders", json={"path": path})

    def import_zip(self, ws: str, archive: bytes) -> httpx.Response:
        return self.post(f"/api/v1/workspaces/{ws}/archive", content=archive)


def sign_in(server: Server, email: str) -> User:
    client = signed_in_client(server, new_link(server, email))
    return User(client=client, headers=csrf(client))


def refused(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert message in response.json()["detail"], response.json()


def make_zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]], *, symlink: str | None = None) -> bytes:
    """A ZIP of `entries`; `symlink`: also a symbolic link of that name (to /etc/passwd)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()
