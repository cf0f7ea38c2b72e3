"""The "New workspace" dialog: name, language, template, description."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from domain.entities import Workspace
from domain.values import Language
from ui.errors import notify_errors
from ui.viewer import Viewer

LANGUAGE_LABELS = {
    Language.PYTHON: "Python",
    Language.JAVASCRIPT: "JavaScript (Node.js)",
    Language.CPP: "C++",
    Language.JAVA: "Java",
}


class NewWorkspaceDialog:
    def __init__(self, viewer: Viewer, on_created: Callable[[Workspace], Awaitable[None]]) -> None:
        self._viewer = viewer
        self.services = viewer.services
        self._on_created = on_created
        with ui.dialog() as self.dialog, ui.card().classes("w-96"):
            ui.label("New workspace").classes("text-lg font-bold")
            self.name = ui.input("Name").props('autofocus data-testid="new-name"').classes("w-full")
            self.language = (
                ui.select(
                    {lang.value: label for lang, label in LANGUAGE_LABELS.items()},
                    value=Language.PYTHON.value,
                    label="Language",
                    on_change=lambda _: self._refresh_templates(),
                )
                .classes("w-full")
                .props('data-testid="new-language"')
            )
            self.template = ui.select({}, label="Template").classes("w-full").props('data-testid="new-template"')
            self.description = ui.textarea("Description (optional)").classes("w-full")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Create", on_click=self._create).props('data-testid="new-create"')
        self.name.on("keydown.enter", self._create)
        self._refresh_templates()

    def _refresh_templates(self) -> None:
        language = Language(self.language.value)
        options = {t.name: t.title for t in self.services.workspaces.templates(language)}
        self.template.set_options(options, value=language.value if language.value in options else "blank")

    def open(self) -> None:
        self.name.value = ""
        self.description.value = ""
        self.dialog.open()

    @notify_errors
    async def _create(self) -> None:
        workspace = await self.services.workspaces.create(
            await self._viewer.actor(),
            name=self.name.value or "",
            language=self.language.value,
            template=self.template.value or "blank",
            description=self.description.value or None,
        )
        self.dialog.close()
        ui.notify(f"Created {workspace.name}", type="positive")
        await self._on_created(workspace)
