"""`Timer`: NiceGUI's `ui.timer`, except that a timer made while a page is being built does not make
NiceGUI send the page before its builder has finished.

`ui.timer` waits for the browser with `client.connected()`, which also tells NiceGUI that the page's
builder waits for the browser: NiceGUI then answers at once with the elements made so far and sends the
rest over the websocket once the browser connects. A page with a timer made before its first `await`
(the IDE: every terminal, the run panel, the editor's autosave, the session check) went out without its
file tree and editor, which came a websocket round and a second render later. This timer watches for the
connection without saying so."""

from __future__ import annotations

import asyncio

from nicegui import ui

POLL_SECONDS = 0.05


class Timer(ui.timer):
    async def _can_start(self) -> bool:
        while not self._should_stop():  # first: a deleted page's timer stops without asking for its client
            if self.client.has_socket_connection:
                return True
            await asyncio.sleep(POLL_SECONDS)
        return False
