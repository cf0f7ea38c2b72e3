"""What a person left the IDE page of a workspace like: pane sizes and which are open, the open tabs, the active file
and the cursor in each file, the bottom panel's tab and whether the preview was open. Kept per person and workspace
(not per browser), so a reload or another computer shows the same workbench."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

MAX_TABS = 50


@dataclass(slots=True)
class WorkbenchState:
    side_size: float = 22
    """Width of the side bar, in % of the page."""
    bottom_size: float = 68
    """Height of the editor above the bottom panel, in % of the area right of the side bar."""
    right_size: float = 55
    """Width of the editor beside the right pane, in %, while the right pane is open."""
    side_open: bool = True
    bottom_open: bool = True
    assistant_open: bool = False
    """The assistant's pane beside the editor."""
    side_pane: str = "files"
    bottom_tab: str = "console"
    """The bottom panel's tab: the terminal comes back on it (reattached, or a new shell on a server that
    has none: after the page's instance was lost)."""
    preview_open: bool = False
    """The preview beside the editor: it comes back (its web server started again where it stopped)."""
    tabs: list[str] = field(default_factory=list)
    active: str | None = None
    cursors: dict[str, list[int]] = field(default_factory=dict)
    """Line and column (1-based) per open file."""

    @classmethod
    def from_dict(cls, data: Any) -> WorkbenchState:
        """What was stored, taking only what is well-formed: a stored state never breaks the page."""
        state = cls()
        if not isinstance(data, dict):
            return state
        for name in ("side_size", "bottom_size", "right_size"):
            value = data.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100:
                setattr(state, name, float(value))
        for name in ("side_open", "bottom_open", "assistant_open", "preview_open"):
            if isinstance(data.get(name), bool):
                setattr(state, name, data[name])
        for name in ("side_pane", "bottom_tab"):
            if isinstance(data.get(name), str):
                setattr(state, name, data[name])
        tabs = data.get("tabs")
        if isinstance(tabs, list):
            state.tabs = [tab for tab in tabs if isinstance(tab, str)][:MAX_TABS]
        if isinstance(data.get("active"), str):
            state.active = data["active"]
        cursors = data.get("cursors")
        if isinstance(cursors, dict):
            state.cursors = {
                path: [int(place[0]), int(place[1])]
                for path, place in cursors.items()
                if path in state.tabs
                and isinstance(place, list)
                and len(place) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in place)
            }
        return state

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class WorkbenchStates:
    """The stored states, in a key-value store shared by the server's pages (NiceGUI's general storage:
    a file in the data directory, or Redis when NiceGUI's is)."""

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self._store = store

    @staticmethod
    def key(user_id: UUID, workspace_id: UUID) -> str:
        return f"workbench:{user_id}:{workspace_id}"

    def load(self, user_id: UUID, workspace_id: UUID) -> WorkbenchState:
        return WorkbenchState.from_dict(self._store.get(self.key(user_id, workspace_id)))

    def save(self, user_id: UUID, workspace_id: UUID, state: WorkbenchState) -> None:
        self._store[self.key(user_id, workspace_id)] = state.to_dict()
