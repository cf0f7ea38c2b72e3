"""The API's documentation, served whole by Codeloft itself: `/openapi.json`, and Swagger UI at `/docs`
from files that ship with Codeloft (swagger-ui-dist 5, Apache-2.0, `ui/static/swagger-ui/`), so the
page works without reaching a CDN, as an installation on a closed network must."""

from __future__ import annotations

from pathlib import Path

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from nicegui.app import App
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parents[1] / "static" / "swagger-ui"
ASSETS_URL = "/docs-assets"


def install(app: App) -> None:
    """Serve `/openapi.json` and `/docs` (with their assets) from `app`, NiceGUI's FastAPI app."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")  # a mount: not in the document

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Codeloft API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        )
