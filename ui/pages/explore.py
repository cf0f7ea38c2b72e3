"""Explore (`/explore`): public workspaces and published templates, for everyone. Search by name and
description, sort by stars, forks or recency, page through; a signed-in person stars and forks them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from nicegui import ui

from domain.access import ANONYMOUS, Actor
from domain.entities import ExploreEntry
from domain.explore import ExplorePage
from ui.components.accessible import page_style
from ui.components.frame import frame
from ui.components.new_workspace_dialog import LANGUAGE_LABELS
from ui.context import services
from ui.errors import notify_errors
from ui.viewer import Viewer, viewer

SORT_LABELS = {"stars": "Most stars", "forks": "Most forks", "recent": "Recently changed"}


class ExploreList:
    def __init__(self, current: Viewer | None) -> None:
        self._viewer = current
        self.services = current.services if current else services()
        self.query = ""
        self.sort = "stars"
        self.page = 1
        self.container = ui.column().classes("w-full gap-2").props('data-testid="explore-list"')

    async def actor(self) -> Actor:
        return await self._viewer.actor() if self._viewer else ANONYMOUS

    async def show(self) -> None:
        found = await self.services.explore.search(await self.actor(), query=self.query, sort=self.sort, page=self.page)
        self.container.clear()
        with self.container:
            if not found.entries:
                message = "Nothing public matches your search." if self.query else "Nothing is public yet."
                ui.label(message).classes("text-gray-500").props('data-testid="explore-empty"')
            for entry in found.entries:
                self._card(entry, found)
            if found.pages > 1:
                ui.pagination(1, found.pages, direction_links=True, value=found.page, on_change=self._to_page).props(
                    'data-testid="explore-pages"'
                )

    def _card(self, entry: ExploreEntry, found: ExplorePage) -> None:
        workspace = entry.workspace
        with ui.card().classes("w-full").props('data-testid="explore-card"'):
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                with ui.column().classes("gap-0 min-w-0"):
                    # every text a person wrote goes in as text (ui.label, ui.link), never as HTML
                    if self._viewer is not None:
                        ui.link(workspace.name, f"/w/{workspace.id}").classes(
                            "text-base font-semibold no-underline text-inherit truncate"
                        ).props('data-testid="explore-name"')
                    else:
                        ui.label(workspace.name).classes("text-base font-semibold truncate").props(
                            'data-testid="explore-name"'
                        )
                    ui.label(f"by {entry.owner_name}").classes("text-xs text-gray-500").props(
                        'data-testid="explore-owner"'
                    )
                with ui.row().classes("items-center gap-1 no-wrap"):
                    if workspace.is_template:
                        ui.badge("template").props("outline color=teal")
                    ui.badge(LANGUAGE_LABELS[workspace.language]).props("outline")
            if workspace.description:
                ui.label(workspace.description).classes("text-sm text-gray-600")
            with ui.row().classes("items-center gap-3"):
                starred = workspace.id in found.starred
                ui.label(f"★ {workspace.star_count}").classes("text-sm").props(
                    f'data-testid="explore-stars" aria-label="{workspace.star_count} stars"'
                )
                ui.label(f"⑂ {workspace.fork_count}").classes("text-sm").props(
                    f'data-testid="explore-forks" aria-label="{workspace.fork_count} forks"'
                )
                if self._viewer is not None:
                    star = ui.button(
                        "Unstar" if starred else "Star",
                        icon="star" if starred else "star_border",
                        on_click=lambda w=workspace.id, s=starred: self._toggle_star(w, s),
                    ).props(f'flat dense data-testid="explore-star" aria-pressed="{str(starred).lower()}"')
                    star.tooltip("Take your star back" if starred else "Star it")
                    ui.button("Fork", icon="call_split", on_click=lambda w=workspace.id: self._fork(w)).props(
                        'flat dense data-testid="explore-fork"'
                    )

    async def search(self, event: Any) -> None:
        self.query, self.page = event.value or "", 1
        await self.show()

    async def sort_by(self, event: Any) -> None:
        self.sort, self.page = event.value or "stars", 1
        await self.show()

    async def _to_page(self, event: Any) -> None:
        self.page = int(event.value or 1)
        await self.show()

    @notify_errors
    async def _toggle_star(self, workspace_id: Any, starred: bool) -> None:
        actor = await self.actor()
        if starred:
            await self.services.explore.unstar(actor, workspace_id)
        else:
            await self.services.explore.star(actor, workspace_id)
        await self.show()

    @notify_errors
    async def _fork(self, workspace_id: Any) -> None:
        fork = await self.services.explore.fork(await self.actor(), workspace_id)
        ui.notify(f"Forked into {fork.name}", type="positive")
        ui.navigate.to(f"/w/{fork.id}")


@contextmanager
def visitor_frame() -> Iterator[None]:
    """The layout for someone not signed in: the product name and a way to sign in."""
    ui.page_title("Explore · Codeloft")
    page_style()
    with ui.header().classes("items-center justify-between no-wrap bg-slate-800 text-white px-4 py-1 max-sm:px-2"):
        ui.link("Codeloft", "/").classes("text-lg font-bold text-white no-underline")
        ui.link("Sign in", "/login").classes("text-sm text-white no-underline").props('data-testid="explore-sign-in"')
    with ui.column().classes("w-full max-w-5xl mx-auto p-4 gap-4"):
        yield


@ui.page("/explore", title="Explore · Codeloft")
async def explore_page(request: Request) -> None:
    current = await viewer(request)
    with frame("Explore", current) if current is not None else visitor_frame():
        ui.label("Explore public workspaces and templates").classes("text-xl font-bold")
        controls = ui.row().classes("w-full items-center gap-2 no-wrap")
        listing = ExploreList(current)
        with controls:
            search = ui.input(placeholder="Search by name or description").props(
                'clearable dense outlined debounce=250 data-testid="explore-search"'
            )
            search.classes("grow")
            search.on_value_change(listing.search)
            ui.select(SORT_LABELS, value="stars", label="Sort", on_change=listing.sort_by).props(
                'dense outlined data-testid="explore-sort"'
            ).classes("w-48 max-sm:w-36")
        await listing.show()
