"""Workspaces: create one from a template, list the ones a user may open, read one."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from uuid import UUID

from domain import access, cache_keys
from domain.access import Action, Actor, WorkspaceResource
from domain.codec import from_json, to_json
from domain.entities import Workspace, WorkspaceFile
from domain.errors import NotFound
from domain.ports import Cache, Clock, UnitOfWork, UnitOfWorkFactory
from domain.templates import find_template
from domain.values import Language, WorkspacePath, parse_enum, require_text

MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 2000


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class WorkspaceService:
    def __init__(self, *, uow: UnitOfWorkFactory, cache: Cache, clock: Clock) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock

    async def create(
        self,
        actor: Actor,
        *,
        name: str,
        language: str,
        template: str = "blank",
        description: str | None = None,
    ) -> Workspace:
        owner_id = actor.require_user()
        lang = parse_enum(Language, language, what="language")
        starter = find_template(lang, template)
        now = self._clock()
        workspace = Workspace(
            owner_id=owner_id,
            name=require_text(name, what="workspace name", max_length=MAX_NAME_LENGTH),
            description=(
                require_text(description, what="description", max_length=MAX_DESCRIPTION_LENGTH, allow_empty=True)
                or None
                if description is not None
                else None
            ),
            language=lang,
            template=starter.name,
            last_accessed_at=now,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            await uow.workspaces.add(workspace)
            for path, text in starter.files.items():
                data = text.encode("utf-8")
                await uow.files.add(
                    WorkspaceFile(
                        workspace_id=workspace.id,
                        path=WorkspacePath(path).value,
                        content=text,
                        content_hash=content_hash(data),
                        size_bytes=len(data),
                        mime_type="text/plain",
                        created_at=now,
                        updated_at=now,
                    )
                )
            await uow.commit()
        return workspace

    async def list_accessible(self, actor: Actor) -> Sequence[Workspace]:
        """The actor's own workspaces and those shared with them, most recently opened first."""
        user_id = actor.require_user()
        async with self._uow() as uow:
            return await uow.workspaces.list_accessible(user_id, now=self._clock())

    async def get(self, actor: Actor, workspace_id: UUID) -> Workspace:
        """One workspace, read through the `workspace:<id>` cache entry, after the access check."""
        workspace = await self._load(workspace_id)
        async with self._uow() as uow:
            await self._require(uow, actor, Action.VIEW, workspace)
        return workspace

    async def _load(self, workspace_id: UUID) -> Workspace:
        key = cache_keys.workspace(workspace_id)
        cached = await self._cache.get(key)
        if cached is not None:
            return from_json(Workspace, cached)
        async with self._uow() as uow:
            workspace = await uow.workspaces.get(workspace_id)
        if workspace is None:
            raise NotFound("No such workspace, or you have no access to it.")
        await self._cache.set(key, to_json(workspace))
        return workspace

    async def _require(self, uow: UnitOfWork, actor: Actor, action: Action, workspace: Workspace) -> access.Role:
        shares = tuple(await uow.shares.for_user(workspace.id, actor.user_id)) if actor.user_id is not None else ()
        resource = WorkspaceResource(
            workspace_id=workspace.id, owner_id=workspace.owner_id, is_public=workspace.is_public, shares=shares
        )
        return access.require(actor, action, resource, now=self._clock())
