"""Sharing a workspace with people over REST: its shares (each person it is shared with, as read, write or
admin, optionally until a time), inviting someone (again: changing their one share), changing and ending a
share (the person it is shared with may end their own: leaving), giving the workspace to someone else, and
the workspaces shared with you. Only the owner and admins see or touch a workspace's shares; only the owner
transfers it. What each permission allows is one matrix (`domain/access.py`): read views, runs, previews
and forks; write also edits files; admin also manages shares, links and settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from domain.entities import SharedWorkspace, ShareMember
from ui.api.contract import CONTROL, SPACE, documented
from ui.api.deps import CallerDep
from ui.api.expiry import Expiry
from ui.api.routing import api_router, links
from ui.api.workspaces import WorkspaceOut, workspace_out
from ui.context import services

router = api_router(prefix="/api/v1/workspaces", tags=["sharing"])

Permission = Literal["read", "write", "admin"]
"""read: view files, run, preview, fork; write: also create, change and delete files; admin: also manage
shares, public links and settings. Only the owner deletes or transfers the workspace."""

EMAIL_PATTERN = f"^[^@{CONTROL}{SPACE}]+@[^@{CONTROL}{SPACE}]+$"
"""name@host, as `domain.values.Email` takes it (no space or control character, one `@`)."""
AccountEmail = Annotated[
    str,
    documented(
        maxLength=255,
        pattern=EMAIL_PATTERN,
        description="The e-mail address of a Codeloft account (any case); an address no account has answers "
        "404 and nothing is stored: the person signs in once first",
    ),
]
SHARE_ENDS = "When the share ends by itself (a time already past makes a share that has ended); null: never"


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: AccountEmail
    permission: Permission
    expires_at: Expiry | None = Field(default=None, description=SHARE_ENDS)
    """Left out or null: the share never ends by itself."""


class SharePatch(BaseModel):
    """What to change; what is left out stays. `expires_at: null` makes the share never end by itself."""

    model_config = ConfigDict(extra="forbid", strict=True)

    permission: Permission | None = None
    expires_at: Expiry | None = Field(default=None, description=SHARE_ENDS)


class ShareOut(BaseModel):
    id: UUID
    email: str
    """The e-mail address of the person the workspace is shared with."""
    display_name: str | None
    permission: Permission
    expires_at: datetime | None
    """When the share ends (or ended) by itself; null: never."""
    created_at: datetime


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: AccountEmail


class SharedWorkspaceOut(BaseModel):
    workspace: WorkspaceOut
    owner_name: str
    """The owner's display name, else their e-mail address."""
    share_id: UUID
    """Your share: DELETE it to leave the workspace."""
    permission: Permission
    expires_at: datetime | None
    """When your access ends by itself; null: never."""


def share_out(member: ShareMember) -> ShareOut:
    share = member.share
    return ShareOut(
        id=share.id,
        email=member.email,
        display_name=member.display_name,
        permission=share.permission_level.value,
        expires_at=share.expires_at,
        created_at=share.created_at,
    )


def shared_workspace_out(shared: SharedWorkspace) -> SharedWorkspaceOut:
    return SharedWorkspaceOut(
        workspace=workspace_out(shared.workspace),
        owner_name=shared.owner_name,
        share_id=shared.share.id,
        permission=shared.share.permission_level.value,
        expires_at=shared.share.expires_at,
    )


CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Shared (or, with a person it was shared with already, their share changed); it takes "
        "effect at once",
        "links": {
            **links("create_share", "list_shares", workspace_id="$request.path.workspace_id"),
            **links(
                "create_share",
                "patch_share",
                "delete_share",
                workspace_id="$request.path.workspace_id",
                share_id="$response.body#/id",
            ),
        },
    }
}


@router.get("/shared")
async def list_shared_with_me(caller: CallerDep) -> list[SharedWorkspaceOut]:
    """The workspaces other people shared with you whose share has not ended, each with its owner, your
    permission and when it ends; most recently opened first."""
    return [shared_workspace_out(s) for s in await services().sharing.shared_with_me(caller.actor)]


@router.get("/{workspace_id:uuid}/shares")
async def list_shares(workspace_id: UUID, caller: CallerDep) -> list[ShareOut]:
    """The people the workspace is shared with, oldest share first (those whose share has ended too, until
    it is deleted). Owner and admins only."""
    return [share_out(m) for m in await services().sharing.members(caller.actor, workspace_id)]


@router.post("/{workspace_id:uuid}/shares", status_code=201, responses=CREATED)
async def create_share(workspace_id: UUID, body: ShareIn, caller: CallerDep) -> ShareOut:
    """Share the workspace with the account of `email`. A workspace has one share per person: inviting
    someone it is shared with already changes their share to this permission and expiry (same `id`).
    An address no account has answers 404, the owner's 409; neither stores anything. Owner and admins only."""
    member = await services().sharing.invite(
        caller.actor, workspace_id, email=body.email, permission=body.permission, expires_at=body.expires_at
    )
    return share_out(member)


@router.patch("/{workspace_id:uuid}/shares/{share_id:uuid}")
async def patch_share(workspace_id: UUID, share_id: UUID, body: SharePatch, caller: CallerDep) -> ShareOut:
    """Change a share's permission or expiry; it takes effect at once, also for pages already open. Owner
    and admins only."""
    keep_expiry = "expires_at" not in body.model_fields_set
    member = await services().sharing.change(
        caller.actor,
        workspace_id,
        share_id,
        permission=body.permission,
        expires_at=body.expires_at,
        keep_expiry=keep_expiry,
    )
    return share_out(member)


@router.delete("/{workspace_id:uuid}/shares/{share_id:uuid}", status_code=204)
async def delete_share(workspace_id: UUID, share_id: UUID, caller: CallerDep) -> Response:
    """End a share at once: the owner and admins end anyone's; the person it is shared with ends their own
    (leaves the workspace)."""
    await services().sharing.revoke(caller.actor, workspace_id, share_id)
    return Response(status_code=204)


@router.post("/{workspace_id:uuid}/transfer")
async def transfer_workspace(workspace_id: UUID, body: TransferIn, caller: CallerDep) -> WorkspaceOut:
    """Give the workspace to the account of `email`, who becomes its owner; you keep admin access through a
    share (which they may end). The owner only; it must fit the recipient's plan (their workspaces, files
    and storage: 429 past it) and nothing changes otherwise."""
    return workspace_out(await services().sharing.transfer(caller.actor, workspace_id, email=body.email))
