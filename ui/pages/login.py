"""The sign-in page: how to get a sign-in link, and why the last one did not work."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from ui.components.accessible import page_style
from ui.viewer import viewer

REASONS = {
    "used": "This sign-in link has already been used: each link works only once.",
    "expired": "This sign-in link has expired: links are valid for 24 hours.",
    "unknown": "This sign-in link is not valid.",
    "signed_out": "You are signed out.",
}


@ui.page("/login", title="Sign in · Codeloft")
async def login_page(request: Request, reason: str | None = None) -> RedirectResponse | None:
    if reason is None and await viewer(request) is not None:
        return RedirectResponse("/", status_code=303)
    page_style()
    with ui.column().classes("w-full items-center mt-16"), ui.card().classes("w-[32rem] p-6 gap-3"):
        ui.label("Sign in to Codeloft").classes("text-2xl font-bold")
        message = REASONS.get(reason or "")
        if message:
            kind = "text-green-700" if reason == "signed_out" else "text-red-700"
            ui.label(message).classes(f"{kind} font-medium").props('data-testid="sign-in-message"')
        ui.markdown(
            "Codeloft signs you in with a **one-time link**, like Jupyter's token URL.\n\n"
            "- On the machine that runs Codeloft, `codeloft serve` prints a fresh link each time it starts.\n"
            "- `codeloft user add EMAIL` creates an account and prints a link for it; "
            "`codeloft user link EMAIL` prints a new link for an existing account.\n\n"
            "Each link works once and expires after 24 hours."
        )
    return None
