"""The "New workspace" dialog: name, language, template, description. The templates are the built-in ones
and the workspaces people published as templates (creating from one of those forks it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from nicegui import background_tasks, ui

from domain.entities import Workspace
from domain.values import Language
from ui.errors import notify_errors
from ui.viewer import Viewer

PUBLISHED = "published:"
"""Template keys of published workspaces: "<language>:published:<workspace id>"."""

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
        self._published: dict[str, str] = {}
        self._refresh_templates()

    def _refresh_templates(self, *, keep: bool = False) -> None:
        """The language's templates; the one chosen stays chosen with `keep` if it is still offered."""
        language = Language(self.language.value)
        options = {t.name: t.title for t in self.services.workspaces.templates(language)}
        options |= {key: title for key, title in self._published.items() if key.startswith(f"{language.value}:")}
        chosen = self.template.value if keep and self.template.value in options else None
        self.template.set_options(options, value=chosen or (language.value if language.value in options else "blank"))

    @notify_errors
    async def load_published(self) -> None:
        """The workspaces people published as templates, most starred first ("Name (by Ann)")."""
        entries = await self.services.explore.templates()
        self._published = {
            f"{e.workspace.language.value}:{PUBLISHED}{e.workspace.id}": f"{e.workspace.name} (by {e.owner_name})"
            for e in entries
        }
        self._refresh_templates(keep=True)

    def open(self) -> None:
        self.name.value = ""
        self.description.value = ""
        self.dialog.open()
        background_tasks.create(self.load_published(), name="published templates")  # any published since

    @notify_errors
    async def _create(self) -> None:
        chosen = self.template.value or "blank"
        _, published, workspace_id = chosen.partition(f":{PUBLISHED}")
        if published:
            name = (self.name.value or "").strip()
            workspace = await self.services.explore.fork(
                await self._viewer.actor(), UUID(workspace_id), name=name or None
            )
            self.dialog.close()
            ui.notify(f"Created {workspace.name}", type="positive")
            await self._on_created(workspace)
            return
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
