"""The pages' Tailwind CSS, made ahead of time (scripts/tailwind_css.py) instead of by Tailwind's
runtime in every browser at every page load: served under a name that changes with its content, so
browsers keep it for a year."""

from __future__ import annotations

import hashlib
from pathlib import Path

from nicegui import app

FILE = Path(__file__).parent / "static" / "tailwind.css"
URL = f"/codeloft-static/{hashlib.sha256(FILE.read_bytes()).hexdigest()[:16]}/tailwind.css"
LINK = f'<link rel="stylesheet" href="{URL}">'
YEAR = 365 * 24 * 3600


def install() -> None:
    """Serve the stylesheet (once per process)."""
    app.add_static_file(local_file=FILE, url_path=URL, max_cache_age=YEAR)
