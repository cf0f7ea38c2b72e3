"""REST API v1 and the plain HTTP routes, over the same services as the pages."""

from fastapi import APIRouter

from ui.api import (
    account,
    ai_keys,
    bundles,
    conversations,
    explore,
    extensions,
    files,
    links,
    preview,
    runs,
    runs_ws,
    session,
    sessions,
    shares,
    sign_in,
    workspaces,
)

router = APIRouter()
router.include_router(session.router)
router.include_router(sign_in.router)
router.include_router(workspaces.router)
router.include_router(files.router)
router.include_router(runs.router)
router.include_router(runs_ws.router)
router.include_router(preview.router)
router.include_router(account.router)
router.include_router(ai_keys.router)
router.include_router(sessions.router)
router.include_router(links.router)
router.include_router(shares.router)
router.include_router(explore.router)
router.include_router(conversations.router)
router.include_router(extensions.router)
router.include_router(bundles.router)

__all__ = ["router"]
