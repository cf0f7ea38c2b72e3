"""The page's extension theme as a stylesheet the page can swap without a reload (theme_style.js)."""

from __future__ import annotations

from nicegui import ui


class ThemeStyle(ui.element, component="theme_style.js"):
    def __init__(self, css: str = "") -> None:
        super().__init__()
        self.props["css"] = css

    @property
    def css(self) -> str:
        return str(self.props["css"])

    def set_css(self, css: str) -> None:
        """The stylesheet's text (CSS made by `extension_theme.theme_css`, never anything else)."""
        self.props["css"] = css
        self.update()
