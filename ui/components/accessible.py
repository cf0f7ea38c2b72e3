"""Icon-only buttons that everyone can use: the tooltip a mouse user sees is also the name a screen
reader announces, and the focus ring shows where the keyboard is."""

from __future__ import annotations

from typing import Any

from nicegui import ui

# Quasar's flat buttons show focus only as a faint overlay: a visible ring for keyboard focus (WCAG 2.4.7).
FOCUS_STYLE = """<style>
.q-btn:focus-visible, [role="tab"]:focus-visible, .q-tree__node-header:focus-visible,
[data-testid="workspace-card"]:focus-visible {
  outline: 2px solid #2563eb !important; outline-offset: 2px;
}
.q-header .q-btn:focus-visible, .q-header a:focus-visible { outline-color: #fbbf24 !important; }
.q-btn:focus-visible > .q-focus-helper { opacity: 0.15 !important; }
</style>"""


def icon_button(icon: str, label: str, on_click: Any = None, *, props: str = "flat dense round") -> ui.button:
    """A button showing only `icon`; `label` is its tooltip and its accessible name."""
    button = ui.button(icon=icon, on_click=on_click).props(props)
    button._props["aria-label"] = label
    button.tooltip(label)
    return button
