"""Extension commands: a palette entry whose command line runs in the sandbox over the workspace's files
(a formatter, a linter), as a run (access, quota, limits, record, output as a run's). The files it
changed or created come back and are written through `FileService.write`, each only if it is still the
version the command started from (`if_match`, or `if_none_match` for a new file): a file changed
meanwhile elsewhere is not overwritten and is named as a conflict.

Nothing is written unless three things hold: the command asks for `workspace:write` in its manifest, the
person granted that permission when installing the extension, and the person may edit the workspace
(a reader may run a command; its changes are reported, not saved). A file the command deleted is kept in
the workspace (and named): a command rewrites files, it does not remove them. A command that fails or is
stopped at a limit writes nothing."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass, field
from uuid import UUID

from domain.access import Actor
from domain.entities import RunResult
from domain.errors import CodeloftError, InvalidInput, NotFound
from domain.extension_contributions import CommandContribution
from domain.files import FileService, StaleFile
from domain.runs import RunService
from domain.sandbox import Cancellation, OutputSink
from domain.toolchains import BUILD_DIR
from domain.values import REASON_WORDS, Reason, RunStatus, WorkspacePath

WRITE = "workspace:write"


@dataclass(kw_only=True, slots=True)
class CommandOutcome:
    """What a command did, as its person sees it."""

    command: CommandContribution
    run: RunResult
    changed: list[str] = field(default_factory=list)
    """Files the command changed or created (saved or not)."""
    written: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    """Files changed elsewhere while the command ran: the stored version stays."""
    not_saved: dict[str, str] = field(default_factory=dict)
    """Files left out, and why (a name no workspace takes, too large, over the quota, not a regular file)."""
    kept: list[str] = field(default_factory=list)
    """Files the command deleted: kept in the workspace."""
    message: str = ""

    @property
    def ok(self) -> bool:
        """It ran to the end and everything it changed was saved."""
        return (
            self.run.status is RunStatus.SUCCESS
            and not self.conflicts
            and not self.not_saved
            and len(self.written) == len(self.changed)
        )


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"


def _listed(paths: list[str], most: int = 5) -> str:
    shown = ", ".join(paths[:most])
    return shown + (f" and {len(paths) - most} more" if len(paths) > most else "")


def work_folder(archive: bytes) -> tuple[dict[str, bytes], dict[str, str]]:
    """The regular files of the work folder the sandbox handed back (a tar archive), by workspace path,
    and what was left out with why (links, devices, names no workspace takes); the build folder is left
    out as a terminal's sync leaves it. Nothing is followed or created anywhere: the archive is only read
    in memory."""
    files: dict[str, bytes] = {}
    skipped: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            name = member.name
            while name.startswith("./"):
                name = name[2:]
            name = name.rstrip("/")
            if not name or name == "." or member.isdir() or name.split("/", 1)[0] == BUILD_DIR:
                continue
            if not member.isreg():
                skipped[name] = "not a regular file (a link or a device): left out"
                continue
            try:
                path = WorkspacePath(name).value
            except InvalidInput as refused:
                skipped[name] = refused.message
                continue
            handle = tar.extractfile(member)
            if handle is not None:
                files[path] = handle.read()
    return files, skipped


class ExtensionCommandService:
    def __init__(self, *, runs: RunService, files: FileService) -> None:
        self._runs = runs
        self._files = files

    async def commands(self, actor: Actor) -> tuple[CommandContribution, ...]:
        """The commands of the person's enabled extensions."""
        return (await self._runs.contributions_of(actor)).commands

    async def command(self, actor: Actor, key: str) -> CommandContribution:
        found = (await self._runs.contributions_of(actor)).command(key)
        if found is None:
            raise NotFound(f"You have no command {key!r}: install and enable the extension that has it.")
        return found

    async def run(
        self,
        actor: Actor,
        workspace_id: UUID,
        key: str,
        *,
        on_output: OutputSink | None = None,
        cancel: Cancellation | None = None,
    ) -> CommandOutcome:
        """Run the command `<extension>.<id>` over the workspace's files and write back what it changed,
        as far as it and the person may (see the module's notes)."""
        command = await self.command(actor, key)
        done = await self._runs.run_command(
            actor, workspace_id, argv=command.run, name=command.key, on_output=on_output, cancel=cancel
        )
        outcome = CommandOutcome(command=command, run=done.run)
        title = command.title
        if done.collected is None:
            outcome.message = f"{title} {_failure(done.run)}: nothing was saved."
            return outcome
        try:
            after, outcome.not_saved = work_folder(done.collected)
        except (tarfile.TarError, EOFError):
            outcome.message = f"{title} ran, but the sandbox handed back no readable work folder: nothing was saved."
            return outcome
        changed = {path: data for path, data in sorted(after.items()) if done.files.get(path) != data}
        outcome.changed = list(changed)
        outcome.kept = sorted(path for path in done.files if path not in after)
        refusal = _write_refusal(command, may_edit=done.may_edit, role=done.role)
        if refusal is not None:
            outcome.message = (
                f"{title} changed {_files(len(changed))} but {refusal}: nothing was saved."
                if changed
                else f"{title} finished: it changed no file."
            )
            return outcome
        for path, data in changed.items():
            seen = done.hashes.get(path)
            try:
                if seen is None:
                    await self._files.write(actor, workspace_id, path, data, if_none_match=True)
                else:
                    await self._files.write(actor, workspace_id, path, data, if_match=seen)
            except StaleFile:
                outcome.conflicts.append(path)
                continue
            except CodeloftError as refused:  # too large, over the quota, a folder there, access gone
                outcome.not_saved[path] = refused.message
                continue
            outcome.written.append(path)
        outcome.message = _summary(title, outcome)
        return outcome


def _write_refusal(command: CommandContribution, *, may_edit: bool, role: str) -> str | None:
    """Why the command's changes may not be saved (None: they may)."""
    if command.permission != WRITE:
        return f"it only reads the workspace (its permission is {command.permission})"
    if not command.may_write:
        return f"may not write to the workspace (it was not granted {WRITE})"
    if not may_edit:
        return f"your access to this workspace is '{role}', which does not allow you to edit it"
    return None


def _failure(run: RunResult) -> str:
    if run.reason is not None and run.reason not in (Reason.OK, Reason.COMPILE_ERROR, Reason.RUNTIME_ERROR):
        return REASON_WORDS[run.reason]
    return f"failed (exit code {run.exit_code})"


def _summary(title: str, outcome: CommandOutcome) -> str:
    parts = []
    if outcome.written:
        parts.append(f"{title} saved {_files(len(outcome.written))} ({_listed(outcome.written)})")
    elif not outcome.changed:
        parts.append(f"{title} finished: it changed no file")
    else:
        parts.append(f"{title} saved no file")
    if outcome.conflicts:
        parts.append(
            f"not saved, changed elsewhere while it ran: {_listed(outcome.conflicts)} (the stored version stays)"
        )
    if outcome.not_saved:
        parts.append("left out: " + "; ".join(f"{p} ({why})" for p, why in list(outcome.not_saved.items())[:5]))
    if outcome.kept:
        parts.append(f"it deleted {_listed(outcome.kept)}, kept in the workspace")
    return "; ".join(parts) + "."
