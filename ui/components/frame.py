"""The layout every signed-in page shares: a header with the product name, page actions, the user
and sign-out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

from nicegui import ui

from domain.extension_contributions import Contributions, ThemeContribution
from ui.components.accessible import icon_button, page_style
from ui.components.extension_theme import is_dark, theme_css, xterm_colours
from ui.components.theme_style import ThemeStyle
from ui.components.timer import Timer
from ui.errors import notify_errors
from ui.preferences import Preferences
from ui.shared_state import page_state
from ui.viewer import Viewer

# Ctrl+S, Ctrl+P, Ctrl+Shift+P, Ctrl+B, Ctrl+J and F1 belong to the IDE, not to the browser's "save
# page", "print", "bookmarks", "downloads" and "help" actions.
KEEP_SHORTCUTS = """<script>
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && ["s", "p", "b", "j"].includes(e.key.toLowerCase())) e.preventDefault();
  if (e.key === "F1") e.preventDefault();
}, true);
</script>"""
# Quasar's loading bar is a progressbar without a name (WCAG 4.1.2); it is a direct child of <body>.
NAME_LOADING_BAR = """<script>
document.addEventListener("DOMContentLoaded", () => {
  const name = () => document.querySelectorAll(".q-loading-bar:not([aria-label])")
    .forEach((bar) => bar.setAttribute("aria-label", "Loading"));
  new MutationObserver(name).observe(document.body, { childList: true });
  name();
});
</script>"""

# Signing out drops the unsaved text this tab kept (code_editor.js), and keeps the page from writing more.
DROP_DRAFTS = """
window.codeloftNoDrafts = true;
for (const key of Object.keys(sessionStorage)) {
  if (key.startsWith("codeloft.draft/") || key === "codeloft.lost") sessionStorage.removeItem(key);
}
"""

THEME_LABEL = "Dark theme (yours, on every page)"
SESSION_CHECK_SECONDS = 3.0
"""How often an open page asks whether its session still lives (signed out elsewhere, timed out)."""
SESSION_ENDED_URL = "/login?reason=session_ended"


@dataclass
class Frame:
    actions: ui.row
    title: ui.label
    dark: ui.dark_mode
    theme: str
    """The page's theme: the person's own (light, dark or an extension's key), else the page's default."""
    preferences: Preferences
    user_id: UUID
    style: ThemeStyle
    """The extension theme's stylesheet (empty for light and dark)."""
    contributions: Contributions
    """What the person's enabled extensions add (the page's components draw their languages and snippets)."""
    # Asked before the header leaves the page (home, sign out); False keeps the person on it.
    before_leave: Callable[[], Awaitable[bool]] | None = None
    on_theme: list[Callable[[str], None]] = field(default_factory=list)
    """Told when the person switches the theme (the editor and terminals follow)."""

    @property
    def is_dark(self) -> bool:
        """Whether the page is drawn on the dark base (the dark theme, or an extension's dark one)."""
        return is_dark(self.theme, self.contributions)

    @property
    def extension_theme(self) -> ThemeContribution | None:
        return self.contributions.theme(self.theme)

    @property
    def terminal_colours(self) -> dict[str, str]:
        """The terminals' colours (xterm.js's theme) in the page's theme."""
        return xterm_colours(self.theme, self.contributions)

    def theme_choices(self) -> dict[str, str]:
        """The themes a person may choose, by key: Light, Dark and every theme of their enabled extensions."""
        choices = {"light": "Light", "dark": "Dark"}
        choices.update({theme.key: f"{theme.label} (from {theme.extension})" for theme in self.contributions.themes})
        return choices

    def set_theme(self, theme: str) -> None:
        """The person's theme, from now on on every page they open (an extension's theme is its base with
        its colours over it)."""
        self.preferences.set_theme(self.user_id, theme)
        self.theme = theme
        self.dark.set_value(self.is_dark)
        self.style.set_css(theme_css(self.extension_theme))
        for listener in self.on_theme:
            listener(theme)

    async def leave(self, to: str) -> None:
        """Go to `to` inside Codeloft once the page agrees (unsaved changes are saved or dropped)."""
        if self.before_leave is None or await self.before_leave():
            ui.navigate.to(to)


@contextmanager
def frame(title: str, viewer: Viewer, *, wide: bool = False, default_theme: str = "light") -> Iterator[Frame]:
    ui.page_title(f"{title} · Codeloft")
    ui.add_head_html(KEEP_SHORTCUTS + NAME_LOADING_BAR)
    page_style()
    preferences = Preferences(page_state())
    contributions = viewer.contributions
    theme = preferences.theme(viewer.user.id) or default_theme
    if theme not in ("light", "dark") and contributions.theme(theme) is None:
        theme = default_theme  # its extension was uninstalled or disabled: the default, until they choose again
    dark = ui.dark_mode(is_dark(theme, contributions))
    style = ThemeStyle(theme_css(contributions.theme(theme)))

    def switch_theme() -> None:
        """From an extension's theme to the other plain base, between light and dark otherwise."""
        layout.set_theme("light" if layout.is_dark else "dark")

    def show_theme(_: str) -> None:
        theme_button.props["icon"] = "light_mode" if layout.is_dark else "dark_mode"
        theme_button.props["aria-pressed"] = "true" if layout.is_dark else "false"
        theme_button.update()

    @notify_errors
    async def sign_out() -> None:
        if layout.before_leave is not None and not await layout.before_leave():
            return
        ui.run_javascript(DROP_DRAFTS)  # first: the session check may send the page away once the session ends
        await viewer.services.auth.sign_out_session(viewer.session_id)
        ui.navigate.to("/signed-out")

    async def to_account() -> None:
        await layout.leave("/account")

    async def to_explore() -> None:
        await layout.leave("/explore")

    async def to_extensions() -> None:
        await layout.leave("/extensions")

    async def check_session() -> None:
        """A page whose session was ended elsewhere leaves for the sign-in page by itself."""
        if not await viewer.signed_in():
            session_check.deactivate()
            ui.navigate.to(SESSION_ENDED_URL)

    session_check = Timer(SESSION_CHECK_SECONDS, check_session)

    with ui.header().classes(
        "items-center justify-between no-wrap bg-slate-800 text-white px-4 py-1 gap-4 max-sm:px-2 max-sm:gap-1"
    ):
        with ui.row().classes("items-center gap-4 no-wrap max-sm:gap-2"):
            home = ui.link("Codeloft", "/").classes("text-lg font-bold text-white no-underline")
            heading = ui.label("" if not wide else title).classes("text-base truncate max-w-[40vw] max-sm:hidden")
            heading.props('data-testid="page-title"')
        actions = ui.row().classes("items-center gap-1 grow justify-end no-wrap max-sm:gap-0")
        with ui.row().classes("items-center gap-3 no-wrap max-sm:gap-0"):
            # Below 1024 px (the IDE's header is full of its own buttons) Explore and Extensions are icons.
            explore = ui.link("Explore", "/explore").classes("text-sm text-white no-underline max-lg:hidden")
            explore.props('data-testid="explore-link"')
            extensions = ui.link("Extensions", "/extensions").classes("text-sm text-white no-underline max-lg:hidden")
            extensions.props('data-testid="extensions-link"')
            icon_button("travel_explore", "Explore", to_explore, props="flat color=white dense round").classes(
                "lg:hidden"
            ).props('data-testid="explore-narrow"')
            icon_button("extension", "Extensions", to_extensions, props="flat color=white dense round").classes(
                "lg:hidden"
            ).props('data-testid="extensions-narrow"')
            theme_button = icon_button(
                "light_mode" if dark.value else "dark_mode",
                THEME_LABEL,
                switch_theme,
                props="flat color=white dense round",
            ).props('data-testid="theme-toggle"')
            theme_button.props["aria-pressed"] = "true" if dark.value else "false"
            account = ui.link(viewer.user.label, "/account").classes("text-sm text-white no-underline max-sm:hidden")
            account.props('data-testid="user-label" title="Your account"')
            ui.button("Sign out", on_click=sign_out).props('flat color=white dense data-testid="sign-out"').classes(
                "max-sm:hidden"
            )
            # At phone width the account and Sign out are icons: the header stays one line.
            narrow = "flat color=white dense round"
            icon_button("account_circle", "Your account", to_account, props=narrow).classes("sm:hidden").props(
                'data-testid="account-narrow"'
            )
            icon_button("logout", "Sign out", sign_out, props=narrow).classes("sm:hidden").props(
                'data-testid="sign-out-narrow"'
            )
    layout = Frame(
        actions=actions,
        title=heading,
        dark=dark,
        theme=theme,
        preferences=preferences,
        user_id=viewer.user.id,
        style=style,
        contributions=contributions,
    )
    layout.on_theme.append(show_theme)
    home.on("click.prevent", lambda: layout.leave("/"))
    account.on("click.prevent", lambda: layout.leave("/account"))
    explore.on("click.prevent", lambda: layout.leave("/explore"))
    extensions.on("click.prevent", lambda: layout.leave("/extensions"))
    body = "w-full h-full p-0 gap-0" if wide else "w-full max-w-5xl mx-auto p-4 gap-4"
    with ui.column().classes(body):
        yield layout
