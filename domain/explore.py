"""Explore, stars and forks: list and search public workspaces and published templates, star and unstar
them, fork one into a workspace of one's own, and (the owner only) make a workspace public or publish it
as a template."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from uuid import UUID, uuid4

from domain.access import Action, Actor
from domain.entities import ExploreEntry, PublicShare, Workspace
from domain.errors import NotFound
from domain.gate import WorkspaceGate
from domain.ports import Clock, UnitOfWorkFactory
from domain.quotas import check_fits, check_workspaces
from domain.values import parse_enum, require_text

PAGE_SIZE = 20
MAX_PAGE = 500
MAX_QUERY_LENGTH = 200


class ExploreSort(StrEnum):
    STARS = "stars"  # most starred first
    FORKS = "forks"  # most forked first
    RECENT = "recent"  # most recently changed first


FORK_SUFFIX = " (fork)"
MAX_NAME_LENGTH = 255


@dataclass(frozen=True, slots=True)
class ExplorePage:
    """One page of Explore: its entries, which of them the person starred, and the paging."""

    entries: list[ExploreEntry]
    starred: frozenset[UUID]
    page: int
    pages: int
    total: int


def _name(value: str) -> str:
    return require_text(value, what="workspace name", max_length=MAX_NAME_LENGTH)


def fork_name(name: str) -> str:
    return name[: MAX_NAME_LENGTH - len(FORK_SUFFIX)] + FORK_SUFFIX


class ExploreService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, gate: WorkspaceGate) -> None:
        self._uow = uow
        self._clock = clock
        self._gate = gate

    async def search(self, actor: Actor, *, query: str = "", sort: str = "stars", page: int = 1) -> ExplorePage:
        """Anyone (signed in or not) may list public workspaces and templates."""
        order = parse_enum(ExploreSort, sort, what="sort").value
        number = min(max(page, 1), MAX_PAGE)
        text = query.strip()[:MAX_QUERY_LENGTH]
        async with self._uow() as uow:
            entries, total = await uow.workspaces.search_public(
                text, sort=order, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
            )
            starred: set[UUID] = set()
            if actor.user_id is not None and entries:
                starred = await uow.stars.among(actor.user_id, [e.workspace.id for e in entries])
        pages = max(1, -(-total // PAGE_SIZE))
        return ExplorePage(entries=list(entries), starred=frozenset(starred), page=number, pages=pages, total=total)

    async def templates(self, language: str | None = None) -> list[ExploreEntry]:
        """Published templates (most starred first) for the New workspace dialog."""
        async with self._uow() as uow:
            entries, _ = await uow.workspaces.search_public(
                "", sort="stars", offset=0, limit=100, templates_only=True, language=language
            )
        return list(entries)

    async def star(self, actor: Actor, workspace_id: UUID) -> Workspace:
        """Star a workspace one may see; starring twice counts once."""
        return await self._set_star(actor, workspace_id, starred=True)

    async def unstar(self, actor: Actor, workspace_id: UUID) -> Workspace:
        """Take one's star back; unstarring what one never starred changes nothing."""
        return await self._set_star(actor, workspace_id, starred=False)

    async def _set_star(self, actor: Actor, workspace_id: UUID, *, starred: bool) -> Workspace:
        user_id = actor.require_user()
        now = self._clock()
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.STAR, workspace_id)
            if starred:
                changed = await uow.stars.add(user_id, workspace_id, at=now)
            else:
                changed = await uow.stars.remove(user_id, workspace_id)
            if changed:
                await uow.workspaces.add_to_count(workspace_id, "star_count", 1 if starred else -1)
            await uow.commit()
            await self._gate.forget_metadata(workspace_id)
            fresh = await uow.workspaces.get(workspace_id)
        assert fresh is not None
        return fresh

    async def is_starred(self, actor: Actor, workspace_id: UUID) -> bool:
        if actor.user_id is None:
            return False
        async with self._uow() as uow:
            return workspace_id in await uow.stars.among(actor.user_id, [workspace_id])

    async def fork(
        self, actor: Actor, workspace_id: UUID, *, name: str | None = None, via_link: PublicShare | None = None
    ) -> Workspace:
        """Copy every file and folder of a workspace one may see (`via_link`: through that public link) into
        a new workspace of one's own (same language, template and settings), within one's plan; the
        original's fork count grows by one."""
        user_id = actor.require_user()
        now = self._clock()
        async with self._uow() as uow:
            source = await self._gate.require(uow, actor, Action.FORK, workspace_id, public_link=via_link)
            await check_workspaces(uow, user_id)
            forker = await uow.users.get(user_id)
            if forker is None:
                raise NotFound("Your account no longer exists.")
            await check_fits(uow, forker, workspace_id)
            copy = Workspace(
                owner_id=user_id,
                name=fork_name(source.name)
                if name is None
                else require_text(name, what="workspace name", max_length=MAX_NAME_LENGTH),
                description=source.description,
                language=source.language,
                template=source.template,
                settings=dict(source.settings),
                forked_from=source.id,
                last_accessed_at=now,
                created_at=now,
                updated_at=now,
            )
            await uow.workspaces.add(copy)
            files = await uow.files.list(workspace_id)
            await uow.files.add_many(
                [replace(f, id=uuid4(), workspace_id=copy.id, created_at=now, updated_at=now) for f in files]
            )
            await uow.workspaces.add_to_count(workspace_id, "fork_count", 1)
            await uow.commit()
        await self._gate.forget_metadata(workspace_id)
        return copy
