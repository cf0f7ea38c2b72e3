"""Extension commands and contributed languages on fakes: a command's changed files are written back
(only with workspace:write granted, only for people who may edit, never over a change made meanwhile),
it counts as a run; a .sh file of a person with a shell language is runnable, its program checked."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.entities import RunResult
from domain.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from domain.extension_commands import ExtensionCommandService, work_folder
from domain.extension_contributions import CommandContribution, Contributions, LanguageContribution
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.plans import PLANS
from domain.runs import Executor, RunService
from domain.sandbox import SandboxRequest, SandboxResult
from domain.toolchains import can_run, contributed_toolchain
from domain.values import PermissionLevel, Reason, RunStatus, Tier
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.builders import share
from tests.unit.fakes import FakeRunner, FakeTemplateSource, FakeUnitOfWork, Store, sandbox_result
from ui.metrics import Metrics

FORMAT = CommandContribution(
    extension="json-tools",
    id="format-json",
    title="Format JSON files",
    run=("python3", "/opt/format.py"),
    permission="workspace:write",
    may_write=True,
    extension_label="JSON tools",
)
SHELL = LanguageContribution(
    extension="shell", id="shell", label="Shell", extensions=(".sh",), mode="shell", run=("bash", "{file}")
)


def tar(files: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo(".")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        for path, data in files.items():
            info = tarfile.TarInfo(f"./{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for path, target in (links or {}).items():
            info = tarfile.TarInfo(f"./{path}")
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


class Provider:
    """The person's contributions, as ExtensionService.contributions would answer."""

    def __init__(self, contributions: Contributions) -> None:
        self.contributions = contributions
        self.asked = 0

    async def __call__(self, actor: Actor) -> Contributions:
        self.asked += 1
        return self.contributions


@pytest.fixture
def provider() -> Provider:
    return Provider(Contributions(commands=(FORMAT,), languages=(SHELL,)))


@pytest.fixture
def runs(store: Store, clock: FrozenClock, gate: WorkspaceGate, executor: Executor, provider: Provider) -> RunService:
    return RunService(
        uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, executor=executor, contributions=provider
    )


@pytest.fixture
def commands(runs: RunService, files: FileService) -> ExtensionCommandService:
    return ExtensionCommandService(runs=runs, files=files)


@pytest.fixture
async def ws(workspaces: WorkspaceService, files: FileService, owner: Actor) -> UUID:
    ws = (await workspaces.create(owner, name="data", language="python")).id
    await files.write(owner, ws, "a.json", b'{"b": 1, "a": 2}')
    await files.write(owner, ws, "b.json", b'{"z": 0}')
    await files.write(owner, ws, "notes.txt", b"hello")
    return ws


def formatted(runner: FakeRunner, files: dict[str, bytes], **changes: object) -> None:
    """The next command hands back this work folder."""
    runner.compiles.append(sandbox_result(collected=tar(files), **changes))


ORIGINAL = {"a.json": b'{"b": 1, "a": 2}', "b.json": b'{"z": 0}', "notes.txt": b"hello"}
A_FORMATTED = b'{\n  "a": 2,\n  "b": 1\n}\n'


async def text(files: FileService, actor: Actor, ws: UUID, path: str) -> bytes:
    return (await files.read(actor, ws, path))[1]


# --- write-back -------------------------------------------------------------------------------


async def test_the_files_a_command_changed_and_created_are_saved(
    commands: ExtensionCommandService, runner: FakeRunner, files: FileService, owner: Actor, ws: UUID, store: Store
) -> None:
    formatted(runner, {**ORIGINAL, "a.json": A_FORMATTED, "new.json": b"{}\n"})
    outcome = await commands.run(owner, ws, "json-tools.format-json")
    assert outcome.written == ["a.json", "new.json"] and outcome.changed == ["a.json", "new.json"]
    assert await text(files, owner, ws, "a.json") == A_FORMATTED
    assert await text(files, owner, ws, "new.json") == b"{}\n"
    assert await text(files, owner, ws, "b.json") == b'{"z": 0}'
    assert outcome.message == "Format JSON files saved 2 files (a.json, new.json)."
    request = runner.compile_requests[-1]
    assert request.argv == ["python3", "/opt/format.py"] and request.collect == "."
    assert request.files == ORIGINAL  # the workspace's files, nothing else
    (run,) = store.runs.values()
    assert run.path == "json-tools.format-json" and run.language == "command" and run.status is RunStatus.SUCCESS


async def test_without_the_write_grant_nothing_is_saved_and_the_outcome_says_so(
    commands: ExtensionCommandService,
    provider: Provider,
    runner: FakeRunner,
    files: FileService,
    owner: Actor,
    ws: UUID,
) -> None:
    provider.contributions = Contributions(commands=(replace(FORMAT, may_write=False),))
    formatted(runner, {**ORIGINAL, "a.json": A_FORMATTED, "b.json": b'{\n  "z": 0\n}\n'})
    outcome = await commands.run(owner, ws, "json-tools.format-json")
    assert outcome.message == (
        "Format JSON files changed 2 files but may not write to the workspace (it was not granted "
        "workspace:write): nothing was saved."
    )
    assert outcome.written == [] and outcome.changed == ["a.json", "b.json"]
    assert await text(files, owner, ws, "a.json") == ORIGINAL["a.json"]


async def test_a_command_asking_only_to_read_writes_nothing_even_with_the_grant(
    commands: ExtensionCommandService,
    provider: Provider,
    runner: FakeRunner,
    files: FileService,
    owner: Actor,
    ws: UUID,
) -> None:
    provider.contributions = Contributions(commands=(replace(FORMAT, permission="workspace:read"),))
    formatted(runner, {**ORIGINAL, "a.json": A_FORMATTED})
    outcome = await commands.run(owner, ws, "json-tools.format-json")
    assert "its permission is workspace:read" in outcome.message and outcome.written == []
    assert await text(files, owner, ws, "a.json") == ORIGINAL["a.json"]


async def test_a_file_changed_meanwhile_is_not_overwritten_and_is_named(
    commands: ExtensionCommandService, runner: FakeRunner, files: FileService, owner: Actor, ws: UUID
) -> None:
    formatted(runner, {**ORIGINAL, "a.json": A_FORMATTED, "b.json": b'{\n  "z": 0\n}\n'})
    original_execute = runner.execute

    async def execute(request: SandboxRequest, **kwargs: object) -> SandboxResult:
        result = await original_execute(request, **kwargs)  # type: ignore[arg-type]
        await files.write(owner, ws, "a.json", b'{"edited": true}')  # saved in the editor while it ran
        return result

    runner.execute = execute  # type: ignore[method-assign]
    outcome = await commands.run(owner, ws, "json-tools.format-json")
    assert outcome.conflicts == ["a.json"] and outcome.written == ["b.json"]
    assert "changed elsewhere while it ran: a.json" in outcome.message
    assert await text(files, owner, ws, "a.json") == b'{"edited": true}'
    assert await text(files, owner, ws, "b.json") == b'{\n  "z": 0\n}\n'
    assert not outcome.ok


async def test_a_read_only_member_may_run_but_nothing_is_written_and_they_are_told_why(
    commands: ExtensionCommandService,
    runner: FakeRunner,
    files: FileService,
    accounts: AccountService,
    store: Store,
    owner: Actor,
    ws: UUID,
) -> None:
    reader = Actor((await accounts.add_local_user("reader@example.com")).id)
    share(store, ws, owner, reader, PermissionLevel.READ)
    formatted(runner, {**ORIGINAL, "a.json": A_FORMATTED})
    outcome = await commands.run(reader, ws, "json-tools.format-json")
    assert outcome.message == (
        "Format JSON files changed 1 file but your access to this workspace is 'read', which does not allow you "
        "to edit it: nothing was saved."
    )
    assert await text(files, owner, ws, "a.json") == ORIGINAL["a.json"]
    assert len(store.runs) == 1  # it ran, and counts as the reader's run


async def test_a_stranger_cannot_run_a_command_in_someone_elses_workspace(
    commands: ExtensionCommandService, runner: FakeRunner, accounts: AccountService, store: Store, ws: UUID
) -> None:
    stranger = Actor((await accounts.add_local_user("stranger@example.com")).id)
    with pytest.raises(NotFound, match="No such workspace"):
        await commands.run(stranger, ws, "json-tools.format-json")
    assert runner.requests == [] and store.runs == {}


async def test_a_command_the_person_does_not_have_is_not_found(
    commands: ExtensionCommandService, runner: FakeRunner, owner: Actor, ws: UUID
) -> None:
    with pytest.raises(NotFound, match="install and enable the extension"):
        await commands.run(owner, ws, "json-tools.nope")
    assert runner.requests == []


async def test_a_failed_command_writes_nothing(
    commands: ExtensionCommandService, runner: FakeRunner, files: FileService, owner: Actor, ws: UUID
) -> None:
    runner.compiles.append(sandbox_result(exit_code=2, stderr=b"bad json\n", collected=None))
    outcome = await commands.run(owner, ws, "json-tools.format-json")
    assert outcome.message == "Format JSON files failed (exit code 2): nothing was saved."
    assert outcome.run.stdout == "bad json\n" and outcome.run.reason is Reason.RUNTIME_ERROR
    assert await text(files, owner, ws, "a.json") == ORIGINAL["a.json"]


async def test_deleted_files_are_kept_and_links_left_out(
    commands: ExtensionCommandService, runner: FakeRunner, files: FileService, owner: Actor, ws: UUID
) -> None:
    archive = tar({"a.json": A_FORMATTED, "b.json": ORIGINAL["b.json"]}, links={"secret": "/etc/shadow"})
    runner.compiles.append(sandbox_result(collected=archive))
    outcome = await commands.run(owner, ws, "json-tools.format-json")
    assert outcome.kept == ["notes.txt"] and await text(files, owner, ws, "notes.txt") == b"hello"
    assert "secret" in outcome.not_saved and outcome.written == ["a.json"]
    assert "it deleted notes.txt, kept in the workspace" in outcome.message


def test_the_work_folder_reader_refuses_names_no_workspace_takes() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in ("./ok.txt", "../escape.txt", "/abs.txt"):
            info = tarfile.TarInfo(name)
            info.size = 1
            archive.addfile(info, io.BytesIO(b"x"))
    found, skipped = work_folder(buffer.getvalue())
    assert found == {"ok.txt": b"x"} and set(skipped) == {"../escape.txt", "/abs.txt"}


async def test_a_command_counts_against_the_runs_per_hour(
    commands: ExtensionCommandService, runner: FakeRunner, owner: Actor, ws: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLANS, Tier.FREE, replace(PLANS[Tier.FREE], runs_per_hour=2))
    runner.compiles += [sandbox_result(collected=tar(ORIGINAL))] * 2
    await commands.run(owner, ws, "json-tools.format-json")
    await commands.run(owner, ws, "json-tools.format-json")
    with pytest.raises(QuotaExceeded, match="2 runs in the last hour"):
        await commands.run(owner, ws, "json-tools.format-json")


async def test_a_command_has_the_plans_run_limits_and_its_output_streams(
    commands: ExtensionCommandService, runs: RunService, runner: FakeRunner, owner: Actor, ws: UUID
) -> None:
    seen: list[tuple[str, str]] = []

    async def sink(stream: str, text: str) -> None:
        seen.append((stream, text))

    async def execute(request: SandboxRequest, *, on_output: object = None, cancel: object = None) -> SandboxResult:
        runner.requests.append(request)
        assert callable(on_output)
        await on_output("stderr", "formatted a.json\n")
        return sandbox_result(collected=tar(ORIGINAL))

    runner.execute = execute  # type: ignore[method-assign]
    outcome = await commands.run(owner, ws, "json-tools.format-json", on_output=sink)
    assert seen == [("stdout", "formatted a.json\n")]
    assert runner.requests[-1].limits == runs.defaults
    assert outcome.message == "Format JSON files finished: it changed no file."


# --- contributed languages ----------------------------------------------------------------------


async def test_a_sh_file_runs_with_the_contributed_command_line(
    runs: RunService, runner: FakeRunner, files: FileService, owner: Actor, ws: UUID, store: Store
) -> None:
    await files.write(owner, ws, "scripts/-hello.sh", b"echo hi\n")
    runner.runs.append(sandbox_result())  # `command -v bash`: found
    runner.runs.append(sandbox_result(stdout=b"hi\n"))
    run = await runs.run(owner, ws, path="scripts/-hello.sh")
    check, program = runner.run_requests
    assert check.argv[-1] == "bash" and check.files == {}
    assert program.argv == ["bash", "./scripts/-hello.sh"]
    assert run.stdout == "hi\n" and run.language == "shell" and run.status is RunStatus.SUCCESS
    (compilation,) = store.compilations.values()
    assert compilation.language == "shell"
    await runs.run(owner, ws, path="scripts/-hello.sh")
    assert [r.argv[0] for r in runner.run_requests].count("/bin/sh") == 1  # the program is looked up once


async def test_a_contributed_language_whose_program_the_sandbox_lacks_is_refused(
    runs: RunService, runner: FakeRunner, provider: Provider, files: FileService, owner: Actor, ws: UUID, store: Store
) -> None:
    provider.contributions = Contributions(languages=(replace(SHELL, run=("fish", "{file}"), label="Fish"),))
    await files.write(owner, ws, "a.sh", b"echo hi\n")
    runner.runs.append(sandbox_result(exit_code=1))
    with pytest.raises(Conflict, match="run with 'fish', which is not available in the sandbox"):
        await runs.run(owner, ws, path="a.sh")
    assert store.runs == {}


async def test_without_the_extension_a_sh_file_is_not_runnable(
    runs: RunService, provider: Provider, files: FileService, owner: Actor, ws: UUID
) -> None:
    provider.contributions = Contributions()
    await files.write(owner, ws, "a.sh", b"echo hi\n")
    with pytest.raises(InvalidInput, match=r"does not know how to run a\.sh"):
        await runs.run(owner, ws, path="a.sh")
    assert not can_run("a.sh") and can_run("a.sh", Contributions(languages=(SHELL,)))


async def test_a_built_in_language_never_asks_for_the_contributions(
    runs: RunService, provider: Provider, files: FileService, owner: Actor, ws: UUID
) -> None:
    await files.write(owner, ws, "main.py", b"print(1)\n")
    await runs.run(owner, ws, path="main.py")
    assert provider.asked == 0


def test_a_contribution_never_takes_a_built_in_languages_files() -> None:
    python_too = replace(SHELL, extensions=(".py", ".sh"))
    assert can_run("x.py", Contributions(languages=(python_too,)))
    assert contributed_toolchain("x.py", Contributions(languages=(python_too,))) is None


async def test_a_contributed_languages_file_may_be_the_entry_point_run_by_run(
    store: Store,
    clock: FrozenClock,
    gate: WorkspaceGate,
    files: FileService,
    runs: RunService,
    runner: FakeRunner,
    provider: Provider,
    owner: Actor,
    ws: UUID,
) -> None:
    await files.write(owner, ws, "run.sh", b"echo entry\n")
    plain = WorkspaceService(
        uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, templates=FakeTemplateSource(), files=files
    )
    with pytest.raises(InvalidInput, match=r"does not know how to run run\.sh"):
        await plain.update(owner, ws, entry="run.sh")
    with_extensions = WorkspaceService(
        uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, templates=FakeTemplateSource(), files=files,
        contributions=provider,
    )  # fmt: skip
    await with_extensions.update(owner, ws, entry="run.sh")
    run = await runs.run(owner, ws)  # no path: the entry point
    assert run.path == "run.sh" and runner.run_requests[-1].argv == ["bash", "./run.sh"]


def test_metrics_count_a_contributed_languages_and_a_commands_runs_by_their_names() -> None:
    metrics = Metrics()
    for language in ("shell", "command"):
        run = RunResult(
            compilation_job_id=uuid4(), workspace_id=uuid4(), path="x", language=language,
            status=RunStatus.SUCCESS, reason=Reason.OK, wall_ms=10, created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        metrics.run_finished(run)
    text = metrics.render().decode()
    assert 'codeloft_runs_total{language="shell",reason="ok",status="success"} 1.0' in text
    assert 'codeloft_runs_total{language="command",reason="ok",status="success"} 1.0' in text
