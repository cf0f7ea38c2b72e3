"""The pages' Tailwind CSS, made ahead of time (scripts/tailwind_css.py) instead of by Tailwind's
runtime in every browser at every page load: served under a name that changes with its content, so
browsers keep it for a year."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi.responses import FileResponse
from nicegui import app

FILE = Path(__file__).parent / "static" / "tailwind.css"
URL = f"/codeloft-static/{hashlib.sha256(FILE.read_bytes()).hexdigest()[:16]}/tailwind.css"
LINK = f'<link rel="stylesheet" href="{URL}">'
YEAR = 365 * 24 * 3600


def install() -> None:
    """Serve the stylesheet (once per process); not an operation of the API, so not in its document."""

    @app.get(URL, include_in_schema=False)
    def tailwind_css() -> FileResponse:
        caching = {"Cache-Control": f"public, max-age={YEAR}, immutable"}
        return FileResponse(FILE, media_type="text/css", headers=caching)
