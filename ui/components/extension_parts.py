"""The pieces the marketplace's pages share: an extension's card, its rating and marks, what its permissions
mean, its contributions, its README as sanitised HTML, the install dialog and the moderators' controls.

Every string an extension's manifest or package carries (its names, description, tags, README, contribution
labels) and every review's text goes in as text (`ui.label`, `ui.link`), never as HTML; the README is
Markdown rendered with markdown-it-py with raw HTML escaped and no images, cleaned with nh3."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

from nicegui import ui

from domain.extension_bundles import Bundle
from domain.extension_entities import Extension, ExtensionStatus, ExtensionVersion
from domain.extension_manifest import PERMISSIONS
from ui.components.accessible import page_style
from ui.components.chat_markdown import MARKDOWN, clean
from ui.components.dialogs import ask_text
from ui.errors import notify_errors
from ui.viewer import Viewer

PERMISSION_MEANINGS = {
    "workspace:read": "Its commands see your workspace's files (in the sandbox, never on the server).",
    "workspace:write": "The files its commands change in the sandbox are written back to your workspace.",
}
"""What each permission lets an extension do (domain.extension_manifest.PERMISSIONS), said to the person."""
assert set(PERMISSION_MEANINGS) == set(PERMISSIONS)

CATEGORY_LABELS = {"theme": "Themes", "language": "Languages", "tool": "Tools", "ai": "AI"}
SORT_LABELS = {"downloads": "Most installed", "rating": "Best rated", "newest": "Newest"}
STATUS_COLOURS = {ExtensionStatus.PENDING: "orange", ExtensionStatus.APPROVED: "green", ExtensionStatus.REJECTED: "red"}


def rating_text(extension: Extension) -> str:
    """ "★ 4.5 (2)": the average and the number of reviews."""
    if not extension.rating_count:
        return "★ no ratings yet"
    return f"★ {extension.rating_average:.1f} ({extension.rating_count})"


def downloads_text(extension: Extension) -> str:
    count = extension.download_count
    return f"{count} install" + ("" if count == 1 else "s")


def stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def readme_html(text: str) -> str:
    """Markdown as clean HTML: raw HTML in it escaped (shown as the characters it is), no images (the page
    fetches no address an extension chose), only the tags Markdown makes."""
    return clean(MARKDOWN.render(text))


@contextmanager
def visitor_frame(title: str) -> Iterator[None]:
    """The layout for someone not signed in: the product name and a way to sign in."""
    ui.page_title(f"{title} · Codeloft")
    page_style()
    with ui.header().classes("items-center justify-between no-wrap bg-slate-800 text-white px-4 py-1 max-sm:px-2"):
        with ui.row().classes("items-center gap-4 no-wrap"):
            ui.link("Codeloft", "/").classes("text-lg font-bold text-white no-underline")
            ui.link("Explore", "/explore").classes("text-sm text-white no-underline")
            ui.link("Extensions", "/extensions").classes("text-sm text-white no-underline")
        ui.link("Sign in", "/login").classes("text-sm text-white no-underline").props('data-testid="ext-sign-in"')
    with ui.column().classes("w-full max-w-5xl mx-auto p-4 gap-4"):
        yield


def marks(extension: Extension, *, installed: bool) -> None:
    """The badges beside a name: verified, featured, installed."""
    if extension.is_verified:
        ui.badge("✔ Verified").props('outline color=primary data-testid="ext-verified"')
    if extension.is_featured:
        ui.badge("Featured").props('outline color=orange data-testid="ext-featured"')
    if installed:
        ui.badge("Installed").props('outline color=green data-testid="ext-installed"')


def extension_card(extension: Extension, *, installed: bool, testid: str = "ext-card") -> None:
    """One search result: the display name (a link to its page), description, version, installs, rating."""
    with ui.card().classes("w-full").props(f'data-testid="{testid}"'):
        with ui.row().classes("w-full items-center justify-between no-wrap"):
            with ui.column().classes("gap-0 min-w-0"):
                ui.link(extension.display_name, f"/extensions/{extension.name}").classes(
                    "text-base font-semibold no-underline text-inherit truncate"
                ).props('data-testid="ext-name"')
                ui.label(f"{extension.name} · {extension.version}").classes("text-xs text-gray-500").props(
                    'data-testid="ext-version"'
                )
            with ui.row().classes("items-center gap-1 no-wrap"):
                marks(extension, installed=installed)
                ui.badge(CATEGORY_LABELS.get(extension.category, extension.category)).props("outline")
        ui.label(extension.description).classes("text-sm text-gray-600 break-words").props(
            'data-testid="ext-description"'
        )
        with ui.row().classes("items-center gap-3"):
            ui.label(downloads_text(extension)).classes("text-sm").props('data-testid="ext-downloads"')
            ui.label(rating_text(extension)).classes("text-sm").props('data-testid="ext-rating"')
            for tag in extension.tags:
                ui.label(f"#{tag}").classes("text-xs text-gray-500")


def permission_list(permissions: Collection[str], *, testid: str = "ext-permission") -> None:
    """Each permission with what it means; a line saying there are none when there are none."""
    if not permissions:
        ui.label("It asks for no permissions.").classes("text-sm").props(f'data-testid="{testid}-none"')
    for permission in sorted(permissions):
        with ui.row().classes("items-start gap-2 no-wrap").props(f'data-testid="{testid}"'):
            ui.label(permission).classes("font-mono text-sm font-semibold")
            ui.label(PERMISSION_MEANINGS.get(permission, "")).classes("text-sm text-gray-600")


def contribution_lines(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, what) for each contribution, in words: "Theme", "Night Owl (dark)"."""
    contributes = manifest.get("contributes", {})
    lines: list[tuple[str, str]] = []
    for theme in contributes.get("themes", ()):
        lines.append(("Theme", f"{theme['label']} ({theme['kind']})"))
    for language in contributes.get("languages", ()):
        what = f"{language['label']}: {', '.join(language['extensions'])}, highlighted as {language['mode']}"
        if language.get("run"):
            what += f"; runs with {' '.join(language['run'])}"
        lines.append(("Language", what))
    for snippet in contributes.get("snippets", ()):
        described = f": {snippet['description']}" if snippet.get("description") else ""
        lines.append(("Snippet", f"{snippet['prefix']} ({snippet['language']}){described}"))
    for command in contributes.get("commands", ()):
        lines.append(
            ("Command", f"{command['title']} (runs {command['run'][0]} in the sandbox; {command['permission']})")
        )
    return lines


def contributions(manifest: dict[str, Any]) -> None:
    lines = contribution_lines(manifest)
    if not lines:
        ui.label("It contributes nothing to the IDE.").classes("text-sm text-gray-600")
    for kind, what in lines:
        with ui.row().classes("items-start gap-2 no-wrap").props('data-testid="ext-contribution"'):
            ui.badge(kind).props("outline")
            ui.label(what).classes("text-sm break-words")


def version_line(version: ExtensionVersion) -> None:
    """A version with its status (and the reason it was rejected, which its author reads here)."""
    with ui.row().classes("items-center gap-2").props('data-testid="ext-version-line"'):
        ui.label(version.version).classes("font-mono text-sm")
        ui.badge(version.status.value).props(f"outline color={STATUS_COLOURS[version.status]}")
        ui.label(f"{version.created_at:%Y-%m-%d}").classes("text-xs text-gray-500")
    if version.status == ExtensionStatus.REJECTED and version.rejection_reason:
        ui.label(f"Rejected: {version.rejection_reason}").classes("text-sm text-red-700 break-words").props(
            'data-testid="ext-rejection"'
        )


async def ask_to_install(extension: Extension, asked: Collection[str], *, new: Collection[str] = ()) -> bool:
    """Show what the version asks for; True when the person installs, granting it. `new`: what it asks beyond
    what they granted before (an update that asks again)."""
    with ui.dialog() as dialog, ui.card().classes("w-[28rem]").props('data-testid="install-dialog"'):
        verb = "Update" if new else "Install"
        ui.label(f"{verb} {extension.display_name} {extension.version}?").classes("text-lg font-bold")
        if new:
            ui.label("This version asks for more than you granted:").classes("text-sm")
            permission_list(new, testid="install-permission")
        else:
            if asked:
                ui.label("It asks for these permissions; installing grants them:").classes("text-sm")
            permission_list(asked, testid="install-permission")
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props('flat data-testid="install-cancel"')
            ui.button(verb, on_click=lambda: dialog.submit(True)).props('data-testid="install-ok"')
    result = await dialog
    dialog.delete()
    return result is True


async def ask_to_install_bundle(bundle: Bundle) -> bool:
    """Show the bundle's extensions and every permission they ask, together; True when the person installs
    them all, granting those."""
    with ui.dialog() as dialog, ui.card().classes("w-[28rem]").props('data-testid="bundle-dialog"'):
        ui.label(f"Install the {bundle.name} bundle?").classes("text-lg font-bold")
        ui.label("It installs:").classes("text-sm")
        for extension in bundle.extensions:
            ui.label(f"{extension.display_name} {extension.version}").classes("text-sm font-semibold").props(
                'data-testid="bundle-dialog-extension"'
            )
        if bundle.permissions:
            ui.label("Together they ask for these permissions; installing grants them:").classes("text-sm")
        permission_list(bundle.permissions, testid="bundle-permission")
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props('flat data-testid="bundle-cancel"')
            ui.button("Install all", on_click=lambda: dialog.submit(True)).props('data-testid="bundle-ok"')
    result = await dialog
    dialog.delete()
    return result is True


def bundle_card(bundle: Bundle, *, installed: Collection[str], on_install: Callable[[Bundle], Any] | None) -> None:
    """A bundle: its name, description, extensions (links), what they ask, and Install all."""
    with ui.card().classes("w-64 max-sm:w-full").props('data-testid="bundle-card"'):
        with ui.row().classes("items-center gap-2"):
            ui.label(bundle.name).classes("text-base font-semibold").props('data-testid="bundle-name"')
            if bundle.is_official:
                ui.badge("Official").props("outline color=primary")
        ui.label(bundle.description).classes("text-sm text-gray-600 break-words")
        for extension in bundle.extensions:
            with ui.row().classes("items-center gap-1"):
                ui.link(extension.display_name, f"/extensions/{extension.name}").classes("text-sm").props(
                    'data-testid="bundle-extension"'
                )
                if extension.name in installed:
                    ui.badge("Installed").props("outline color=green")
        if not bundle.extensions:
            ui.label("No extension of it is published yet.").classes("text-sm text-gray-500")
        elif on_install is not None:
            ui.button("Install all", icon="download", on_click=lambda: on_install(bundle)).props(
                'dense data-testid="bundle-install"'
            )


class ModerationControls:
    """Approve or reject (with a reason) the version waiting, mark verified or featured: moderators only."""

    def __init__(
        self, viewer: Viewer, extension: Extension, *, waiting: bool, on_change: Callable[[], Awaitable[None]]
    ):
        self._viewer = viewer
        self._extension = extension
        self._on_change = on_change
        with ui.row().classes("items-center gap-2").props('data-testid="ext-moderation"'):
            if waiting:
                ui.button("Approve", icon="check", on_click=self.approve).props('dense data-testid="ext-approve"')
                ui.button("Reject", icon="block", color="negative", on_click=self.reject).props(
                    'dense flat data-testid="ext-reject"'
                )
            ui.switch("Verified", value=extension.is_verified, on_change=self.verify).props('data-testid="ext-verify"')
            ui.switch("Featured", value=extension.is_featured, on_change=self.feature).props(
                'data-testid="ext-feature"'
            )

    @notify_errors
    async def approve(self) -> None:
        detail = await self._viewer.services.extensions.approve(await self._viewer.actor(), self._extension.name)
        ui.notify(f"Approved {detail.extension.display_name} {detail.extension.version}", type="positive")
        await self._on_change()

    @notify_errors
    async def reject(self) -> None:
        reason = await ask_text(
            f"Reject {self._extension.display_name}?", label="Reason (the author reads it)", ok="Reject"
        )
        if reason is None:
            return
        await self._viewer.services.extensions.reject(await self._viewer.actor(), self._extension.name, reason)
        ui.notify(f"Rejected {self._extension.display_name}")
        await self._on_change()

    @notify_errors
    async def verify(self, event: Any) -> None:
        if bool(event.value) != self._extension.is_verified:
            await self._mark(verified=bool(event.value))

    @notify_errors
    async def feature(self, event: Any) -> None:
        if bool(event.value) != self._extension.is_featured:
            await self._mark(featured=bool(event.value))

    async def _mark(self, **marks: bool) -> None:
        detail = await self._viewer.services.extensions.mark(await self._viewer.actor(), self._extension.name, **marks)
        self._extension = detail.extension
        await self._on_change()
