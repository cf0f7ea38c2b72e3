"""The session (with its CSRF token), sign-out and health; sign-in links are in `ui.api.sign_in`."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from domain.errors import Unauthenticated
from ui.api.deps import CallerDep
from ui.api.routing import api_router
from ui.context import services
from ui.drain import DRAIN
from ui.security import clear_session_cookie, csrf_token, session_token

router = api_router()


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
    """The database, the cache, the run queue and the sandbox, each on its own (503 if one is down)."""
    report = await services().health()
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


@router.get("/readyz", include_in_schema=False)
async def readyz() -> JSONResponse:
    """Whether a load balancer should send this instance work: not while it stops (drains), nor while its
    database, cache or queue is down."""
    if DRAIN.draining:
        return JSONResponse({"ready": False, "reason": "stopping: finishing the runs in flight"}, status_code=503)
    report = await services().health()
    if report["status"] != "ok":
        down = {name: state for name, state in report.items() if name not in ("status", "sandbox")}
        return JSONResponse({"ready": False, "reason": down}, status_code=503)
    return JSONResponse({"ready": True})
