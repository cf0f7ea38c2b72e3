"""Small modal dialogs: ask for a text, confirm a dangerous action; dialogs made for one use."""

from __future__ import annotations

from nicegui import ui


async def ask_text(title: str, *, label: str, value: str = "", ok: str = "OK") -> str | None:
    """The text the user typed, or None if they cancelled."""
    with ui.dialog() as dialog, ui.card().classes("w-96"):
        ui.label(title).classes("text-lg font-bold")
        field = ui.input(label, value=value).props('autofocus data-testid="dialog-input"').classes("w-full")
        field.on("keydown.enter", lambda: dialog.submit(field.value))
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
            ui.button(ok, on_click=lambda: dialog.submit(field.value)).props('data-testid="dialog-ok"')
    result = await dialog
    dialog.delete()
    return result if isinstance(result, str) else None


async def confirm(title: str, message: str, *, ok: str = "Delete") -> bool:
    with ui.dialog() as dialog, ui.card().classes("w-96"):
        ui.label(title).classes("text-lg font-bold")
        ui.label(message)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
            ui.button(ok, color="negative", on_click=lambda: dialog.submit(True)).props('data-testid="confirm-ok"')
    result = await dialog
    dialog.delete()
    return result is True


def disposable(dialog: ui.dialog) -> ui.dialog:
    """A dialog made for one use: taken off the page once it has closed, so none piles up."""
    dialog.on("hide", dialog.delete)
    return dialog
