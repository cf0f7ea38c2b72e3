"""The layout every signed-in page shares: header with the product name, the user and sign-out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from ui.context import services
from ui.errors import notify_errors
from ui.viewer import Viewer


@contextmanager
def frame(title: str, viewer: Viewer) -> Iterator[None]:
    ui.page_title(f"{title} · Codeloft")

    @notify_errors
    async def sign_out() -> None:
        await services().auth.sign_out(viewer.token)
        ui.navigate.to("/signed-out")

    with ui.header().classes("items-center justify-between bg-slate-800 text-white px-4 py-2"):
        ui.link("Codeloft", "/").classes("text-lg font-bold text-white no-underline")
        with ui.row().classes("items-center gap-3"):
            ui.label(viewer.user.label).classes("text-sm").props('data-testid="user-label"')
            ui.button("Sign out", on_click=sign_out).props("flat color=white dense")
    with ui.column().classes("w-full max-w-5xl mx-auto p-4 gap-4"):
        yield
