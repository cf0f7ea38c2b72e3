"""The account page's "AI keys" section: the person's own OpenAI and Gemini keys, masked (`sk-…abcd`), with
their name, state and expiry; switch one off or on, delete it (after asking); add one, which its provider
checks first. A key typed here goes to the server once and never comes back to the page."""

from __future__ import annotations

from datetime import UTC, date, datetime

from nicegui import ui

from domain.ai_keys import PROVIDER_TITLES, AIKeyView, Provider
from domain.errors import InvalidInput
from ui.components.dialogs import confirm
from ui.errors import notify_errors
from ui.viewer import Viewer

PROVIDER_OPTIONS = {provider.value: PROVIDER_TITLES[provider] for provider in Provider}


def expiry_from(text: str) -> datetime | None:
    """The expiry typed in the date field (`YYYY-MM-DD`, the start of that day in UTC); none when empty."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"The expiry {text.strip()!r} is not a date (YYYY-MM-DD).") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def state_of(key: AIKeyView) -> tuple[str, str]:
    """What the key's state says, and its colour."""
    if key.expired:
        return "Expired", "text-negative"
    if not key.is_active:
        return "Off", "text-gray-500"
    return "Active", "text-positive"


def expiry_text(key: AIKeyView) -> str:
    if key.expires_at is None:
        return "Never expires"
    when = key.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Expired {when}" if key.expired else f"Expires {when}"


async def ai_keys_section(current: Viewer) -> None:
    services = current.services

    @ui.refreshable
    async def listing() -> None:
        keys = await services.ai_keys.list(await current.actor())
        if not keys:
            ui.label("No keys yet: the assistant uses Codeloft's own until you add yours.").classes(
                "text-gray-500"
            ).props('data-testid="ai-keys-empty"')
            return
        with ui.column().classes("w-full gap-1").props('data-testid="ai-keys-list"'):
            for key in keys:
                state, colour = state_of(key)
                with (
                    ui.row().classes("w-full items-center gap-4").props(f'data-testid="ai-key-row" data-id="{key.id}"')
                ):
                    ui.label(PROVIDER_TITLES[key.provider]).classes("w-16 font-medium")
                    ui.label(key.name).classes("w-40 truncate").props('data-testid="ai-key-name"')
                    ui.label(key.masked).classes("w-40 font-mono").props('data-testid="ai-key-masked"')
                    ui.label(state).classes(f"w-16 {colour}").props('data-testid="ai-key-state"')
                    ui.label(expiry_text(key)).classes("text-sm text-gray-500 grow")
                    switch = "Switch on" if not key.is_active else "Switch off"
                    toggle_button = ui.button(switch, on_click=lambda k=key: toggle(k))
                    toggle_button.props('flat no-caps data-testid="ai-key-toggle"')
                    toggle_button.props["aria-label"] = f"{switch} {key.name}"  # a name is data, never props syntax
                    delete_button = ui.button(icon="delete", on_click=lambda k=key: delete(k))
                    delete_button.props('flat round color=negative data-testid="ai-key-delete"')
                    delete_button.props["aria-label"] = f"Delete {key.name}"
                    delete_button.tooltip("Delete this key")

    @notify_errors
    async def toggle(key: AIKeyView) -> None:
        changed = await services.ai_keys.update(await current.actor(), key.id, is_active=not key.is_active)
        ui.notify(f"{changed.name} is {'on' if changed.is_active else 'off'}.")
        listing.refresh()

    @notify_errors
    async def delete(key: AIKeyView) -> None:
        title = PROVIDER_TITLES[key.provider]
        with card:  # not in the list, which redraws itself
            sure = await confirm(f"Delete {key.name}?", f"The {title} key {key.masked} is deleted for good.")
        if not sure:
            return
        await services.ai_keys.delete(await current.actor(), key.id)
        ui.notify(f"{key.name} is deleted.")
        listing.refresh()

    @notify_errors
    async def add() -> None:
        actor = await current.actor()
        add_button.props("loading")
        try:
            added = await services.ai_keys.add(
                actor,
                provider=str(provider.value),
                name=str(name.value or ""),
                key=str(secret.value or "").strip(),
                expires_at=expiry_from(str(expiry.value or "")),
            )
        finally:
            add_button.props(remove="loading")
        secret.value = ""
        name.value = ""
        expiry.value = ""
        ui.notify(f"{PROVIDER_TITLES[added.provider]} took the key: {added.name} ({added.masked}) is added.")
        listing.refresh()

    with ui.card().classes("w-full").props('data-testid="account-ai-keys"') as card:
        ui.label("AI keys").classes("text-lg font-bold")
        ui.label(
            "Your own OpenAI or Gemini keys for the assistant. Each is checked with its provider when you add it, "
            "stored encrypted and shown only by its first and last characters."
        ).classes("text-sm text-gray-500")
        await listing()
        with ui.row().classes("w-full items-end gap-4"):
            provider = ui.select(PROVIDER_OPTIONS, value=Provider.OPENAI.value, label="Provider").props(
                'data-testid="ai-key-provider"'
            )
            name = ui.input("Name").props('data-testid="ai-key-new-name" maxlength=100')
            secret = ui.input("Key", password=True).props('data-testid="ai-key-secret" autocomplete=off')
            expiry = ui.input("Expires on (optional)").props('type=date stack-label data-testid="ai-key-expiry"')
            add_button = ui.button("Add key", on_click=add).props('data-testid="ai-key-add" no-caps')
            secret.on("keydown.enter", add)
