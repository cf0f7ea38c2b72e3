"""Public read-only links over REST: a workspace's links (each with its full address and view count), a new
one (with an optional expiry), revoking one. Only those who may share the workspace see or touch them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from domain.entities import PublicShare
from ui.api.deps import CallerDep
from ui.api.expiry import Expiry
from ui.api.routing import api_router, links
from ui.context import services

router = api_router(prefix="/api/v1/workspaces/{workspace_id:uuid}/links", tags=["sharing"])

LINK_ENDS = "When the link stops working (a time already past makes a link that has expired); null or left out: never"


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    expires_at: Expiry | None = Field(default=None, description=LINK_ENDS)


class LinkOut(BaseModel):
    id: UUID
    url: str
    """The link's full address: whoever has it may view the workspace (read-only) until it expires or is revoked."""
    view_count: int
    """How many times its page was viewed."""
    expires_at: datetime | None
    created_at: datetime


def link_out(link: PublicShare) -> LinkOut:
    return LinkOut(
        id=link.id,
        url=f"{services().settings.base_url}/s/{link.share_token}",
        view_count=link.view_count,
        expires_at=link.expires_at,
        created_at=link.created_at,
    )


CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Made; its `url` works at once",
        "links": {
            **links("create_link", "list_links", workspace_id="$request.path.workspace_id"),
            **links(
                "create_link", "delete_link", workspace_id="$request.path.workspace_id", link_id="$response.body#/id"
            ),
        },
    }
}


@router.get("")
async def list_links(workspace_id: UUID, caller: CallerDep) -> list[LinkOut]:
    """The workspace's public links, newest first (expired ones too, until revoked)."""
    return [link_out(link) for link in await services().public_links.links(caller.actor, workspace_id)]


@router.post("", status_code=201, responses=CREATED)
async def create_link(workspace_id: UUID, body: LinkIn, caller: CallerDep) -> LinkOut:
    """A new public read-only link to the workspace, optionally expiring."""
    return link_out(await services().public_links.create(caller.actor, workspace_id, expires_at=body.expires_at))


@router.delete("/{link_id:uuid}", status_code=204)
async def delete_link(workspace_id: UUID, link_id: UUID, caller: CallerDep) -> Response:
    """Revoke a link: its address answers 404 from now on."""
    await services().public_links.revoke(caller.actor, workspace_id, link_id)
    return Response(status_code=204)
