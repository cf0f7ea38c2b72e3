"""Workspaces over REST: create (from a template or a ZIP), list and search, read, change, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from domain.entities import Workspace
from ui.api.bodies import read_body
from ui.api.contract import ZIP_BODY, Description, EditorSettingsChanges, EntryPath, LanguageName, WorkspaceName
from ui.api.deps import CallerDep
from ui.api.routing import api_router, links
from ui.context import services

router = api_router(prefix="/api/v1/workspaces", tags=["workspaces"])


class WorkspaceIn(BaseModel):
    """The document lists each language's templates (`ui.api.openapi`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: WorkspaceName
    language: LanguageName
    template: str = "blank"
    description: Description | None = None


class WorkspacePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: WorkspaceName | None = None
    description: Description | None = None
    editor: EditorSettingsChanges | None = None
    entry: EntryPath | None = None
    is_public: bool | None = None
    """Owner only: list it on Explore, readable (and starrable, forkable) by everyone."""
    is_template: bool | None = None
    """Owner only: publish it as a template: readable by everyone, on Explore and in everyone's New
    workspace dialog (creating from it forks it)."""


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    description: str | None
    language: str
    template: str
    settings: dict[str, Any]
    is_public: bool
    is_template: bool
    star_count: int
    fork_count: int
    forked_from: UUID | None
    """The workspace this one was forked from (null when it was not, or that one is deleted)."""
    owner_id: UUID
    last_accessed_at: datetime
    created_at: datetime
    updated_at: datetime


def workspace_out(workspace: Workspace) -> WorkspaceOut:
    return WorkspaceOut.model_validate(workspace)


WORKSPACE_OPERATIONS = (
    "get_workspace", "patch_workspace", "delete_workspace", "list_files", "create_folder", "download_archive",
    "import_archive", "list_runs", "start_preview",
)  # fmt: skip
"""What a new workspace takes at once; moving or running one of its files needs that file first."""


def created_workspace(source: str) -> dict[int | str, dict[str, Any]]:
    """The 201 answer of a create, with links to what can be done with the new workspace."""
    follow = links(source, *WORKSPACE_OPERATIONS, workspace_id="$response.body#/id")
    return {201: {"description": "Created", "links": follow}}


@router.get("")
async def list_workspaces(caller: CallerDep, q: str = "") -> list[WorkspaceOut]:
    """Your workspaces and those shared with you, most recently opened first; `q` searches name and description."""
    return [workspace_out(w) for w in await services().workspaces.list_accessible(caller.actor, query=q)]


@router.post("", status_code=201, responses=created_workspace("create_workspace"))
async def create_workspace(body: WorkspaceIn, caller: CallerDep) -> WorkspaceOut:
    workspace = await services().workspaces.create(
        caller.actor, name=body.name, language=body.language, template=body.template, description=body.description
    )
    return workspace_out(workspace)


@router.post("/import", status_code=201, responses=created_workspace("import_workspace"), openapi_extra=ZIP_BODY)
async def import_workspace(
    request: Request, caller: CallerDep, name: Annotated[WorkspaceName, Query()], language: LanguageName
) -> WorkspaceOut:
    """A new workspace holding the files of the ZIP archive sent as the request body."""
    svc = services()
    archive = await read_body(request, svc.files.limits.max_binary_bytes * 4)
    workspace = await svc.workspaces.create(caller.actor, name=name, language=language, archive=archive)
    return workspace_out(workspace)


@router.get("/{workspace_id:uuid}")
async def get_workspace(workspace_id: UUID, caller: CallerDep) -> WorkspaceOut:
    return workspace_out(await services().workspaces.get(caller.actor, workspace_id))


@router.patch("/{workspace_id:uuid}")
async def patch_workspace(workspace_id: UUID, body: WorkspacePatch, caller: CallerDep) -> WorkspaceOut:
    workspace = await services().workspaces.update(
        caller.actor,
        workspace_id,
        name=body.name,
        description=body.description,
        editor=body.editor,
        entry=body.entry,
        is_public=body.is_public,
        is_template=body.is_template,
    )
    return workspace_out(workspace)


@router.delete("/{workspace_id:uuid}", status_code=204)
async def delete_workspace(workspace_id: UUID, caller: CallerDep) -> Response:
    await services().workspaces.delete(caller.actor, workspace_id)
    return Response(status_code=204)
