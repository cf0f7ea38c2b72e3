"""Workspaces: create one from a template or an archive, list and search them, open, change, delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from domain import cache_keys
from domain.access import ROLE_MATRIX, Action, Actor
from domain.codec import to_json
from domain.editor_settings import editor_settings, validate_editor_settings
from domain.entities import FOLDER_MIME, Workspace
from domain.errors import Conflict, NotFound
from domain.extension_contributions import NONE as NO_CONTRIBUTIONS
from domain.extension_contributions import Contributions
from domain.files import FileService, StoredContent, new_file
from domain.gate import WorkspaceGate
from domain.ports import Clock, TemplateSource, UnitOfWorkFactory
from domain.quotas import check_workspaces
from domain.templates import Template, find_template, templates_for
from domain.toolchains import ContributionsOf, can_run, runnable_toolchain
from domain.values import Language, WorkspacePath, parse_enum, require_text

MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 2000
MAX_QUERY_LENGTH = 200


def run_entry(workspace: Workspace) -> str | None:
    """The file Run runs whatever is open (`settings["run"]["entry"]`), if the owner chose one."""
    entry = dict(workspace.settings.get("run") or {}).get("entry")
    return entry if isinstance(entry, str) and entry else None


def template_settings(template: Template) -> dict[str, Any]:
    """A new workspace's settings from its template: Run runs the template's program (its entry
    point, e.g. main.cpp with the other sources, or the Java class with main) whatever file is open."""
    if template.entry is None or not can_run(template.entry):
        return {}
    return {"run": {"entry": template.entry}}


def _entry(path: str, contributions: Contributions = NO_CONTRIBUTIONS) -> str:
    checked = WorkspacePath(path).value
    runnable_toolchain(checked, contributions)  # refuses a file Codeloft cannot run, naming what it can
    return checked


def _name(value: str) -> str:
    return require_text(value, what="workspace name", max_length=MAX_NAME_LENGTH)


def _description(value: str | None) -> str | None:
    if value is None:
        return None
    text = require_text(value, what="description", max_length=MAX_DESCRIPTION_LENGTH, allow_empty=True, lines=True)
    return text or None


class WorkspaceService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        gate: WorkspaceGate,
        templates: TemplateSource,
        files: FileService,
        contributions: ContributionsOf | None = None,
    ) -> None:
        self._contributions = contributions
        """The person's extensions: a file of a language they contribute with a `run` may be the entry point."""
        self._uow = uow
        self._clock = clock
        self._gate = gate
        self._templates = templates
        self._files = files

    async def _contributions_for(self, actor: Actor, entry: str) -> Contributions:
        if self._contributions is None or actor.user_id is None or can_run(entry):
            return NO_CONTRIBUTIONS
        return await self._contributions(actor)

    def templates(self, language: Language) -> list[Template]:
        return templates_for(self._templates.catalog(), language)

    async def create(
        self,
        actor: Actor,
        *,
        name: str,
        language: str,
        template: str = "blank",
        description: str | None = None,
        archive: bytes | None = None,
    ) -> Workspace:
        """A new workspace with its template's files, or (with `archive`) a ZIP's files instead."""
        owner_id = actor.require_user()
        lang = parse_enum(Language, language, what="language")
        starter = find_template(self._templates.catalog(), lang, template)
        now = self._clock()
        workspace = Workspace(
            owner_id=owner_id,
            name=_name(name),
            description=_description(description),
            language=lang,
            template=starter.name,
            settings=template_settings(starter) if archive is None else {},
            last_accessed_at=now,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            await check_workspaces(uow, owner_id)
            await uow.workspaces.add(workspace)
            if archive is not None:
                await self._files.unpack_into(uow, workspace, archive, now=now)
            else:
                for path, data in self._templates.files(starter).items():
                    target = WorkspacePath(path).value
                    await uow.files.add(new_file(workspace.id, target, StoredContent.of(target, data), now))
            await uow.commit()
        return workspace

    async def list_accessible(self, actor: Actor, *, query: str = "") -> Sequence[Workspace]:
        """The actor's own workspaces and those shared with them, most recently opened first;
        `query` keeps those whose name or description matches it."""
        user_id = actor.require_user()
        text = query.strip()[:MAX_QUERY_LENGTH]
        async with self._uow() as uow:
            if text:
                return await uow.workspaces.search_accessible(user_id, text, now=self._clock())
            return await uow.workspaces.list_accessible(user_id, now=self._clock())

    async def get(self, actor: Actor, workspace_id: UUID) -> Workspace:
        """One workspace (read through the `workspace:<id>` cache entry), after the access check."""
        async with self._uow() as uow:
            return await self._gate.require(uow, actor, Action.VIEW, workspace_id)

    async def open(self, actor: Actor, workspace_id: UUID) -> Workspace:
        """Like `get`, and records the visit (`last_accessed_at`), which orders the dashboard."""
        now = self._clock()
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            await uow.workspaces.touch_accessed(workspace_id, at=now)
            await uow.commit()
        workspace.last_accessed_at = now
        # What was read (cached or not) with the visit's time is the row as it stands: cached in place, so
        # the page that follows reads it from the cache (a change meanwhile has it fenced off or dropped).
        await self._gate.keep(cache_keys.workspace(workspace_id), to_json(workspace), read_at=now)
        return workspace

    async def update(
        self,
        actor: Actor,
        workspace_id: UUID,
        *,
        name: str | None = None,
        description: str | None = None,
        editor: dict[str, Any] | None = None,
        entry: str | None = None,
        is_public: bool | None = None,
        is_template: bool | None = None,
    ) -> Workspace:
        """Rename, describe (an empty description clears it), change editor settings, or choose the
        file Run runs (`entry`; empty: the open file); the owner alone makes it public (listed on
        Explore, readable by everyone) or publishes it as a template (the same, and offered in everyone's
        New workspace dialog)."""
        changes: dict[str, Any] = {}
        if is_public is not None:
            changes["is_public"] = is_public
        if is_template is not None:
            changes["is_template"] = is_template
        if name is not None:
            changes["name"] = _name(name)
        if description is not None:
            changes["description"] = _description(description)
        checked_editor = validate_editor_settings(editor) if editor else {}
        checked_entry = _entry(entry, await self._contributions_for(actor, entry)) if entry else entry
        now = self._clock()
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.MANAGE, workspace_id)
            if is_public is not None or is_template is not None:
                await self._gate.check(uow, actor, Action.PUBLISH, workspace)
            if checked_entry:
                stored = await uow.files.get(workspace_id, checked_entry)
                if stored is None or stored.mime_type == FOLDER_MIME:
                    raise Conflict(f"There is no file {checked_entry} to make the entry point.")
            if checked_editor or checked_entry is not None:
                settings = dict(workspace.settings)
                if checked_editor:
                    settings["editor"] = {**dict(settings.get("editor") or {}), **checked_editor}
                if checked_entry is not None:
                    settings["run"] = {**dict(settings.get("run") or {}), "entry": checked_entry or None}
                changes["settings"] = settings
            if changes:
                await uow.workspaces.update(workspace_id, changes, at=now)
                await uow.commit()
        await self._gate.forget_metadata(workspace_id)
        for key, value in changes.items():
            setattr(workspace, key, value)
        workspace.updated_at = now if changes else workspace.updated_at
        return workspace

    async def delete(self, actor: Actor, workspace_id: UUID) -> None:
        """Delete the workspace; its files, shares, jobs and conversations go with it (ON DELETE CASCADE)."""
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.DELETE, workspace_id)
            await uow.workspaces.delete(workspace_id)
            await uow.commit()
        await self._gate.forget(workspace_id)

    @staticmethod
    def editor_settings(workspace: Workspace) -> dict[str, Any]:
        return editor_settings(workspace.settings)

    @staticmethod
    def run_entry(workspace: Workspace) -> str | None:
        return run_entry(workspace)

    async def permissions(self, actor: Actor, workspace: Workspace) -> frozenset[Action]:
        """What the actor may do to the workspace (for showing or hiding controls; every service
        call checks again)."""
        async with self._uow() as uow:
            role = await self._gate.check(uow, actor, Action.VIEW, workspace)
        return ROLE_MATRIX[role]

    async def access(self, actor: Actor, workspace_id: UUID) -> frozenset[Action]:
        """What the actor may do to the workspace right now: nothing (an empty set) once they may not even
        see it (a share revoked or expired, the workspace deleted). An open IDE page asks this to follow
        changes to its person's access while it is open."""
        async with self._uow() as uow:
            try:
                role = await self._gate.role(uow, actor, workspace_id)
            except NotFound:
                return frozenset()
        return ROLE_MATRIX[role]

    def entry_candidates(self, workspace: Workspace) -> list[str]:
        """The files to open first if they are there: the template's entry point (then the first file)."""
        return [t.entry for t in self.templates(workspace.language) if t.name == workspace.template and t.entry]
