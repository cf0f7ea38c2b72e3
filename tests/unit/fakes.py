"""In-memory implementations of the domain's ports, for unit tests of the services."""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from domain.cache_keys import CacheKey, fence_of
from domain.chat import ChatEnd, ChatMessage, ChatRequest, Conversation, ProviderError, UsageRecord
from domain.entities import (
    FOLDER_MIME,
    AIKey,
    CompilationJob,
    ExploreEntry,
    FileInfo,
    Identity,
    PublicShare,
    RunResult,
    SaveTarget,
    SharedWorkspace,
    ShareMember,
    SignInToken,
    User,
    UserSession,
    Workspace,
    WorkspaceFile,
    WorkspaceShare,
)
from domain.errors import Conflict, InvalidInput, Unavailable
from domain.extension_bundles import Bundle
from domain.extension_entities import Extension, ExtensionStatus, ExtensionVersion, Installation, Review
from domain.files import info_of
from domain.sandbox import Cancellation, OutputSink, SandboxRequest, SandboxResult
from domain.templates import Template
from domain.values import Language, PermissionLevel, Tier


class Store:
    """The 'database': committed state, shared by every unit of work of one test."""

    def __init__(self) -> None:
        self.users: dict[UUID, User] = {}
        self.sign_in_tokens: dict[UUID, SignInToken] = {}
        self.sessions: dict[UUID, UserSession] = {}
        self.identities: dict[UUID, Identity] = {}
        self.workspaces: dict[UUID, Workspace] = {}
        self.shares: dict[UUID, WorkspaceShare] = {}
        self.public_shares: dict[UUID, PublicShare] = {}
        self.files: dict[UUID, WorkspaceFile] = {}
        self.compilations: dict[UUID, CompilationJob] = {}
        self.runs: dict[UUID, RunResult] = {}
        self.ai_keys: dict[UUID, AIKey] = {}
        self.stars: set[tuple[UUID, UUID]] = set()
        self.conversations: dict[UUID, Conversation] = {}
        self.chat_messages: list[ChatMessage] = []
        self.ai_usage: list[UsageRecord] = []
        self.extensions: dict[UUID, Extension] = {}
        self.extension_versions: dict[UUID, tuple[ExtensionVersion, bytes]] = {}
        self.installations: dict[tuple[UUID, UUID], Installation] = {}
        self.reviews: dict[tuple[UUID, UUID], Review] = {}
        self.bundles: dict[UUID, Bundle] = {}
        self.bundle_extensions: set[tuple[UUID, UUID]] = set()
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

    async def take_ai_request(self, user_id: UUID, *, today: date, limit: int) -> int | None:
        user = self.data.users[user_id]
        stale = user.ai_quota_reset_date < today
        if limit <= 0 or (not stale and user.ai_quota_used >= limit):
            return None
        user.ai_quota_used = 1 if stale else user.ai_quota_used + 1
        user.ai_quota_reset_date = today if stale else user.ai_quota_reset_date
        return user.ai_quota_used

    async def set_tier(self, user_id: UUID, tier: Tier, *, at: datetime) -> None:
        self.data.users[user_id].subscription_tier = tier
        self.data.users[user_id].updated_at = at


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

    async def get(self, session_id: UUID) -> UserSession | None:
        return self.data.sessions.get(session_id)

    async def get_by_hash(self, token_hash: str) -> UserSession | None:
        return next((s for s in self.data.sessions.values() if s.refresh_token_hash == token_hash), None)

    async def get_by_previous_hash(self, token_hash: str) -> UserSession | None:
        return next((s for s in self.data.sessions.values() if s.previous_token_hash == token_hash), None)

    async def list_for_user(self, user_id: UUID) -> list[UserSession]:
        return [s for s in self.data.sessions.values() if s.user_id == user_id]

    async def touch(self, session_id: UUID, *, at: datetime) -> None:
        self.data.sessions[session_id].last_used_at = at

    async def rotate(
        self,
        session_id: UUID,
        *,
        from_hash: str,
        to_hash: str,
        previous_valid_until: datetime,
        at: datetime,
        user_agent: str | None,
        address: str | None,
    ) -> UserSession | None:
        session = self.data.sessions.get(session_id)
        if session is None or session.refresh_token_hash != from_hash:
            return None
        session.previous_token_hash, session.refresh_token_hash = from_hash, to_hash
        session.previous_valid_until, session.rotated_at, session.last_used_at = previous_valid_until, at, at
        session.user_agent, session.address = user_agent, address
        return session

    async def delete(self, session_id: UUID) -> None:
        self.data.sessions.pop(session_id, None)

    async def delete_for_user(self, user_id: UUID, *, keep: UUID) -> int:
        ended = [i for i, s in self.data.sessions.items() if s.user_id == user_id and i != keep]
        for session_id in ended:
            del self.data.sessions[session_id]
        return len(ended)


class FakeIdentities(_Repo):
    async def add(self, identity: Identity) -> None:
        if self.data.users.get(identity.user_id) is None:
            raise Conflict("no such user")
        if await self.get(identity.provider, identity.provider_id) is not None:
            raise Conflict("duplicate identity")
        self.data.identities[identity.id] = identity

    async def get(self, provider: str, provider_id: str) -> Identity | None:
        return next(
            (i for i in self.data.identities.values() if (i.provider, i.provider_id) == (provider, provider_id)), None
        )

    async def for_user(self, user_id: UUID) -> Sequence[Identity]:
        return sorted((i for i in self.data.identities.values() if i.user_id == user_id), key=lambda i: i.created_at)

    async def delete(self, identity_id: UUID) -> None:
        self.data.identities.pop(identity_id, None)

    async def set_primary(self, user_id: UUID, provider: str, provider_id: str, *, at: datetime) -> None:
        user = self.data.users[user_id]
        user.oauth_provider, user.oauth_id, user.updated_at = provider, provider_id, at


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

    async def count_owned(self, owner_id: UUID) -> int:
        return sum(1 for w in self.data.workspaces.values() if w.owner_id == owner_id)

    async def set_owner(self, workspace_id: UUID, owner_id: UUID, *, at: datetime) -> None:
        self.data.workspaces[workspace_id].owner_id = owner_id
        self.data.workspaces[workspace_id].updated_at = at

    async def search_public(
        self,
        query: str,
        *,
        sort: str,
        offset: int,
        limit: int,
        templates_only: bool = False,
        language: str | None = None,
    ) -> tuple[Sequence[ExploreEntry], int]:
        needle = query.lower()
        found = [
            w
            for w in self.data.workspaces.values()
            if (w.is_template if templates_only else (w.is_public or w.is_template))
            and (language is None or w.language.value == language)
            and (needle in w.name.lower() or needle in (w.description or "").lower())
        ]
        found.sort(key=lambda w: w.updated_at, reverse=True)
        if sort != "recent":
            found.sort(key=lambda w: w.star_count if sort == "stars" else w.fork_count, reverse=True)
        owners = self.data.users
        entries = [
            ExploreEntry(
                workspace=w, owner_name=(owners[w.owner_id].display_name if w.owner_id in owners else None) or "someone"
            )
            for w in found[offset : offset + limit]
        ]
        return entries, len(found)

    async def add_to_count(self, workspace_id: UUID, counter: str, delta: int) -> None:
        workspace = self.data.workspaces[workspace_id]
        setattr(workspace, counter, getattr(workspace, counter) + delta)

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


class FakeStars(_Repo):
    async def add(self, user_id: UUID, workspace_id: UUID, *, at: datetime) -> bool:
        if (user_id, workspace_id) in self.data.stars:
            return False
        self.data.stars.add((user_id, workspace_id))
        return True

    async def remove(self, user_id: UUID, workspace_id: UUID) -> bool:
        if (user_id, workspace_id) not in self.data.stars:
            return False
        self.data.stars.discard((user_id, workspace_id))
        return True

    async def among(self, user_id: UUID, workspace_ids: Collection[UUID]) -> set[UUID]:
        return {w for w in workspace_ids if (user_id, w) in self.data.stars}


class FakeShares(_Repo):
    async def add(self, share: WorkspaceShare) -> None:
        if await self.for_user(share.workspace_id, share.shared_with_user_id):
            raise Conflict("duplicate share")
        self.data.shares[share.id] = share

    async def for_user(self, workspace_id: UUID, user_id: UUID) -> Sequence[WorkspaceShare]:
        return [
            s for s in self.data.shares.values() if s.workspace_id == workspace_id and s.shared_with_user_id == user_id
        ]

    async def get(self, workspace_id: UUID, share_id: UUID) -> WorkspaceShare | None:
        share = self.data.shares.get(share_id)
        return copy.copy(share) if share is not None and share.workspace_id == workspace_id else None

    async def members(self, workspace_id: UUID) -> Sequence[ShareMember]:
        shares = sorted(
            (s for s in self.data.shares.values() if s.workspace_id == workspace_id), key=lambda s: s.created_at
        )
        return [
            ShareMember(
                share=copy.copy(s),
                email=self.data.users[s.shared_with_user_id].email,
                display_name=self.data.users[s.shared_with_user_id].display_name,
            )
            for s in shares
        ]

    async def change(self, share_id: UUID, *, permission_level: PermissionLevel, expires_at: datetime | None) -> None:
        share = self.data.shares[share_id]
        share.permission_level = permission_level
        share.expires_at = expires_at

    async def delete(self, workspace_id: UUID, share_id: UUID) -> bool:
        share = self.data.shares.get(share_id)
        if share is None or share.workspace_id != workspace_id:
            return False
        del self.data.shares[share_id]
        return True

    async def delete_for_user(self, workspace_id: UUID, user_id: UUID) -> None:
        for share in await self.for_user(workspace_id, user_id):
            del self.data.shares[share.id]

    async def shared_with(self, user_id: UUID, *, now: datetime) -> Sequence[SharedWorkspace]:
        found = []
        for share in self.data.shares.values():
            workspace = self.data.workspaces.get(share.workspace_id)
            live = share.expires_at is None or share.expires_at > now
            if share.shared_with_user_id == user_id and workspace and workspace.owner_id != user_id and live:
                owner = self.data.users[workspace.owner_id]
                found.append(SharedWorkspace(workspace=workspace, owner_name=owner.label, share=copy.copy(share)))
        return sorted(found, key=lambda s: (s.workspace.last_accessed_at, s.workspace.name), reverse=True)

    async def add_public(self, share: PublicShare) -> None:
        self.data.public_shares[share.id] = share

    async def get_public(self, share_token: str) -> PublicShare | None:
        return next((s for s in self.data.public_shares.values() if s.share_token == share_token), None)

    async def list_public(self, workspace_id: UUID) -> Sequence[PublicShare]:
        found = [s for s in self.data.public_shares.values() if s.workspace_id == workspace_id]
        return sorted(found, key=lambda s: s.created_at, reverse=True)

    async def delete_public(self, workspace_id: UUID, link_id: UUID) -> bool:
        share = self.data.public_shares.get(link_id)
        if share is None or share.workspace_id != workspace_id:
            return False
        del self.data.public_shares[link_id]
        return True

    async def count_public_view(self, link_id: UUID) -> int | None:
        share = self.data.public_shares.get(link_id)
        if share is None:
            return None
        share.view_count += 1
        return share.view_count


class FakeFiles(_Repo):
    def _in(self, workspace_id: UUID) -> list[WorkspaceFile]:
        return sorted((f for f in self.data.files.values() if f.workspace_id == workspace_id), key=lambda f: f.path)

    async def add(self, file: WorkspaceFile) -> None:
        if any(f.workspace_id == file.workspace_id and f.path == file.path for f in self.data.files.values()):
            raise Conflict("duplicate path")
        self.data.files[file.id] = file

    async def add_many(self, files: Sequence[WorkspaceFile]) -> None:
        for file in files:
            await self.add(file)

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

    async def direct(self, workspace_id: UUID, folder: str) -> Sequence[FileInfo]:
        prefix = folder + "/" if folder else ""
        return [
            info_of(f) for f in self._in(workspace_id) if f.path.startswith(prefix) and "/" not in f.path[len(prefix) :]
        ]

    async def subfolders(self, workspace_id: UUID, folder: str) -> Sequence[str]:
        prefix = folder + "/" if folder else ""
        return sorted(
            {
                prefix + f.path[len(prefix) :].split("/", 1)[0]
                for f in self._in(workspace_id)
                if f.path.startswith(prefix) and "/" in f.path[len(prefix) :]
            }
        )

    async def file_paths(
        self, workspace_id: UUID, *, among: Collection[str] | None = None, limit: int | None = None
    ) -> Sequence[str]:
        paths = sorted(f.path for f in self._in(workspace_id) if f.mime_type != FOLDER_MIME)
        if among is not None:
            paths = [path for path in paths if path in among]
        return paths if limit is None else paths[:limit]

    async def usage(self, workspace_id: UUID) -> tuple[int, int]:
        files = self._in(workspace_id)
        return len(files), sum(f.size_bytes for f in files)

    async def save_target(self, workspace_id: UUID, path: str) -> SaveTarget | None:
        workspace = self.data.workspaces.get(workspace_id)
        if workspace is None:
            return None
        count, total = await self.usage(workspace_id)
        file, owner = await self.get(workspace_id, path), self.data.users.get(workspace.owner_id)
        return SaveTarget(
            workspace=dataclasses.replace(workspace),
            existing=None if file is None else info_of(file),
            entries=count,
            total_bytes=total,
            owner_tier=None if owner is None else owner.subscription_tier,
        )

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


class FakeJobs(_Repo):
    """Compilation jobs and runs; a run belongs to the workspace of its compilation job."""

    async def add_compilation(self, job: CompilationJob) -> None:
        if job.id in self.data.compilations:
            raise Conflict("duplicate compilation job")
        self.data.compilations[job.id] = job

    async def add_run(self, run: RunResult) -> None:
        if run.id in self.data.runs:
            raise Conflict("duplicate run")
        if run.compilation_job_id not in self.data.compilations:
            raise Conflict("a run needs its compilation job (foreign key)")
        self.data.runs[run.id] = run

    async def update_run(self, run: RunResult) -> None:
        if run.id in self.data.runs:  # an UPDATE of a missing row changes nothing
            self.data.runs[run.id] = copy.deepcopy(run)

    async def runs_since(self, user_id: UUID, since: datetime) -> tuple[int, datetime | None]:
        times = [
            run.created_at
            for run in self.data.runs.values()
            if self.data.compilations[run.compilation_job_id].user_id == user_id and run.created_at > since
        ]
        return len(times), min(times, default=None)

    async def recent_runs(self, workspace_id: UUID, *, limit: int) -> Sequence[RunResult]:
        mine = [
            run
            for run in self.data.runs.values()
            if self.data.compilations[run.compilation_job_id].workspace_id == workspace_id
        ]
        # Newest first; among equal timestamps the later insertion counts as newer (sorted is stable).
        return [copy.deepcopy(run) for run in sorted(reversed(mine), key=lambda r: r.created_at, reverse=True)][:limit]


class FakeAIKeys(_Repo):
    async def add(self, key: AIKey) -> None:
        if any(
            (k.user_id, k.provider, k.token_name) == (key.user_id, key.provider, key.token_name)
            for k in self.data.ai_keys.values()
        ):
            raise Conflict("duplicate key name")
        self.data.ai_keys[key.id] = key

    async def get(self, key_id: UUID) -> AIKey | None:
        return self.data.ai_keys.get(key_id)

    async def for_user(self, user_id: UUID) -> Sequence[AIKey]:
        return sorted((k for k in self.data.ai_keys.values() if k.user_id == user_id), key=lambda k: k.created_at)

    async def named(self, user_id: UUID, provider: str, token_name: str) -> AIKey | None:
        return next(
            (
                k
                for k in self.data.ai_keys.values()
                if (k.user_id, k.provider, k.token_name) == (user_id, provider, token_name)
            ),
            None,
        )

    async def update(self, key_id: UUID, changes: dict[str, Any], *, at: datetime) -> None:
        key = self.data.ai_keys.get(key_id)
        if key is not None:
            for name, value in changes.items():
                setattr(key, name, value)
            key.updated_at = at

    async def delete(self, key_id: UUID) -> None:
        self.data.ai_keys.pop(key_id, None)

    async def all(self) -> Sequence[AIKey]:
        return list(self.data.ai_keys.values())

    async def set_encrypted(self, key_id: UUID, encrypted_token: str) -> None:
        self.data.ai_keys[key_id].encrypted_token = encrypted_token


class FakeConversations(_Repo):
    async def add(self, conversation: Conversation) -> None:
        self.data.conversations[conversation.id] = conversation

    async def get(self, conversation_id: UUID) -> Conversation | None:
        return self.data.conversations.get(conversation_id)

    async def of(self, user_id: UUID, workspace_id: UUID) -> Sequence[Conversation]:
        mine = [c for c in self.data.conversations.values() if (c.user_id, c.workspace_id) == (user_id, workspace_id)]
        return sorted(reversed(mine), key=lambda c: c.updated_at, reverse=True)

    async def update(self, conversation_id: UUID, *, title: str | None = None, at: datetime) -> None:
        conversation = self.data.conversations.get(conversation_id)
        if conversation is not None:
            conversation.updated_at = at
            conversation.title = title if title is not None else conversation.title

    async def delete(self, conversation_id: UUID) -> None:
        self.data.conversations.pop(conversation_id, None)
        self.data.chat_messages = [m for m in self.data.chat_messages if m.conversation_id != conversation_id]


class FakeChatMessages(_Repo):
    async def add(self, message: ChatMessage) -> None:
        if message.conversation_id not in self.data.conversations:
            raise Conflict("a message needs its conversation (foreign key)")
        self.data.chat_messages.append(message)

    async def of(self, conversation_id: UUID) -> Sequence[ChatMessage]:
        return [m for m in self.data.chat_messages if m.conversation_id == conversation_id]


class FakeAIUsage(_Repo):
    async def add(self, record: UsageRecord) -> None:
        self.data.ai_usage.append(record)

    async def of(self, user_id: UUID) -> Sequence[UsageRecord]:
        return [r for r in self.data.ai_usage if r.user_id == user_id]


class FakeExtensions(_Repo):
    async def add(self, extension: Extension) -> None:
        if any(e.name == extension.name for e in self.data.extensions.values()):
            raise Conflict("That change clashes with something stored already.")
        self.data.extensions[extension.id] = extension

    async def get(self, name: str) -> Extension | None:
        return next((e for e in self.data.extensions.values() if e.name == name), None)

    async def update(self, extension_id: UUID, changes: dict[str, Any], *, at: datetime) -> None:
        extension = self.data.extensions[extension_id]
        for column, value in {**changes, "updated_at": at}.items():
            setattr(extension, column, value)

    async def lock(self, extension_id: UUID) -> None:
        return None

    async def search(
        self, query: str, *, category: str | None, sort: str, featured: bool | None, limit: int
    ) -> Sequence[Extension]:
        words = query.lower().split()
        found = [
            e
            for e in self.data.extensions.values()
            if e.status == ExtensionStatus.APPROVED
            and all(w in " ".join((e.name, e.display_name, e.description, *e.tags)).lower() for w in words)
            and (category is None or e.category == category)
            and (featured is None or e.is_featured == featured)
        ]
        key: Callable[[Extension], Any] = {
            "downloads": lambda e: e.download_count,
            "rating": lambda e: e.rating_average,
            "newest": lambda e: e.published_at,
        }[sort]
        return sorted(found, key=key, reverse=True)[:limit]

    async def add_version(self, version: ExtensionVersion, package: bytes) -> None:
        self.data.extension_versions[version.id] = (version, package)

    async def versions(self, extension_id: UUID) -> Sequence[ExtensionVersion]:
        return [v for v, _ in self.data.extension_versions.values() if v.extension_id == extension_id]

    async def package(self, version_id: UUID) -> bytes | None:
        stored = self.data.extension_versions.get(version_id)
        return None if stored is None else stored[1]

    async def authored(self, author_id: UUID) -> Sequence[Extension]:
        return sorted((e for e in self.data.extensions.values() if e.author_id == author_id), key=lambda e: e.name)

    async def waiting(self) -> Sequence[Extension]:
        pending = {
            v.extension_id for v, _ in self.data.extension_versions.values() if v.status == ExtensionStatus.PENDING
        }
        return sorted((self.data.extensions[i] for i in pending), key=lambda e: e.name)

    async def set_version_status(
        self, version_id: UUID, status: ExtensionStatus, *, reason: str | None, at: datetime
    ) -> None:
        version, _ = self.data.extension_versions[version_id]
        version.status, version.rejection_reason, version.reviewed_at = status, reason, at

    async def installation(self, user_id: UUID, extension_id: UUID) -> Installation | None:
        return self.data.installations.get((user_id, extension_id))

    async def install(self, installation: Installation) -> bool:
        key = (installation.user_id, installation.extension_id)
        if key in self.data.installations:
            return False
        self.data.installations[key] = installation
        return True

    async def update_installation(
        self, user_id: UUID, extension_id: UUID, changes: dict[str, Any], *, at: datetime
    ) -> None:
        installation = self.data.installations[(user_id, extension_id)]
        for column, value in {**changes, "updated_at": at}.items():
            setattr(installation, column, value)

    async def uninstall(self, user_id: UUID, extension_id: UUID) -> bool:
        return self.data.installations.pop((user_id, extension_id), None) is not None

    async def installations(self, user_id: UUID) -> Sequence[tuple[Installation, Extension]]:
        pairs = [
            (i, self.data.extensions[i.extension_id]) for (u, _), i in self.data.installations.items() if u == user_id
        ]
        return sorted(pairs, key=lambda pair: pair[1].name)

    async def count_download(self, extension_id: UUID) -> None:
        self.data.extensions[extension_id].download_count += 1

    async def save_review(self, review: Review) -> None:
        key = (review.extension_id, review.user_id)
        earlier = self.data.reviews.get(key)
        if earlier is not None:
            review.created_at = earlier.created_at
        self.data.reviews[key] = review

    async def refresh_rating(self, extension_id: UUID) -> None:
        ratings = [r.rating for (e, _), r in self.data.reviews.items() if e == extension_id]
        extension = self.data.extensions[extension_id]
        extension.rating_count = len(ratings)
        extension.rating_average = round(sum(ratings) / len(ratings), 2) if ratings else 0.0

    async def reviews(self, extension_id: UUID, *, limit: int) -> Sequence[Review]:
        found = [r for (e, _), r in self.data.reviews.items() if e == extension_id]
        return sorted(found, key=lambda r: r.updated_at, reverse=True)[:limit]


class FakeBundles(_Repo):
    async def all(self) -> Sequence[Bundle]:
        return [
            dataclasses.replace(
                bundle,
                extensions=tuple(
                    sorted(
                        (self.data.extensions[e] for b, e in self.data.bundle_extensions if b == bundle.id),
                        key=lambda e: e.name,
                    )
                ),
            )
            for bundle in sorted(self.data.bundles.values(), key=lambda b: b.name)
        ]

    async def add(self, bundle: Bundle) -> None:
        self.data.bundles[bundle.id] = dataclasses.replace(bundle, extensions=())
        await self.add_extensions(bundle.id, [e.id for e in bundle.extensions])

    async def add_extensions(self, bundle_id: UUID, extension_ids: Collection[UUID]) -> None:
        self.data.bundle_extensions.update((bundle_id, e) for e in extension_ids)


class FakeChatProvider:
    """A chat provider that records each request and answers `deltas`, then a `ChatEnd` (tokens in: the
    request's characters / 4, out: the number of deltas), waiting `pause` seconds before each delta. `fail` is
    raised after `fail_after` deltas; `cut` ends the stream without its ChatEnd. `closed` counts the streams
    that ended (closed early too)."""

    def __init__(self, *deltas: str) -> None:
        self.deltas = list(deltas or ("Hello", ", ", "world."))
        self.requests: list[ChatRequest] = []
        self.fail: ProviderError | None = None
        self.fail_after = 0
        self.cut = False
        self.pause = 0.0
        self.closed = 0

    async def stream(self, request: ChatRequest) -> AsyncGenerator[str | ChatEnd, None]:
        self.requests.append(request)
        try:
            for index, delta in enumerate(self.deltas):
                if self.fail is not None and index == self.fail_after:
                    raise self.fail
                if self.pause:
                    await asyncio.sleep(self.pause)
                yield delta
            if self.fail is not None:
                raise self.fail
            if not self.cut:
                size = sum(len(turn.content) for turn in request.turns)
                yield ChatEnd(tokens_in=size // 4, tokens_out=len(self.deltas), finish_reason="stop")
        finally:
            self.closed += 1


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
        self.identities = FakeIdentities(self._work)
        self.workspaces = FakeWorkspaces(self._work)
        self.shares = FakeShares(self._work)
        self.stars = FakeStars(self._work)
        self.files = FakeFiles(self._work)
        self.jobs = FakeJobs(self._work)
        self.ai_keys = FakeAIKeys(self._work)
        self.conversations = FakeConversations(self._work)
        self.chat_messages = FakeChatMessages(self._work)
        self.ai_usage = FakeAIUsage(self._work)
        self.extensions = FakeExtensions(self._work)
        self.bundles = FakeBundles(self._work)
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

    async def commit_each_statement(self) -> None:
        """The fake keeps its one copy: what a use case sees is the same."""


class FakeCache:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[int, Any]] = {}

    async def get(self, key: CacheKey) -> Any | None:
        entry = self.entries.get(key.name)
        return None if entry is None else copy.deepcopy(entry[1])

    async def set(self, key: CacheKey, value: Any, *, fenced: bool = False) -> None:
        if not fenced or fence_of(key).name not in self.entries:
            self.entries[key.name] = (key.ttl_seconds, copy.deepcopy(value))

    async def delete(self, *keys: CacheKey) -> None:
        for key in keys:
            self.entries.pop(key.name, None)

    async def fence(self, *keys: CacheKey) -> None:
        """Fences stand until a test takes them down (`entries.pop`): nothing expires here."""
        await self.delete(*keys)
        for key in keys:
            fence = fence_of(key)
            self.entries[fence.name] = (fence.ttl_seconds, 1)

    async def ping(self) -> None:
        return None


def sandbox_result(**changes: Any) -> SandboxResult:
    """A SandboxResult: a clean exit with no output unless `changes` say otherwise."""
    values: dict[str, Any] = {
        "exit_code": 0,
        "signal": None,
        "stdout": b"",
        "stderr": b"",
        "truncated": False,
        "cpu_ms": 10,
        "wall_ms": 20,
        "memory_kb": 1000,
    }
    values.update(changes)
    return SandboxResult(**values)


BUILD_ARCHIVE = b"a tar archive of .build"


class FakeRunner:
    """Records every request and answers scripted results: compile requests (those with `collect`)
    from `compiles`, run requests from `runs`; when a queue is empty, a clean exit (compiles hand
    back BUILD_ARCHIVE)."""

    name = "fake"

    def __init__(self, version: str = "fake-toolchain 1.0") -> None:
        self.requests: list[SandboxRequest] = []
        self.compiles: list[SandboxResult] = []
        self.runs: list[SandboxResult] = []
        self.sinks: list[OutputSink | None] = []
        self.cancels: list[Cancellation | None] = []
        self.version_calls: list[list[str]] = []
        self.during: Callable[[SandboxRequest], None] | None = None
        """Called inside `execute`, e.g. to look at the store while a program runs."""
        self._version = version

    @property
    def compile_requests(self) -> list[SandboxRequest]:
        return [r for r in self.requests if r.collect is not None]

    @property
    def run_requests(self) -> list[SandboxRequest]:
        return [r for r in self.requests if r.collect is None]

    async def execute(
        self, request: SandboxRequest, *, on_output: OutputSink | None = None, cancel: Cancellation | None = None
    ) -> SandboxResult:
        self.requests.append(request)
        self.sinks.append(on_output)
        self.cancels.append(cancel)
        if self.during is not None:
            self.during(request)
        if request.collect is not None:
            return self.compiles.pop(0) if self.compiles else sandbox_result(collected=BUILD_ARCHIVE)
        return self.runs.pop(0) if self.runs else sandbox_result()

    async def version(self, argv: list[str]) -> str:
        self.version_calls.append(list(argv))
        return self._version


class FakeArtifacts:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.stored.get(key)

    async def put(self, key: str, archive: bytes) -> None:
        self.stored[key] = archive


class FakeQueue:
    """Counts the slots taken; never makes anyone wait."""

    def __init__(self) -> None:
        self.taken = 0
        self.held = 0

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        self.taken += 1
        self.held += 1
        try:
            yield
        finally:
            self.held -= 1

    def slot(self) -> Any:
        return self._slot()


class FakeSecretBox:
    """Encrypts under the first of `keys` (a name stands for a Fernet key), decrypts under any of them:
    MultiFernet's behaviour, with ciphertexts a test can read (`<key>:<base64 of the reversed text>`)."""

    def __init__(self, *keys: str) -> None:
        self.keys = list(keys or ("k1",))

    def encrypt(self, plaintext: str) -> str:
        return f"{self.keys[0]}:" + base64.b64encode(plaintext[::-1].encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        key, _, sealed = ciphertext.partition(":")
        if key not in self.keys:
            raise InvalidInput("A stored secret cannot be decrypted with the configured keys.")
        return base64.b64decode(sealed).decode()[::-1]

    def rotate(self, ciphertext: str) -> str:
        return self.encrypt(self.decrypt(ciphertext))


class FakeKeyChecker:
    """An AI provider that takes the keys in `accepted`, refuses the others, or cannot be reached (`down`)."""

    def __init__(self, *accepted: str) -> None:
        self.accepted = set(accepted)
        self.down = False
        self.checked: list[tuple[str, str]] = []

    async def check(self, provider: str, key: str) -> None:
        self.checked.append((provider, key))
        if self.down:
            raise Unavailable(f"{provider} could not be reached. Nothing was stored.")
        if key not in self.accepted:
            raise InvalidInput(f"{provider} refused this key (401 invalid_api_key). Nothing was stored.")


class ServingRunner:
    """A sandbox that serves (a preview) until stopped, like a web server."""

    name = "bubblewrap"

    def __init__(self) -> None:
        self.requests: list[SandboxRequest] = []

    async def execute(
        self, request: SandboxRequest, *, on_output: Any = None, cancel: Cancellation | None = None
    ) -> SandboxResult:
        self.requests.append(request)
        stopped = asyncio.Event()
        assert cancel is not None
        cancel.on_cancel(stopped.set)
        await stopped.wait()
        return SandboxResult(
            exit_code=None, signal=9, stdout=b"", stderr=b"", truncated=False, cpu_ms=1, wall_ms=1, memory_kb=1
        )

    async def version(self, argv: list[str]) -> str:
        return "test"
