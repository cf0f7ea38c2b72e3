"""Small modal dialogs: ask for a text, confirm a dangerous action, ask before replacing a file;
dialogs made for one use."""

from __future__ import annotations

import functools
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    value: str
    test_id: str
    danger: bool = False  # drops or overwrites something
    main: bool = False  # the filled button; the others are flat


async def choose(title: str, message: str, choices: list[Choice], *, test_id: str, persistent: bool = False) -> str:
    """The value of the button the person pressed ("" when a dialog that is not persistent is closed)."""
    dialog = ui.dialog().props("persistent" if persistent else "")
    with dialog, ui.card().classes("w-[28rem]").props(f'data-testid="{test_id}"'):
        ui.label(title).classes("text-lg font-bold")
        ui.label(message)
        with ui.row().classes("w-full justify-end"):
            for choice in choices:
                ui.button(
                    choice.label,
                    color="negative" if choice.danger else "primary",
                    on_click=functools.partial(dialog.submit, choice.value),
                ).props(f'data-testid="{choice.test_id}"' + ("" if choice.main else " flat"))
    result = await dialog
    dialog.delete()
    return result if isinstance(result, str) else ""


@dataclass(frozen=True, slots=True)
class ReplaceChoice:
    replace: bool
    for_all: bool
    """The same answer for the other files of the batch that exist."""


async def ask_replace(path: str, *, others: int = 0) -> ReplaceChoice:
    """Replace or Skip a file that exists; `others`: how many more of the batch exist (offered the
    same answer). Closing the dialog skips: nothing is replaced unless the person says so."""
    with ui.dialog() as dialog, ui.card().classes("w-[28rem]").props('data-testid="replace-dialog"'):
        ui.label(f"Replace {path}?").classes("text-lg font-bold")
        ui.label(f"{path} exists. Replace it?")
        for_all = None
        if others:
            same = "the other file that exists" if others == 1 else f"the other {others} files that exist"
            for_all = ui.checkbox(f"Do the same for {same}").props('data-testid="replace-for-all"')
        with ui.row().classes("w-full justify-end"):
            ui.button("Skip", on_click=lambda: dialog.submit(False)).props('flat data-testid="replace-skip"')
            ui.button("Replace", color="negative", on_click=lambda: dialog.submit(True)).props(
                'data-testid="replace-ok"'
            )
    result = await dialog
    dialog.delete()
    return ReplaceChoice(replace=result is True, for_all=for_all is not None and for_all.value and result is not None)


def disposable(dialog: ui.dialog) -> ui.dialog:
    """A dialog made for one use: taken off the page once it has closed, so none piles up."""
    dialog.on("hide", dialog.delete)
    return dialog
