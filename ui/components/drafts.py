"""Unsaved text the browser kept (see code_editor.js), found again when the IDE page loads: after its
server went away (NiceGUI reloads the page on another instance), a reload, or a crashed tab.

A draft started from the file's current version is put back into the editor as unsaved changes (saving
it then goes through the ordinary conflict check); a draft of a file that changed or was deleted
meanwhile is never applied: it is offered for download and to copy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum

from nicegui import ui

from ui.components.code_editor import Draft, KeptDrafts

NOTICE_MS = 15000


class Decision(Enum):
    RESTORE = "restore"
    """The file is as the draft started from: put the text back as unsaved changes."""
    OFFER = "offer"
    """The file changed or was deleted meanwhile: offer the text, never apply it."""
    DROP = "drop"
    """Nothing to keep: the file already holds exactly that text."""


def decide(draft: Draft, current: tuple[str, str | None] | None, *, editable: bool) -> Decision:
    """What to do with a draft, given the file's current (hash, text) (text None for binary files), or None
    when the file is gone. A person who can no longer edit is offered their text."""
    if current is None:
        return Decision.OFFER
    content_hash, text = current
    if text == draft.text:
        return Decision.DROP
    if content_hash == draft.base and text is not None and editable:
        return Decision.RESTORE
    return Decision.OFFER


def restored_message(path: str, kept: KeptDrafts) -> str:
    since = "the connection was lost" if kept.lost else "the page was reloaded"
    return f"Restored unsaved changes to {path} from before {since}"


def reconnected_message(kept: KeptDrafts, *, instance: str, restored: bool) -> str | None:
    """What the page says after it loaded in place of one that lost its server (None: it did not)."""
    if not kept.lost:
        return None
    elsewhere = not instance or not kept.lost_on or kept.lost_on != instance
    said = "Reconnected to another server" if elsewhere else "Reconnected"
    return said + (": your unsaved changes were restored" if restored else "")


def notify_reconnected(message: str) -> None:
    ui.notify(message, type="positive", timeout=NOTICE_MS, attrs={"data-testid": "reconnected"})


async def offer(
    draft: Draft,
    *,
    deleted: bool,
    lost: bool,
    download: Callable[[], None],
    copy: Callable[[], Awaitable[bool]],
) -> bool:
    """Offer a draft that cannot be put back; True when the person is done with it (downloaded or
    discarded), False to keep it for later."""
    since = "the connection was lost" if lost else "the page was reloaded"
    why = (
        f"{draft.path} was deleted"
        if deleted
        else f"{draft.path} was changed elsewhere (by someone else, in another tab or through the API)"
    )
    dialog = ui.dialog().props("persistent")
    with dialog, ui.card().classes("w-[36rem] max-w-full").props('data-testid="draft-dialog"'):
        ui.label(f"Unsaved changes to {draft.path}").classes("text-lg font-bold")
        ui.label(
            f"You had unsaved changes to {draft.path} from before {since}. {why} since, so they were not put "
            "back into the editor. Download or copy them to compare with the file as it is now."
        )
        text = ui.textarea(value=draft.text).props('readonly outlined data-testid="draft-text"').classes("w-full")
        text.props["aria-label"] = f"Your unsaved text of {draft.path}"

        async def copy_it() -> None:
            if await copy():
                ui.notify("Copied", type="positive")
            else:
                ui.notify("The browser did not allow copying: select the text and copy it yourself.")

        def download_it() -> None:
            download()
            dialog.submit(True)

        with ui.row().classes("w-full justify-end"):
            ui.button("Keep for later", on_click=lambda: dialog.submit(False)).props('flat data-testid="draft-keep"')
            ui.button("Discard", color="negative", on_click=lambda: dialog.submit(True)).props(
                'flat data-testid="draft-discard"'
            )
            ui.button("Copy", icon="content_copy", on_click=copy_it).props('flat data-testid="draft-copy"')
            ui.button("Download", icon="download", on_click=download_it).props('data-testid="draft-download"')
    result = await dialog
    dialog.delete()
    return result is True
