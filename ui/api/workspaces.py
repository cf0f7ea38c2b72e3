"""Workspaces over REST: create (from a template or a ZIP), list and search, read, change, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from domain.entities import Workspace
from ui.api.bodies import read_body
from ui.api.deps import CallerDep
from ui.api.routing import ApiRoute
from ui.context import services

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"], route_class=ApiRoute)


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=255)
    language: str
    template: str = "blank"
    description: str | None = None


class WorkspacePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=255)
    description: str | None = None
    editor: dict[str, Any] | None = Field(
        default=None, description="Editor settings to change: theme, font_size, tab_size, word_wrap, autosave_delay_ms"
    )
    entry: str | None = Field(
        default=None,
        description="The file a run without a path runs (settings.run.entry); an empty string clears it",
    )


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    description: str | None
    language: str
    template: str
    settings: dict[str, Any]
    is_public: bool
    owner_id: UUID
    last_accessed_at: datetime
    created_at: datetime
    updated_at: datetime


def workspace_out(workspace: Workspace) -> WorkspaceOut:
    return WorkspaceOut.model_validate(workspace)


@router.get("")
async def list_workspaces(caller: CallerDep, q: str = "") -> list[WorkspaceOut]:
    """Your workspaces and those shared with you, most recently opened first; `q` searches name and description."""
    return [workspace_out(w) for w in await services().workspaces.list_accessible(caller.actor, query=q)]


@router.post("", status_code=201)
async def create_workspace(body: WorkspaceIn, caller: CallerDep) -> WorkspaceOut:
    workspace = await services().workspaces.create(
        caller.actor, name=body.name, language=body.language, template=body.template, description=body.description
    )
    return workspace_out(workspace)


@router.post("/import", status_code=201)
async def import_workspace(
    request: Request, caller: CallerDep, name: str = Query(max_length=255), language: str = Query()
) -> WorkspaceOut:
    """A new workspace holding the files of the ZIP archive sent as the request body."""
    svc = services()
    archive = await read_body(request, svc.files.limits.max_binary_bytes * 4)
    workspace = await svc.workspaces.create(caller.actor, name=name, language=language, archive=archive)
    return workspace_out(workspace)


@router.get("/{workspace_id}")
async def get_workspace(workspace_id: UUID, caller: CallerDep) -> WorkspaceOut:
    return workspace_out(await services().workspaces.get(caller.actor, workspace_id))


@router.patch("/{workspace_id}")
async def patch_workspace(workspace_id: UUID, body: WorkspacePatch, caller: CallerDep) -> WorkspaceOut:
    workspace = await services().workspaces.update(
        caller.actor, workspace_id, name=body.name, description=body.description, editor=body.editor, entry=body.entry
    )
    return workspace_out(workspace)


@router.delete("/{workspace_id}", status_code=204)
async def delete_workspace(workspace_id: UUID, caller: CallerDep) -> Response:
    await services().workspaces.delete(caller.actor, workspace_id)
    return Response(status_code=204)
