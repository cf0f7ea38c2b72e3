"""The account page (`/account`): who you are, how you sign in, where you are signed in, your plan and
your own AI keys. Each part is a section of its own; a feature adds its section to `SECTIONS`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from ui.components.ai_keys_section import ai_keys_section
from ui.components.frame import frame
from ui.components.plan_section import plan_section
from ui.components.sessions_section import sessions_section
from ui.components.sign_in_methods import sign_in_methods_section
from ui.viewer import Viewer, to_sign_in, viewer

Section = Callable[[Viewer], Awaitable[None]]


async def profile_section(current: Viewer) -> None:
    user = current.user
    with ui.card().classes("w-full").props('data-testid="account-profile"'):
        ui.label("Profile").classes("text-lg font-bold")
        with ui.grid(columns="auto 1fr").classes("gap-x-6 gap-y-1"):
            ui.label("Name").classes("text-gray-500")
            ui.label(user.display_name or "—")
            ui.label("E-mail").classes("text-gray-500")
            ui.label(user.email).props('data-testid="account-email"')


# In page order. Each section draws itself from the viewer (the person and the services).
SECTIONS: list[Section] = [
    profile_section,
    sign_in_methods_section,
    sessions_section,
    plan_section,
    ai_keys_section,
]


@ui.page("/account", title="Account · Codeloft")
async def account_page(request: Request) -> RedirectResponse | None:
    current = await viewer(request)
    if current is None:
        return to_sign_in()
    with frame("Account", current):
        ui.label("Your account").classes("text-xl font-bold")
        for section in SECTIONS:
            await section(current)
    return None
