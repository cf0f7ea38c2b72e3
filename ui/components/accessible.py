"""What every page shares so that everyone can use it (WCAG 2.2 AA): colours with enough contrast, a
visible focus ring, and icon-only buttons whose tooltip is also the name a screen reader announces."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ui import stylesheet

# Quasar's flat buttons show focus only as a faint overlay: a visible ring for keyboard focus (WCAG 2.4.7).
# Quasar's `.no-outline { outline: 0 !important }` sits in a later cascade layer, and between layers the
# first one's !important wins: hence the first layer NiceGUI declares, `theme`.
FOCUS_STYLE = """<style>
@layer theme {
.q-btn:focus-visible, [data-testid="tab"]:focus-visible,
[data-testid="workspace-card"]:focus-visible {
  outline: 2px solid #2563eb !important; outline-offset: 2px;
}
.q-header .q-btn:focus-visible, .q-header a:focus-visible { outline-color: #fbbf24 !important; }
.q-btn:focus-visible > .q-focus-helper { opacity: 0.15 !important; }
/* On the dark theme the page's colours as text need lighter shades to keep 4.5:1. */
.body--dark .text-primary { color: #90caf9 !important; }
.body--dark .text-positive { color: #81c784 !important; }
.body--dark .text-negative, .body--dark .text-red-600, .body--dark .text-red-700 { color: #ef9a9a !important; }
.body--dark .text-green-700 { color: #81c784 !important; }
.body--dark .text-orange-600, .body--dark .text-orange-700 { color: #ffb74d !important; }
.body--dark .text-gray-500, .body--dark .text-gray-600 { color: #b0b0b0 !important; }
}
/* Buttons and tabs say what they do in normal case, as code-server and VS Code do, not in capitals. */
.q-btn, .q-tab__label { text-transform: none; }
</style>"""


# Quasar's default primary (#5898d4) and green (#4caf50) give white text only 3.1:1 and 2.8:1.
PRIMARY = "#1d4ed8"  # 6.7:1 against white
POSITIVE = "#1b5e20"  # 7.9:1 against white; 5.3:1 under the hover overlay (15 % white)
NEGATIVE = "#c62828"  # 5.6:1 against white


def page_style() -> None:
    """Colours and focus ring for the page being built."""
    ui.colors(primary=PRIMARY, positive=POSITIVE, negative=NEGATIVE)
    ui.add_head_html(stylesheet.LINK + FOCUS_STYLE)


def icon_button(icon: str, label: str, on_click: Any = None, *, props: str = "flat dense round") -> ui.button:
    """A button showing only `icon`; `label` is its tooltip and its accessible name."""
    button = ui.button(icon=icon, on_click=on_click).props(props)
    button.props["aria-label"] = label
    button.tooltip(label)
    return button
