"""Panes of the IDE page, registered by area: the side bar (chosen from the activity bar), the bottom
panel (tabs) and the right pane. The assistant and extensions add theirs here; the page lays out
whatever is registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Area = Literal["side", "bottom", "right"]


@dataclass(frozen=True, slots=True)
class Pane:
    id: str
    title: str
    icon: str
    area: Area
    build: Callable[[], object]
    """Draws the pane's content inside the current NiceGUI container."""


class PaneRegistry:
    def __init__(self) -> None:
        self._panes: dict[str, Pane] = {}

    def add(self, pane: Pane) -> None:
        if pane.id in self._panes:
            raise ValueError(f"a pane {pane.id!r} is registered already")
        self._panes[pane.id] = pane

    def get(self, id: str) -> Pane:
        return self._panes[id]

    def in_area(self, area: Area) -> list[Pane]:
        return [pane for pane in self._panes.values() if pane.area == area]
