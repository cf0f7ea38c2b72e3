"""Public read-only links: whoever holds a link's token may view the workspace (its tree, its files, its
ZIP archive) without signing in, until the link expires or is revoked. Only those allowed to `share`
the workspace make, list and revoke its links; an unknown, expired or revoked token is one and the same
`NotFound`, so nothing tells them apart."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain import access, cache_keys
from domain.access import ANONYMOUS, Action, Actor, WorkspaceResource
from domain.ai_keys import expiry
from domain.entities import FOLDER_MIME, FileInfo, PublicShare, Workspace
from domain.errors import NotFound
from domain.files import Offload, archive_of, file_bytes, info_of, inline
from domain.gate import WorkspaceGate
from domain.ports import Cache, Clock, UnitOfWorkFactory
from domain.values import WorkspacePath

TOKEN_BYTES = 32
"""`secrets.token_urlsafe(32)`: 256 random bits, 43 URL-safe characters."""
NO_SUCH_LINK = "This link does not exist, has expired or was revoked."


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def plausible_token(token: str) -> bool:
    """Whether `token` could be one of ours (checked before touching the database)."""
    return 16 <= len(token) <= 255 and all(c.isalnum() or c in "-_" for c in token)


@dataclass(frozen=True, slots=True)
class SharedView:
    """What a link's visitor sees: the workspace and the link they came through."""

    workspace: Workspace
    link: PublicShare


class PublicLinkService:
    def __init__(
        self, *, uow: UnitOfWorkFactory, cache: Cache, clock: Clock, gate: WorkspaceGate, offload: Offload = inline
    ) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock
        self._gate = gate
        self._offload = offload

    # --- the owner's side ----------------------------------------------------------------------

    async def create(self, actor: Actor, workspace_id: UUID, *, expires_at: datetime | None = None) -> PublicShare:
        now = self._clock()
        # In UTC (a time without a zone is taken as UTC). A time already past is taken as it is, as for AI
        # keys: the link has expired at once (its address answers 404) and shows as expired in the list.
        expires_at = expiry(expires_at)
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.SHARE, workspace_id)
            link = PublicShare(
                workspace_id=workspace_id, share_token=new_token(), expires_at=expires_at, created_at=now
            )
            await uow.shares.add_public(link)
            await uow.commit()
        return link

    async def links(self, actor: Actor, workspace_id: UUID) -> list[PublicShare]:
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.SHARE, workspace_id)
            return list(await uow.shares.list_public(workspace_id))

    async def revoke(self, actor: Actor, workspace_id: UUID, link_id: UUID) -> None:
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.SHARE, workspace_id)
            if not await uow.shares.delete_public(workspace_id, link_id):
                raise NotFound("This workspace has no such link.")
            await uow.commit()

    # --- the visitor's side --------------------------------------------------------------------

    async def resolve(self, token: str, *, count_view: bool = False) -> SharedView:
        """The workspace behind a live link (and, for a page view, one more on its count, atomically)."""
        if not plausible_token(token):
            raise NotFound(NO_SUCH_LINK)
        async with self._uow() as uow:
            link = await uow.shares.get_public(token)
            if link is None:
                raise NotFound(NO_SUCH_LINK)
            workspace = await uow.workspaces.get(link.workspace_id)
            if workspace is None:
                raise NotFound(NO_SUCH_LINK)
            resource = WorkspaceResource(workspace_id=workspace.id, owner_id=workspace.owner_id, public_link=link)
            try:
                access.require(ANONYMOUS, Action.VIEW, resource, now=self._clock())
            except NotFound:
                raise NotFound(NO_SUCH_LINK) from None
            if count_view:
                count = await uow.shares.count_public_view(link.id)
                if count is None:
                    raise NotFound(NO_SUCH_LINK)
                link.view_count = count
                await uow.commit()
        return SharedView(workspace=workspace, link=link)

    async def tree(self, view: SharedView) -> list[FileInfo]:
        """The files (and explicit folders) of a workspace already resolved from a link."""
        async with self._uow() as uow:
            return list(await uow.files.list_info(view.workspace.id))

    async def read(self, token: str, path: str) -> tuple[FileInfo, bytes]:
        view = await self.resolve(token)
        return await self.read_in(view, path)

    async def read_in(self, view: SharedView, path: str) -> tuple[FileInfo, bytes]:
        """A file of a workspace already resolved from a link (one page: one check)."""
        target = WorkspacePath(path).value
        async with self._uow() as uow:
            file = await uow.files.get(view.workspace.id, target)
        if file is None or file.mime_type == FOLDER_MIME:
            raise NotFound(f"There is no file {target}.")
        return info_of(file), file_bytes(file)

    async def archive(self, token: str) -> tuple[Workspace, bytes]:
        view = await self.resolve(token)
        async with self._uow() as uow:
            files = await uow.files.list(view.workspace.id)
        return view.workspace, await self._offload(archive_of, files)

    async def rendered(self, view: SharedView, info: FileInfo, data: bytes, render: Callable[[str, bytes], str]) -> str:
        """`render(path, data)` of a shared text file, kept in the cache by (workspace, path, content hash):
        a popular link renders each version of a file once; a changed file has a new hash, so a new key."""
        key = cache_keys.public_page(view.workspace.id, info.path, info.content_hash)
        cached = await self._cache.get(key)
        if isinstance(cached, str):
            return cached
        html = await self._offload(render, info.path, data)
        await self._cache.set(key, html)
        return html

    async def visitor_may(self, actor: Actor, view: SharedView, action: Action) -> bool:
        """Whether a signed-in visitor may also do `action` to the workspace on their own account."""
        if actor.user_id is None:
            return False
        async with self._uow() as uow:
            try:
                role = await self._gate.check(uow, actor, Action.VIEW, view.workspace)
            except NotFound:
                return False
        return access.allowed(role, action)
