"""Loads a workspace (through the `workspace:<id>` cache entry) and runs the one access check on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain import access, cache_keys
from domain.access import Action, Actor, WorkspaceResource
from domain.cache_keys import CacheKey
from domain.codec import from_json, to_json
from domain.entities import PublicShare, Workspace
from domain.errors import NotFound
from domain.ports import Cache, Clock, UnitOfWork

NO_SUCH_WORKSPACE = "No such workspace, or you have no access to it."
CHANGE_FENCE_HALF_LIFE = timedelta(seconds=cache_keys.CHANGE_FENCE_SECONDS / 2)


class WorkspaceGate:
    def __init__(self, *, cache: Cache, clock: Clock) -> None:
        self._cache = cache
        self._clock = clock

    async def require(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: Action,
        workspace_id: UUID,
        *,
        public_link: PublicShare | None = None,
    ) -> Workspace:
        """The workspace, if the actor may do `action` to it; `NotFound` if they may not even see it.
        `public_link`: the link the actor came through (a link visitor's role counts too)."""
        workspace = await self._load(uow, workspace_id)
        await self.check(uow, actor, action, workspace, public_link=public_link)
        return workspace

    async def role(self, uow: UnitOfWork, actor: Actor, workspace_id: UUID) -> access.Role:
        """The actor's role on the workspace; `NotFound` if they may not even see it."""
        return await self.check(uow, actor, Action.VIEW, await self._load(uow, workspace_id))

    async def check(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: Action,
        workspace: Workspace,
        *,
        public_link: PublicShare | None = None,
    ) -> access.Role:
        # The owner's role is owner whatever is shared: their shares are not read (one query fewer a save).
        user_id = actor.user_id
        shares = (
            ()
            if user_id is None or user_id == workspace.owner_id
            else tuple(await uow.shares.for_user(workspace.id, user_id))
        )
        # a published template is readable by everyone, like a public workspace
        public = workspace.is_public or workspace.is_template
        resource = WorkspaceResource(
            workspace_id=workspace.id,
            owner_id=workspace.owner_id,
            is_public=public,
            shares=shares,
            public_link=public_link,
        )
        return access.require(actor, action, resource, now=self._clock())

    async def forget(self, workspace_id: UUID) -> None:
        """Drop the cached metadata and file tree and fence them off for a moment (`cache_keys.fence_of`):
        call after every change to either, or beside the statement that commits it (`FileService.write`)."""
        await self._cache.fence(cache_keys.workspace(workspace_id), cache_keys.workspace_files(workspace_id))

    async def forget_metadata(self, workspace_id: UUID) -> None:
        """Drop the cached metadata only (the file tree is unchanged), fenced off as by `forget`."""
        await self._cache.fence(cache_keys.workspace(workspace_id))

    async def keep(self, key: CacheKey, value: Any, *, read_at: datetime) -> None:
        """Cache what was read from the database at `read_at` about a workspace (its metadata or its tree):
        not while a change has it fenced off, nor when the read is older than half a fence's life (a change
        that committed just after the read may have put up a fence that runs out before this lands)."""
        if self._clock() - read_at <= CHANGE_FENCE_HALF_LIFE:
            await self._cache.set(key, value, fenced=True)

    async def _load(self, uow: UnitOfWork, workspace_id: UUID) -> Workspace:
        key = cache_keys.workspace(workspace_id)
        cached = await self._cache.get(key)
        if cached is not None:
            return from_json(Workspace, cached)
        read_at = self._clock()
        workspace = await uow.workspaces.get(workspace_id)
        if workspace is None:
            raise NotFound(NO_SUCH_WORKSPACE)
        await self.keep(key, to_json(workspace), read_at=read_at)
        return workspace
