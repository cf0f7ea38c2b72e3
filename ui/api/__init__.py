"""REST API v1 and the plain HTTP routes, over the same services as the pages."""

from fastapi import FastAPI

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

ROUTERS = (
    files.router,  # first: an editor's saves and reads are most of the API's requests
    session.router,
    sign_in.router,
    workspaces.router,
    runs.router,
    runs_ws.router,
    preview.router,
    account.router,
    ai_keys.router,
    sessions.router,
    links.router,
    shares.router,
    explore.router,
    conversations.router,
    extensions.router,
    bundles.router,
)


def install_routes(app: FastAPI) -> None:
    """Put the API's routes at the head of the app's own list, not in included routers. FastAPI (0.165)
    keeps an included router as a branch: a request is matched against the branch's routes once to choose
    it and again to handle it, and the routers' tree is walked for changes on every request. The routes
    are whole already (their routers' prefixes and tags are part of them). A request tries the routes in
    order, so the API's go before the pages' (no path of one matches the other's) and the files' first."""
    app.router.routes[0:0] = [route for router in ROUTERS for route in router.routes]


__all__ = ["ROUTERS", "install_routes"]
