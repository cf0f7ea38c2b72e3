"""What an owner or operator configures about runs: default limits (CODELOFT_RUN_LIMITS) under the
plans' ceilings, and the workspace's entry point (settings["run"]["entry"]) that Run runs."""

from __future__ import annotations

import re
from uuid import UUID

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.plans import plan_for
from domain.runs import Executor, RunService
from domain.sandbox import LIMIT_NAMES, RunLimits
from domain.values import PermissionLevel, Tier
from domain.workspaces import WorkspaceService, run_entry
from tests.conftest import FrozenClock
from tests.unit.builders import share
from tests.unit.fakes import FakeRunner, FakeUnitOfWork, Store

# --- RunLimits.parse: the setting's and the API's language --------------------------------------


def test_parse_takes_every_limit_by_name() -> None:
    values = {"cpu_seconds": 1.5, "wall_seconds": 3, "memory_mb": 64, "processes": 8, "output_bytes": 4096,
              "file_size_mb": 2}  # fmt: skip
    limits = RunLimits.parse(values, where="test")
    assert [getattr(limits, name) for name in LIMIT_NAMES] == [1.5, 3.0, 64, 8, 4096, 2]


def test_parse_of_nothing_is_the_defaults() -> None:
    assert RunLimits.parse({}, where="test") == RunLimits()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cpu": 1}, "there is no run limit 'cpu'; known are cpu_seconds, wall_seconds"),
        ({"memory_mb": 0}, "memory_mb must be a number above zero"),
        ({"wall_seconds": -1}, "wall_seconds must be a number above zero"),
        ({"processes": True}, "processes must be a number above zero"),
        ({"processes": "64"}, "processes must be a number above zero"),
        ({"memory_mb": 12.5}, "memory_mb must be a whole number"),
    ],
)
def test_parse_refuses_bad_values_naming_where_they_came_from(values: dict, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        RunLimits.parse(values, where="CODELOFT_RUN_LIMITS")
    assert error.value.message.startswith("CODELOFT_RUN_LIMITS: ") and message in error.value.message


def test_widest_takes_the_larger_of_each_limit() -> None:
    small = RunLimits(cpu_seconds=30, memory_mb=128)
    assert small.widest(RunLimits()) == RunLimits(cpu_seconds=30)


# --- default limits from settings -------------------------------------------------------------


def configured(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, executor: Executor, **defaults: float
) -> RunService:
    return RunService(
        uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, executor=executor,
        defaults=RunLimits().with_changes(**defaults),
    )  # fmt: skip


@pytest.fixture
async def python_ws(workspaces: WorkspaceService, files: FileService, owner: Actor) -> UUID:
    ws = (await workspaces.create(owner, name="py", language="python")).id
    await files.write(owner, ws, "main.py", b"print(1)\n")
    await files.write(owner, ws, "tools/other.py", b"print(2)\n")
    await files.write(owner, ws, "README.md", b"# read me\n")
    return ws


async def test_a_run_without_limits_gets_the_configured_defaults(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, executor: Executor, runner: FakeRunner, owner: Actor,
    python_ws: UUID,
) -> None:  # fmt: skip
    runs = configured(store, clock, gate, executor, cpu_seconds=2, memory_mb=128)
    await runs.run(owner, python_ws)
    assert runner.requests[0].limits == RunLimits(cpu_seconds=2, memory_mb=128)


async def test_configured_defaults_above_the_free_plan_are_allowed_and_become_its_ceiling(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, executor: Executor, runner: FakeRunner, owner: Actor,
    python_ws: UUID,
) -> None:  # fmt: skip
    runs = configured(store, clock, gate, executor, cpu_seconds=30, memory_mb=1024)
    await runs.run(owner, python_ws)
    await runs.run(owner, python_ws, limits={"cpu_seconds": 12})
    assert [r.limits.cpu_seconds for r in runner.requests] == [30, 12]
    assert runner.requests[0].limits.memory_mb == 1024
    with pytest.raises(PermissionDenied, match="cpu_seconds may be at most 30 on your plan"):
        await runs.run(owner, python_ws, limits={"cpu_seconds": 31})
    assert runs.ceiling(Tier.FREE) == RunLimits(cpu_seconds=30, memory_mb=1024)
    # a plan above the defaults keeps its own larger limits
    assert runs.ceiling(Tier.ENTERPRISE) == plan_for(Tier.ENTERPRISE).run_ceiling


# --- the entry point --------------------------------------------------------------------------


async def test_a_run_without_a_path_runs_the_chosen_entry_point(
    workspaces: WorkspaceService, runs: RunService, runner: FakeRunner, owner: Actor, python_ws: UUID
) -> None:
    updated = await workspaces.update(owner, python_ws, entry="tools/other.py")
    assert run_entry(updated) == "tools/other.py" and updated.settings["run"] == {"entry": "tools/other.py"}
    run = await runs.run(owner, python_ws)
    assert run.path == "tools/other.py" and runner.requests[0].argv == ["python3", "-u", "./tools/other.py"]
    # a path named by the caller still wins
    assert (await runs.run(owner, python_ws, path="main.py")).path == "main.py"


async def test_the_entry_point_is_kept_beside_the_editor_settings(
    workspaces: WorkspaceService, owner: Actor, python_ws: UUID
) -> None:
    await workspaces.update(owner, python_ws, editor={"font_size": 18})
    updated = await workspaces.update(owner, python_ws, entry="main.py")
    assert updated.settings["editor"]["font_size"] == 18 and run_entry(updated) == "main.py"
    reread = await workspaces.get(owner, python_ws)
    assert run_entry(reread) == "main.py" and reread.settings["editor"]["font_size"] == 18


async def test_clearing_the_entry_point_runs_the_main_file_again(
    workspaces: WorkspaceService, runs: RunService, owner: Actor, python_ws: UUID
) -> None:
    await workspaces.update(owner, python_ws, entry="tools/other.py")
    cleared = await workspaces.update(owner, python_ws, entry="")
    assert run_entry(cleared) is None
    assert (await runs.run(owner, python_ws)).path == "main.py"


@pytest.mark.parametrize(
    ("entry", "error", "message"),
    [
        ("missing.py", Conflict, "There is no file missing.py to make the entry point."),
        ("tools/sub.py", Conflict, "There is no file tools/sub.py to make the entry point."),
        ("README.md", InvalidInput, "Codeloft does not know how to run README.md"),
        ("../main.py", InvalidInput, "A path cannot contain '.' or '..' segments."),
        ("/etc/passwd.py", InvalidInput, "it cannot start with '/'"),
    ],
)
async def test_a_bad_entry_point_is_refused_and_the_settings_stay(
    workspaces: WorkspaceService,
    files: FileService,
    owner: Actor,
    python_ws: UUID,
    entry: str,
    error: type[Exception],
    message: str,
) -> None:
    await files.create_folder(owner, python_ws, "tools/sub.py")  # a folder, not a file
    await workspaces.update(owner, python_ws, entry="main.py")
    with pytest.raises(error, match=re.escape(message)):
        await workspaces.update(owner, python_ws, entry=entry)
    assert run_entry(await workspaces.get(owner, python_ws)) == "main.py"


async def test_an_entry_point_deleted_since_is_a_clear_error_not_another_file(
    workspaces: WorkspaceService, files: FileService, runs: RunService, store: Store, owner: Actor, python_ws: UUID
) -> None:
    await workspaces.update(owner, python_ws, entry="tools/other.py")
    await files.delete(owner, python_ws, "tools/other.py")
    with pytest.raises(NotFound, match=re.escape("The entry point tools/other.py (workspace settings) is not in")):
        await runs.run(owner, python_ws)
    assert store.runs == {}


async def test_only_someone_who_manages_the_workspace_chooses_its_entry_point(
    workspaces: WorkspaceService, accounts: AccountService, store: Store, owner: Actor, python_ws: UUID
) -> None:
    writer = Actor((await accounts.add_local_user("writer@example.com")).id)
    share(store, python_ws, owner, writer, PermissionLevel.WRITE)
    with pytest.raises(PermissionDenied):
        await workspaces.update(writer, python_ws, entry="tools/other.py")
    assert run_entry(await workspaces.get(owner, python_ws)) is None
