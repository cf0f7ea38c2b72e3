"""The account page's "Sign-in methods" section: the person's ways in (GitHub, Google, a local account's
printed link), Connect for each configured provider not yet connected (a flow that attaches the provider
instead of signing in), Disconnect for each connected one but the last way in."""

from __future__ import annotations

from nicegui import ui

from domain.accounts import LOCAL_PROVIDER
from domain.entities import Identity
from domain.identities import provider_name
from ui.errors import notify_errors
from ui.viewer import Viewer


def describe(identity: Identity) -> str:
    if identity.provider == LOCAL_PROVIDER:
        return "The one-time sign-in link that codeloft prints for this local account"
    return f"Signs in as {identity.email}"


async def sign_in_methods_section(current: Viewer) -> None:
    services = current.services
    available = services.settings.sign_in_providers

    @ui.refreshable
    async def methods() -> None:
        await current.actor()  # the session may have ended elsewhere
        identities = list(await services.identities.methods(current.user.id))
        connected = {identity.provider for identity in identities}
        with ui.grid(columns="auto 1fr auto").classes("gap-x-6 gap-y-2 items-center w-full"):
            for identity in identities:
                name = provider_name(identity.provider)
                ui.label(name).classes("font-medium")
                ui.label(describe(identity)).props(f'data-testid="sign-in-method-{identity.provider}"')
                if identity.provider == LOCAL_PROVIDER:
                    ui.label("")
                elif len(identities) == 1:
                    ui.label("Your only way in").classes("text-sm text-gray-500")
                else:
                    ui.button(f"Disconnect {name}", on_click=lambda p=identity.provider: disconnect(p)).props(
                        f'flat no-caps color=negative data-testid="disconnect-{identity.provider}"'
                    )
            for provider in available:
                if provider in connected:
                    continue
                name = provider_name(provider)
                ui.label(name).classes("font-medium")
                ui.label("Not connected").classes("text-gray-500")
                ui.link(f"Connect {name}", f"/auth/{provider}?connect=1").props(
                    f'data-testid="connect-{provider}"'
                ).classes("font-semibold")

    @notify_errors
    async def disconnect(provider: str) -> None:
        await current.actor()
        await services.identities.disconnect(current.user.id, provider)
        ui.notify(f"{provider_name(provider)} is disconnected: it no longer signs in to this account.")
        methods.refresh()

    with ui.card().classes("w-full").props('data-testid="account-sign-in-methods"'):
        ui.label("Sign-in methods").classes("text-lg font-bold")
        await methods()
