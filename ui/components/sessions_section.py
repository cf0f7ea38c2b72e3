"""The account page's "Sessions" section: every browser signed in to the account (a short name from its
user agent, its address, when it signed in and was last active), this one marked; "Sign out" on any of
them, which takes effect at once (an open page of that browser goes to the sign-in page by itself), and
"Sign out everywhere else"."""

from __future__ import annotations

from datetime import UTC, datetime

from nicegui import ui

from domain.sessions import SessionView
from ui.errors import notify_errors
from ui.viewer import Viewer


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def sessions_section(current: Viewer) -> None:
    services = current.services

    @ui.refreshable
    async def listing() -> None:
        sessions = await services.auth.sessions(await current.actor(), current_id=current.session_id)
        with ui.column().classes("w-full gap-1").props('data-testid="sessions-list"'):
            for session in sessions:
                with (
                    ui.row()
                    .classes("w-full items-center gap-4 no-wrap")
                    .props(f'data-testid="session-row" data-id="{session.id}"')
                ):
                    with ui.column().classes("gap-0 grow min-w-0"):
                        with ui.row().classes("items-center gap-2"):
                            name = ui.label(session.browser).classes("font-medium")
                            name.props('data-testid="session-browser"')
                            if session.user_agent:
                                name.tooltip(session.user_agent)
                            if session.current:
                                ui.badge("This browser").props('data-testid="session-current" color=positive')
                        details = [session.address or "unknown address", f"signed in {when(session.created_at)}"]
                        details.append(f"last active {when(session.last_used_at)}")
                        ui.label(" · ".join(details)).classes("text-sm text-gray-500 truncate").props(
                            'data-testid="session-details"'
                        )
                    button = ui.button("Sign out", on_click=lambda s=session: sign_out(s))
                    button.props('flat no-caps color=negative data-testid="session-sign-out"')
                    button.props["aria-label"] = f"Sign out {session.browser}" + (
                        " (this browser)" if session.current else f", signed in {when(session.created_at)}"
                    )
            others = sum(not session.current for session in sessions)
            if others:
                ui.button("Sign out everywhere else", on_click=sign_out_others).props(
                    'outline no-caps color=negative data-testid="sessions-sign-out-others"'
                )
            else:
                ui.label("You are signed in only in this browser.").classes("text-sm text-gray-500").props(
                    'data-testid="sessions-only-this"'
                )

    @notify_errors
    async def sign_out(session: SessionView) -> None:
        await services.auth.end_session(await current.actor(), session.id)
        if session.current:
            ui.navigate.to("/signed-out")
            return
        ui.notify(f"{session.browser} is signed out.")
        listing.refresh()

    @notify_errors
    async def sign_out_others() -> None:
        count = await services.auth.end_other_sessions(await current.actor(), keep=current.session_id)
        ui.notify(f"Signed out everywhere else ({count} {'session' if count == 1 else 'sessions'}).")
        listing.refresh()

    with ui.card().classes("w-full").props('data-testid="account-sessions"'):
        ui.label("Sessions").classes("text-lg font-bold")
        ui.label(
            "Where you are signed in. Signing a browser out takes effect at once, also on its open pages."
        ).classes("text-sm text-gray-500")
        await listing()
