"""In-memory implementations of the domain's ports, for unit tests of the services."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from domain.cache_keys import CacheKey
from domain.entities import (
    FileInfo,
    PublicShare,
    SignInToken,
    User,
    UserSession,
    Workspace,
    WorkspaceFile,
    WorkspaceShare,
)
from domain.errors import Conflict
from domain.files import info_of
from domain.templates import Template
from domain.values import Language


class Store:
    """The 'database': committed state, shared by every unit of work of one test."""

    def __init__(self) -> None:
        self.users: dict[UUID, User] = {}
        self.sign_in_tokens: dict[UUID, SignInToken] = {}
        self.sessions: dict[UUID, UserSession] = {}
        self.workspaces: dict[UUID, Workspace] = {}
        self.shares: dict[UUID, WorkspaceShare] = {}
        self.public_shares: dict[UUID, PublicShare] = {}
        self.files: dict[UUID, WorkspaceFile] = {}
        self.commits = 0


class _Repo:
    def __init__(self, data: Store) -> None:
        self.data = data


class FakeUsers(_Repo):
    async def add(self, user: User) -> None:
        if any(u.email == user.email for u in self.data.users.values()):
            raise Conflict("duplicate e-mail")
        self.data.users[user.id] = user

    async def get(self, user_id: UUID) -> User | None:
        return self.data.users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self.data.users.values() if u.email == email), None)

    async def get_by_oauth(self, provider: str, oauth_id: str) -> User | None:
        return next(
            (u for u in self.data.users.values() if (u.oauth_provider, u.oauth_id) == (provider, oauth_id)), None
        )

    async def count(self) -> int:
        return len(self.data.users)


class FakeSignInTokens(_Repo):
    async def add(self, token: SignInToken) -> None:
        self.data.sign_in_tokens[token.id] = token

    async def get_by_hash(self, token_hash: str) -> SignInToken | None:
        return next((t for t in self.data.sign_in_tokens.values() if t.token_hash == token_hash), None)

    async def mark_used(self, token_id: UUID, *, at: datetime) -> bool:
        token = self.data.sign_in_tokens[token_id]
        if token.used_at is not None:
            return False
        token.used_at = at
        return True


class FakeSessions(_Repo):
    async def add(self, session: UserSession) -> None:
        self.data.sessions[session.id] = session

    async def get_by_hash(self, token_hash: str) -> UserSession | None:
        return next((s for s in self.data.sessions.values() if s.refresh_token_hash == token_hash), None)

    async def touch(self, session_id: UUID, *, at: datetime) -> None:
        self.data.sessions[session_id].last_used_at = at

    async def delete(self, session_id: UUID) -> None:
        self.data.sessions.pop(session_id, None)


class FakeWorkspaces(_Repo):
    async def add(self, workspace: Workspace) -> None:
        self.data.workspaces[workspace.id] = workspace

    async def search_accessible(self, user_id: UUID, query: str, *, now: datetime) -> Sequence[Workspace]:
        needle = query.lower()
        return [
            w
            for w in await self.list_accessible(user_id, now=now)
            if needle in w.name.lower() or needle in (w.description or "").lower()
        ]

    async def update(self, workspace_id: UUID, changes: dict[str, Any], *, at: datetime) -> None:
        workspace = self.data.workspaces[workspace_id]
        for key, value in changes.items():
            setattr(workspace, key, value)
        workspace.updated_at = at

    async def touch_accessed(self, workspace_id: UUID, *, at: datetime) -> None:
        self.data.workspaces[workspace_id].last_accessed_at = at

    async def touch_updated(self, workspace_id: UUID, *, at: datetime) -> None:
        self.data.workspaces[workspace_id].updated_at = at

    async def delete(self, workspace_id: UUID) -> None:
        self.data.workspaces.pop(workspace_id, None)
        for file_id in [f.id for f in self.data.files.values() if f.workspace_id == workspace_id]:
            del self.data.files[file_id]  # ON DELETE CASCADE

    async def get(self, workspace_id: UUID) -> Workspace | None:
        return self.data.workspaces.get(workspace_id)

    async def list_accessible(self, user_id: UUID, *, now: datetime) -> Sequence[Workspace]:
        shared = {
            s.workspace_id
            for s in self.data.shares.values()
            if s.shared_with_user_id == user_id and (s.expires_at is None or s.expires_at > now)
        }
        found = [w for w in self.data.workspaces.values() if w.owner_id == user_id or w.id in shared]
        return sorted(found, key=lambda w: w.last_accessed_at, reverse=True)


class FakeShares(_Repo):
    async def add(self, share: WorkspaceShare) -> None:
        self.data.shares[share.id] = share

    async def for_user(self, workspace_id: UUID, user_id: UUID) -> Sequence[WorkspaceShare]:
        return [
            s for s in self.data.shares.values() if s.workspace_id == workspace_id and s.shared_with_user_id == user_id
        ]

    async def add_public(self, share: PublicShare) -> None:
        self.data.public_shares[share.id] = share

    async def get_public(self, share_token: str) -> PublicShare | None:
        return next((s for s in self.data.public_shares.values() if s.share_token == share_token), None)


class FakeFiles(_Repo):
    def _in(self, workspace_id: UUID) -> list[WorkspaceFile]:
        return sorted((f for f in self.data.files.values() if f.workspace_id == workspace_id), key=lambda f: f.path)

    async def add(self, file: WorkspaceFile) -> None:
        if any(f.workspace_id == file.workspace_id and f.path == file.path for f in self.data.files.values()):
            raise Conflict("duplicate path")
        self.data.files[file.id] = file

    async def list(self, workspace_id: UUID) -> Sequence[WorkspaceFile]:
        return self._in(workspace_id)

    async def list_info(self, workspace_id: UUID) -> Sequence[FileInfo]:
        return [info_of(f) for f in self._in(workspace_id)]

    async def get(self, workspace_id: UUID, path: str) -> WorkspaceFile | None:
        return next((f for f in self._in(workspace_id) if f.path == path), None)

    async def get_many(self, workspace_id: UUID, paths: Sequence[str]) -> Sequence[WorkspaceFile]:
        return [f for f in self._in(workspace_id) if f.path in paths]

    async def under(self, workspace_id: UUID, folder: str) -> Sequence[WorkspaceFile]:
        return [f for f in self._in(workspace_id) if f.path.startswith(folder + "/")]

    async def usage(self, workspace_id: UUID) -> tuple[int, int]:
        files = self._in(workspace_id)
        return len(files), sum(f.size_bytes for f in files)

    async def replace_content(self, workspace_id: UUID, path: str, *, expected_hash: str, **values: Any) -> bool:
        file = await self.get(workspace_id, path)
        if file is None or file.content_hash != expected_hash:
            return False
        for key, value in values.items():
            setattr(file, key, value)
        return True

    async def rename(self, file_id: UUID, path: str, *, at: datetime) -> None:
        self.data.files[file_id].path = path
        self.data.files[file_id].updated_at = at

    async def delete_tree(self, workspace_id: UUID, path: str) -> int:
        doomed = [f.id for f in self._in(workspace_id) if f.path == path or f.path.startswith(path + "/")]
        for file_id in doomed:
            del self.data.files[file_id]
        return len(doomed)


class FakeTemplateSource:
    def __init__(self) -> None:
        self.templates = {Template(language=language, name="blank", title="Blank"): {} for language in Language} | {
            Template(language=Language.CPP, name="cpp", title="C++ program", entry="main.cpp"): {
                "main.cpp": b'#include "greeting.hpp"\nint main() {}\n',
                "greeting.hpp": b"#pragma once\n",
                "greeting.cpp": b'#include "greeting.hpp"\n',
            },
            Template(language=Language.JAVA, name="java", title="Java program"): {
                "src/app/Main.java": b"package app;\n"
            },
        }

    def catalog(self) -> Sequence[Template]:
        return list(self.templates)

    def files(self, template: Template) -> dict[str, bytes]:
        return self.templates[template]


class FakeUnitOfWork:
    """Works on a deep copy of the store; `commit()` publishes it, leaving without commit drops it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def __aenter__(self) -> Self:
        self._work = copy.deepcopy(self._store)
        self.users = FakeUsers(self._work)
        self.sign_in_tokens = FakeSignInTokens(self._work)
        self.sessions = FakeSessions(self._work)
        self.workspaces = FakeWorkspaces(self._work)
        self.shares = FakeShares(self._work)
        self.files = FakeFiles(self._work)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        del self._work

    async def commit(self) -> None:
        self._store.__dict__.update(copy.deepcopy(self._work.__dict__))
        self._store.commits += 1

    async def rollback(self) -> None:
        self._work = copy.deepcopy(self._store)


class FakeCache:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[int, Any]] = {}

    async def get(self, key: CacheKey) -> Any | None:
        entry = self.entries.get(key.name)
        return None if entry is None else copy.deepcopy(entry[1])

    async def set(self, key: CacheKey, value: Any) -> None:
        self.entries[key.name] = (key.ttl_seconds, copy.deepcopy(value))

    async def delete(self, *keys: CacheKey) -> None:
        for key in keys:
            self.entries.pop(key.name, None)

    async def ping(self) -> None:
        return None
