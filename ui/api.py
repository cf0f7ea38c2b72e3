"""REST API v1 and the plain HTTP routes (sign-in links, health). Same services as the pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Actor
from domain.auth import InvalidSignInLink
from domain.entities import Workspace
from domain.errors import PermissionDenied, Unauthenticated
from ui.context import services
from ui.security import (
    CSRF_HEADER,
    clear_session_cookie,
    csrf_token,
    csrf_valid,
    session_token,
    set_session_cookie,
)

router = APIRouter()
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True, slots=True)
class Caller:
    actor: Actor
    user_id: UUID
    session_id: UUID


async def authenticated(request: Request) -> Caller:
    """The signed-in caller; non-GET requests must also carry the session's CSRF token."""
    svc = services()
    session = await svc.auth.authenticate(session_token(request))
    if request.method not in SAFE_METHODS and not csrf_valid(
        svc.csrf_key, session.id, request.headers.get(CSRF_HEADER)
    ):
        raise PermissionDenied(f"Missing or wrong {CSRF_HEADER} header: read it from GET /api/v1/session.")
    return Caller(actor=Actor(user_id=session.user_id), user_id=session.user_id, session_id=session.id)


CallerDep = Annotated[Caller, Depends(authenticated)]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    display_name: str | None
    avatar_url: str | None
    subscription_tier: str
    ai_quota_used: int
    ai_quota_reset_date: date


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str


class WorkspaceIn(BaseModel):
    name: str = Field(max_length=255)
    language: str
    template: str = "blank"
    description: str | None = None


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


@router.get("/api/v1/session", tags=["session"])
async def get_session(caller: CallerDep) -> SessionOut:
    svc = services()
    user = await svc.accounts.profile(caller.user_id)
    return SessionOut(user=UserOut.model_validate(user), csrf_token=csrf_token(svc.csrf_key, caller.session_id))


@router.delete("/api/v1/session", status_code=204, tags=["session"])
async def delete_session(request: Request, caller: CallerDep) -> Response:
    svc = services()
    await svc.auth.sign_out(session_token(request))
    response = Response(status_code=204)
    clear_session_cookie(response, secure=svc.settings.secure_cookies)
    return response


@router.get("/api/v1/workspaces", tags=["workspaces"])
async def list_workspaces(caller: CallerDep) -> list[WorkspaceOut]:
    return [workspace_out(w) for w in await services().workspaces.list_accessible(caller.actor)]


@router.post("/api/v1/workspaces", status_code=201, tags=["workspaces"])
async def create_workspace(body: WorkspaceIn, caller: CallerDep) -> WorkspaceOut:
    workspace = await services().workspaces.create(
        caller.actor,
        name=body.name,
        language=body.language,
        template=body.template,
        description=body.description,
    )
    return workspace_out(workspace)


@router.get("/api/v1/workspaces/{workspace_id}", tags=["workspaces"])
async def get_workspace(workspace_id: UUID, caller: CallerDep) -> WorkspaceOut:
    return workspace_out(await services().workspaces.get(caller.actor, workspace_id))


@router.get("/login/token/{secret}", include_in_schema=False)
async def redeem_sign_in_link(secret: str, request: Request) -> Response:
    svc = services()
    try:
        signed_in = await svc.auth.redeem_sign_in_link(secret, replacing=session_token(request))
    except InvalidSignInLink as error:
        return RedirectResponse(f"/login?reason={error.reason}", status_code=303)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, signed_in.session_token, secure=svc.settings.secure_cookies)
    return response


@router.get("/signed-out", include_in_schema=False)
async def signed_out(request: Request) -> Response:
    """Drop the cookie of a session that was revoked already (a live one is left alone, so a
    cross-site link cannot sign anybody out)."""
    svc = services()
    response = RedirectResponse("/login?reason=signed_out", status_code=303)
    try:
        await svc.auth.authenticate(session_token(request))
    except Unauthenticated:
        clear_session_cookie(response, secure=svc.settings.secure_cookies)
        return response
    return RedirectResponse("/", status_code=303)


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    report = await services().health()
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)
