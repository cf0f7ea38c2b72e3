"""The extension marketplace (`/extensions`, `/extensions/{name}`), issue 15.

Anyone browses: search over name, description and tags, a category, a sort, the featured row and each
extension's page (README, permissions and what they mean, contributions, versions, reviews). Signed in, a
person installs (granting the permissions shown), updates (asked again when a version asks for more),
uninstalls, enables, disables and configures an extension, reviews it, and publishes their own packages (a
refusal is shown as the service words it: the manifest's field and its rule); an author sees their
extensions' status and the reasons a version was rejected. Moderators (CODELOFT_ADMIN_EMAILS) see the
extensions waiting for review, approve or reject them and mark them verified or featured."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from nicegui import ui

from domain.access import ANONYMOUS, Actor
from domain.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from domain.extension_bundles import Bundle
from domain.extension_entities import Extension, ExtensionStatus
from domain.extension_package import MAX_PACKAGE_BYTES
from domain.extensions import ExtensionDetail, InstalledExtension
from domain.limits import human_size
from ui.components.chat_markdown import clean
from ui.components.extension_parts import (
    CATEGORY_LABELS,
    SORT_LABELS,
    ModerationControls,
    ask_to_install,
    ask_to_install_bundle,
    bundle_card,
    contributions,
    downloads_text,
    extension_card,
    marks,
    permission_list,
    rating_text,
    readme_html,
    stars,
    version_line,
    visitor_frame,
)
from ui.components.frame import frame
from ui.context import Services, services
from ui.errors import notify_error, notify_errors
from ui.pages.not_found import show_not_found
from ui.viewer import Viewer, viewer

ALL = "all"
RATING_LABELS = {5: "5 stars", 4: "4 stars", 3: "3 stars", 2: "2 stars", 1: "1 star"}
NO_EXTENSION = "No such extension, or it is not published yet."


class Marketplace:
    """The `/extensions` page's sections: publish, your extensions, the moderators' queue, featured,
    search and its results."""

    def __init__(self, current: Viewer | None) -> None:
        self._viewer = current
        self.services: Services = current.services if current else services()
        self.query = ""
        self.category = ALL
        self.sort = "downloads"
        self.results: list[Extension] = []
        self.featured: list[Extension] = []
        self.installed: set[str] = set()
        self.authored: list[ExtensionDetail] = []
        self.waiting: list[ExtensionDetail] = []
        self.moderator = False
        self.bundles: list[Bundle] = []
        self._loads = 0

    async def actor(self) -> Actor:
        return await self._viewer.actor() if self._viewer else ANONYMOUS

    async def load(self) -> bool:
        """Read what the page shows; False when a later load started meanwhile (a quick second change of the
        search, category or sort), whose answer is the one to show."""
        self._loads += 1
        load = self._loads
        market = self.services.extensions
        category = None if self.category == ALL else self.category
        results = list(await market.search(self.query, category=category, sort=self.sort))
        featured = list(await market.search("", featured=True))
        self.bundles = list(await self.services.bundles.bundles())
        if self._viewer is not None:
            actor = await self.actor()
            installed = {item.extension.name for item in await market.installed(actor)}
            authored = list(await market.authored(actor))
            moderator = await market.moderates(actor)
            waiting = list(await market.waiting(actor)) if moderator else []
            self.installed, self.authored, self.moderator, self.waiting = installed, authored, moderator, waiting
        if load != self._loads:
            return False
        self.results, self.featured = results, featured
        return True

    async def refresh(self) -> None:
        if await self.load():
            self.results_list.refresh()
            self.featured_row.refresh()
            self.authored_list.refresh()
            self.waiting_list.refresh()
            self.bundles_row.refresh()

    async def build(self) -> None:
        await self.load()
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Extensions").classes("text-xl font-bold")
        if self._viewer is not None:
            self.waiting_list()  # an administrator's work queue first
        with ui.row().classes("w-full items-center gap-2 no-wrap max-sm:flex-wrap"):
            search = ui.input(placeholder="Search by name, description or tag").props(
                'clearable dense outlined debounce=250 data-testid="ext-search"'
            )
            search.classes("grow max-sm:w-full")
            search.on_value_change(self._search)
            categories = {ALL: "All categories", **CATEGORY_LABELS}
            ui.select(categories, value=ALL, label="Category", on_change=self._filter).props(
                'dense outlined data-testid="ext-category"'
            ).classes("w-48 max-sm:w-36")
            ui.select(SORT_LABELS, value=self.sort, label="Sort", on_change=self._sort).props(
                'dense outlined data-testid="ext-sort"'
            ).classes("w-48 max-sm:w-36")
        self.featured_row()
        self.results_list()
        self.bundles_row()
        if self._viewer is not None:
            self.authored_list()
            self._publisher()

    def _publisher(self) -> None:
        with ui.card().classes("w-full").props('data-testid="ext-publish"'):
            ui.label("Publish an extension").classes("text-base font-semibold")
            ui.label(
                "A ZIP with manifest.json at its root and the files it names. A moderator reviews it before "
                "anyone else can find it."
            ).classes("text-sm text-gray-600")
            self.publish_upload = (
                ui.upload(
                    label="Extension ZIP",
                    auto_upload=True,
                    max_file_size=MAX_PACKAGE_BYTES,
                    on_upload=self._publish,
                    on_rejected=self._too_large,
                )
                .props('accept=".zip,application/zip" data-testid="ext-upload"')
                .classes("w-full")
            )
            self.publish_result = ui.label("").classes("text-sm break-words").props('data-testid="ext-publish-result"')

    def _too_large(self) -> None:
        self.publish_result.text = (
            f"An extension package may be at most {human_size(MAX_PACKAGE_BYTES)}: nothing was published."
        )
        self.publish_result.classes(replace="text-sm break-words text-red-700")

    @notify_errors
    async def _publish(self, event: Any) -> None:
        assert self._viewer is not None
        data = await event.file.read()
        try:
            detail = await self.services.extensions.publish(await self._viewer.actor(), data)
        except (InvalidInput, LimitExceeded, Conflict) as error:  # the package's refusals
            self.publish_result.text = error.message  # verbatim: the field and the rule it breaks
            self.publish_result.classes(replace="text-sm break-words text-red-700")
            notify_error(error)
            return
        finally:
            self.publish_upload.reset()
        extension = detail.extension
        shown = f"{extension.display_name} {detail.versions[0].version} is published: pending review."
        self.publish_result.text = shown
        self.publish_result.classes(replace="text-sm break-words text-green-700")
        ui.notify(shown, type="positive")
        await self.refresh()

    @ui.refreshable_method
    def authored_list(self) -> None:
        if not self.authored:
            return
        ui.label("Your extensions").classes("text-lg font-bold pt-2")
        with ui.column().classes("w-full gap-2").props('data-testid="ext-authored"'):
            for detail in self.authored:
                extension = detail.extension
                with ui.card().classes("w-full").props('data-testid="ext-authored-card"'):
                    with ui.row().classes("items-center gap-2"):
                        ui.link(extension.display_name, f"/extensions/{extension.name}").classes(
                            "text-base font-semibold no-underline text-inherit"
                        )
                        ui.badge(extension.status.value).props('outline data-testid="ext-status"')
                    for version in detail.versions:
                        version_line(version)

    @ui.refreshable_method
    def waiting_list(self) -> None:
        if not self.moderator:
            return
        ui.label("Waiting for review").classes("text-lg font-bold pt-2")
        with ui.column().classes("w-full gap-2").props('data-testid="ext-waiting"'):
            if not self.waiting:
                ui.label("Nothing is waiting for review.").classes("text-sm text-gray-500")
            for detail in self.waiting:
                extension = detail.extension
                pending = [v for v in detail.versions if v.status == ExtensionStatus.PENDING]
                with ui.card().classes("w-full").props('data-testid="ext-waiting-card"'):
                    with ui.row().classes("items-center gap-2"):
                        ui.link(extension.display_name, f"/extensions/{extension.name}").classes(
                            "text-base font-semibold no-underline text-inherit"
                        )
                        ui.label(f"{extension.name} {', '.join(v.version for v in pending)}").classes(
                            "text-xs text-gray-500"
                        )
                    ui.label(extension.description).classes("text-sm text-gray-600 break-words")
                    assert self._viewer is not None
                    ModerationControls(self._viewer, extension, waiting=True, on_change=self.refresh)

    @ui.refreshable_method
    def featured_row(self) -> None:
        if not self.featured:
            return
        ui.label("Featured").classes("text-lg font-bold pt-2")
        with ui.row().classes("w-full gap-2").props('data-testid="ext-featured-row"'):
            for extension in self.featured[:6]:
                with ui.column().classes("w-64 max-sm:w-full"):
                    extension_card(extension, installed=extension.name in self.installed, testid="ext-featured-card")

    @ui.refreshable_method
    def bundles_row(self) -> None:
        if not self.bundles:
            return
        ui.label("Bundles").classes("text-lg font-bold pt-2")
        with ui.row().classes("w-full gap-2").props('data-testid="bundles-row"'):
            for bundle in self.bundles:
                bundle_card(
                    bundle,
                    installed=self.installed,
                    on_install=self._install_bundle if self._viewer is not None else None,
                )

    @notify_errors
    async def _install_bundle(self, bundle: Bundle) -> None:
        if not await ask_to_install_bundle(bundle):
            return
        installed = await self.services.bundles.install_bundle(
            await self.actor(), bundle.category, grant=bundle.permissions
        )
        count = len(installed)
        ui.notify(f"Installed {count} extension{'' if count == 1 else 's'} of {bundle.name}", type="positive")
        await self.refresh()

    @ui.refreshable_method
    def results_list(self) -> None:
        with ui.column().classes("w-full gap-2").props('data-testid="ext-results"'):
            if not self.results:
                message = "No extension matches your search." if self.query else "No extensions yet."
                ui.label(message).classes("text-gray-500").props('data-testid="ext-empty"')
            for extension in self.results:
                extension_card(extension, installed=extension.name in self.installed)

    @notify_errors
    async def _search(self, event: Any) -> None:
        self.query = event.value or ""
        await self.refresh()

    @notify_errors
    async def _filter(self, event: Any) -> None:
        self.category = event.value or ALL
        await self.refresh()

    @notify_errors
    async def _sort(self, event: Any) -> None:
        self.sort = event.value or "downloads"
        await self.refresh()


class ExtensionPage:
    """One extension's page: what it is and does, and what the person can do with it."""

    def __init__(self, current: Viewer | None, name: str) -> None:
        self._viewer = current
        self.services: Services = current.services if current else services()
        self.name = name
        self.detail: ExtensionDetail
        self.readme: str | None = None
        self.mine: InstalledExtension | None = None
        self.moderator = False
        self.names: dict[Any, str] = {}

    async def actor(self) -> Actor:
        return await self._viewer.actor() if self._viewer else ANONYMOUS

    async def load(self) -> None:
        market = self.services.extensions
        actor = await self.actor()
        self.detail = await market.detail(actor, self.name)
        self.readme = await market.readme(actor, self.name)
        if self._viewer is not None:
            self.mine = next((i for i in await market.installed(actor) if i.extension.name == self.name), None)
            self.moderator = await market.moderates(actor)
        for review in self.detail.reviews:
            if review.user_id not in self.names:
                self.names[review.user_id] = await self._name_of(review.user_id)

    async def _name_of(self, user_id: Any) -> str:
        """A reviewer's display name, "Someone" without one (an e-mail address is never shown)."""
        if self._viewer is not None and user_id == self._viewer.user.id:
            return "You"
        try:
            return (await self.services.accounts.profile(user_id)).display_name or "Someone"
        except NotFound:
            return "Someone"

    async def refresh(self) -> None:
        await self.load()
        self.body.refresh()

    @property
    def extension(self) -> Extension:
        return self.detail.extension

    @property
    def is_author(self) -> bool:
        return self._viewer is not None and self.extension.author_id == self._viewer.user.id

    @ui.refreshable_method
    def body(self) -> None:
        extension = self.extension
        with ui.row().classes("w-full items-start justify-between no-wrap max-sm:flex-wrap"):
            with ui.column().classes("gap-1 min-w-0"):
                with ui.row().classes("items-center gap-2"):
                    ui.label(extension.display_name).classes("text-2xl font-bold break-words").props(
                        'data-testid="ext-title"'
                    )
                    marks(extension, installed=self.mine is not None)
                    if extension.status != ExtensionStatus.APPROVED:
                        ui.badge(extension.status.value).props('outline color=orange data-testid="ext-status"')
                ui.label(f"{extension.name} · {extension.version}").classes("text-sm text-gray-500")
                ui.label(extension.description).classes("text-base break-words").props('data-testid="ext-description"')
                with ui.row().classes("items-center gap-3"):
                    ui.label(downloads_text(extension)).classes("text-sm").props('data-testid="ext-downloads"')
                    ui.label(rating_text(extension)).classes("text-sm").props('data-testid="ext-rating"')
                    for tag in extension.tags:
                        ui.label(f"#{tag}").classes("text-xs text-gray-500")
            self._actions()
        if self.moderator and self._viewer is not None:
            waiting = any(v.status == ExtensionStatus.PENDING for v in self.detail.versions)
            ModerationControls(self._viewer, extension, waiting=waiting, on_change=self.refresh)
        if self.mine is not None:
            self._settings()
        with ui.tabs().classes("w-full") as tabs:
            details = ui.tab("Details")
            permissions = ui.tab("Permissions")
            features = ui.tab("Contributions")
            versions = ui.tab("Versions")
            reviews = ui.tab("Reviews")
        with ui.tab_panels(tabs, value=details).classes("w-full"):
            with ui.tab_panel(details).props('data-testid="ext-readme-panel"'):
                if self.readme is None:
                    ui.label("This extension has no README.").classes("text-gray-500")
                else:
                    ui.html(readme_html(self.readme), sanitize=clean).classes(
                        "nicegui-markdown w-full [&_h1]:text-2xl [&_h2]:text-xl [&_h3]:text-lg"
                    ).props('data-testid="ext-readme"')
            with ui.tab_panel(permissions):
                permission_list(extension.manifest.get("permissions", ()))
            with ui.tab_panel(features):
                contributions(extension.manifest)
            with ui.tab_panel(versions):
                for version in self.detail.versions:
                    version_line(version)
            with ui.tab_panel(reviews):
                self._reviews()

    def _actions(self) -> None:
        with ui.column().classes("items-end gap-2 shrink-0"):
            if self._viewer is None:
                ui.link("Sign in to install", "/login").props('data-testid="ext-sign-in-to-install"')
                return
            if self.extension.status != ExtensionStatus.APPROVED:
                return
            if self.mine is None:
                ui.button("Install", icon="download", on_click=self._install).props('data-testid="ext-install"')
                return
            if self.mine.update_available:
                ui.button(f"Update to {self.extension.version}", icon="upgrade", on_click=self._install).props(
                    'data-testid="ext-update"'
                )
            with ui.row().classes("items-center gap-2 no-wrap"):
                ui.switch("Enabled", value=self.mine.installation.is_enabled, on_change=self._enable).props(
                    'data-testid="ext-enabled"'
                )
                ui.button("Uninstall", icon="delete", color="negative", on_click=self._uninstall).props(
                    'flat data-testid="ext-uninstall"'
                )

    def _settings(self) -> None:
        assert self.mine is not None
        with ui.expansion("Settings", icon="tune").classes("w-full").props('data-testid="ext-settings"'):
            ui.label("The extension's settings, a JSON object.").classes("text-sm text-gray-600")
            self.settings_text = (
                ui.textarea(value=json.dumps(self.mine.installation.settings, indent=2, sort_keys=True))
                .props('outlined autogrow data-testid="ext-settings-text"')
                .classes("w-full font-mono")
            )
            self.settings_error = ui.label("").classes("text-sm text-red-700").props('data-testid="ext-settings-error"')
            ui.button("Save settings", on_click=self._save_settings).props('data-testid="ext-settings-save"')

    def _reviews(self) -> None:
        own = next(
            (r for r in self.detail.reviews if self._viewer is not None and r.user_id == self._viewer.user.id), None
        )
        can_review = (
            self._viewer is not None and not self.is_author and self.extension.status == ExtensionStatus.APPROVED
        )
        if can_review:
            with ui.card().classes("w-full").props('data-testid="ext-review-form"'):
                ui.label("Edit your review" if own else "Review it").classes("text-base font-semibold")
                self.review_rating = ui.radio(RATING_LABELS, value=own.rating if own else 5).props(
                    'inline data-testid="ext-review-rating"'
                )
                self.review_text = (
                    ui.textarea("What you think (optional)", value=own.text or "" if own else "")
                    .props('outlined autogrow data-testid="ext-review-text"')
                    .classes("w-full")
                )
                ui.button("Save review" if own else "Post review", on_click=self._review).props(
                    'data-testid="ext-review-save"'
                )
        elif self._viewer is None:
            ui.link("Sign in to review", "/login")
        if not self.detail.reviews:
            ui.label("No reviews yet.").classes("text-gray-500").props('data-testid="ext-no-reviews"')
        for review in self.detail.reviews:
            with ui.card().classes("w-full").props('data-testid="ext-review"'):
                with ui.row().classes("items-center gap-2"):
                    rating = ui.label(stars(review.rating)).props('data-testid="ext-review-stars"')
                    rating.props["aria-label"] = f"{review.rating} of 5 stars"
                    ui.label(self.names.get(review.user_id, "Someone")).classes("text-sm font-semibold")
                    ui.label(f"{review.updated_at:%Y-%m-%d}").classes("text-xs text-gray-500")
                if review.text:
                    ui.label(review.text).classes("text-sm break-words whitespace-pre-wrap").props(
                        'data-testid="ext-review-text-shown"'
                    )

    @notify_errors
    async def _install(self) -> None:
        extension = self.extension
        asked = tuple(extension.manifest.get("permissions", ()))
        new = self.mine.new_permissions if self.mine is not None else ()
        if (self.mine is None or new) and not await ask_to_install(extension, asked, new=new):
            return
        installed = await self.services.extensions.install(await self.actor(), self.name, grant=asked)
        ui.notify(f"Installed {extension.display_name} {installed.installation.version}", type="positive")
        await self.refresh()

    @notify_errors
    async def _uninstall(self) -> None:
        await self.services.extensions.uninstall(await self.actor(), self.name)
        ui.notify(f"Uninstalled {self.extension.display_name}")
        await self.refresh()

    @notify_errors
    async def _enable(self, event: Any) -> None:
        assert self.mine is not None
        enabled = bool(event.value)
        if enabled == self.mine.installation.is_enabled:
            return
        self.mine = await self.services.extensions.configure(await self.actor(), self.name, enabled=enabled)
        ui.notify(
            f"{self.extension.display_name} is {'enabled' if enabled else 'disabled'}: "
            "open IDE pages show it after a reload"
        )

    @notify_errors
    async def _save_settings(self) -> None:
        try:
            settings = json.loads(self.settings_text.value or "{}")
        except json.JSONDecodeError as error:
            self.settings_error.text = (
                f"The settings are not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
            )
            return
        if not isinstance(settings, dict):
            self.settings_error.text = "The settings must be a JSON object ({...})."
            return
        self.settings_error.text = ""
        self.mine = await self.services.extensions.configure(await self.actor(), self.name, settings=settings)
        ui.notify("Settings saved", type="positive")

    @notify_errors
    async def _review(self) -> None:
        await self.services.extensions.review(
            await self.actor(), self.name, rating=int(self.review_rating.value), text=self.review_text.value
        )
        ui.notify("Review saved", type="positive")
        await self.refresh()


@ui.page("/extensions", title="Extensions · Codeloft")
async def extensions_page(request: Request) -> None:
    current = await viewer(request)
    with frame("Extensions", current) if current is not None else visitor_frame("Extensions"):
        await Marketplace(current).build()


@ui.page("/extensions/{name}", title="Extension · Codeloft")
async def extension_page(request: Request, name: str) -> None:
    current = await viewer(request)
    page = ExtensionPage(current, name)
    try:
        await page.load()
    except NotFound:
        show_not_found(current, NO_EXTENSION)
        return
    title = page.extension.display_name
    with frame(title, current) if current is not None else visitor_frame(title):
        ui.link("← All extensions", "/extensions").classes("text-sm").props('data-testid="ext-back"')
        page.body()
