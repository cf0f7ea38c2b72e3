"""Explore, stars and forks over REST: list and search public workspaces and published templates (no
sign-in needed), star and unstar a workspace, fork one into a workspace of your own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from domain.access import ANONYMOUS, Actor
from domain.errors import Unauthenticated
from domain.explore import MAX_PAGE, MAX_QUERY_LENGTH, ExplorePage
from ui.api.deps import CallerDep, authenticated
from ui.api.routing import api_router
from ui.api.workspaces import WorkspaceOut, created_workspace, workspace_out
from ui.context import services
from ui.security import session_token

router = api_router(prefix="/api/v1", tags=["explore"])


async def viewer(request: Request) -> Actor:
    """The signed-in person, or anonymous (no session, or one that has ended): Explore is for everyone."""
    if not session_token(request):
        return ANONYMOUS
    try:
        return (await authenticated(request)).actor
    except Unauthenticated:
        return ANONYMOUS


ViewerDep = Annotated[Actor, Depends(viewer)]


class ExploreEntryOut(BaseModel):
    id: UUID
    name: str
    description: str | None
    language: str
    owner_name: str
    """The owner's display name (never their e-mail address)."""
    is_public: bool
    is_template: bool
    star_count: int
    fork_count: int
    starred: bool
    """Whether you starred it (always false when not signed in)."""
    updated_at: datetime


class ExplorePageOut(BaseModel):
    items: list[ExploreEntryOut]
    page: int
    pages: int
    total: int


def explore_page_out(found: ExplorePage) -> ExplorePageOut:
    return ExplorePageOut(
        items=[
            ExploreEntryOut(
                id=e.workspace.id,
                name=e.workspace.name,
                description=e.workspace.description,
                language=e.workspace.language.value,
                owner_name=e.owner_name,
                is_public=e.workspace.is_public,
                is_template=e.workspace.is_template,
                star_count=e.workspace.star_count,
                fork_count=e.workspace.fork_count,
                starred=e.workspace.id in found.starred,
                updated_at=e.workspace.updated_at,
            )
            for e in found.entries
        ],
        page=found.page,
        pages=found.pages,
        total=found.total,
    )


@router.get("/explore")
async def explore(
    actor: ViewerDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    sort: Literal["stars", "forks", "recent"] = "stars",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> ExplorePageOut:
    """Public workspaces and published templates, for everyone (signed in or not): `q` searches their name
    and description, `sort` orders them (most stars, most forks, most recently changed), 20 a page."""
    return explore_page_out(await services().explore.search(actor, query=q, sort=sort, page=page))


class StarOut(BaseModel):
    starred: bool
    star_count: int


@router.post("/workspaces/{workspace_id:uuid}/star")
async def star_workspace(workspace_id: UUID, caller: CallerDep) -> StarOut:
    """Star a workspace you can see; starring it again changes nothing."""
    workspace = await services().explore.star(caller.actor, workspace_id)
    return StarOut(starred=True, star_count=workspace.star_count)


@router.delete("/workspaces/{workspace_id:uuid}/star")
async def unstar_workspace(workspace_id: UUID, caller: CallerDep) -> StarOut:
    """Take your star back; unstarring one you never starred changes nothing."""
    workspace = await services().explore.unstar(caller.actor, workspace_id)
    return StarOut(starred=False, star_count=workspace.star_count)


@router.post("/workspaces/{workspace_id:uuid}/fork", status_code=201, responses=created_workspace("fork_workspace"))
async def fork_workspace(workspace_id: UUID, caller: CallerDep) -> WorkspaceOut:
    """A new workspace of yours holding a copy of every file and folder of one you can see (named
    "<name> (fork)"), within your plan's limits; the original's fork count grows by one."""
    return workspace_out(await services().explore.fork(caller.actor, workspace_id))
