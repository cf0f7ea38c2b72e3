"""Extensions' commands and languages in the real bubblewrap sandbox, on the SQL adapters: a command
rewrites the workspace's files and they are saved; a .sh file runs with bash; and a command is only a
sandboxed run: no network, none of the server's files, no other workspace, stopped at its limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import Conflict
from domain.extension_commands import CommandOutcome, ExtensionCommandService
from domain.extension_contributions import (
    CommandContribution,
    Contributions,
    EnabledExtension,
    LanguageContribution,
    contributions_of,
)
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.runs import Executor, RunService
from domain.sandbox import RunLimits
from domain.values import Reason, RunStatus
from domain.workspaces import WorkspaceService
from persistence.cache import MemoryCache
from persistence.database import create_engine, parse_database_url
from persistence.migrate import upgrade
from persistence.template_source import FolderTemplateSource
from persistence.unit_of_work import SqlUnitOfWorkFactory
from runners.artifacts import DiskArtifactStore
from runners.bubblewrap import BubblewrapRunner
from runners.queue import InProcessQueue
from tests.conftest import FrozenClock

pytestmark = pytest.mark.skipif(not BubblewrapRunner.usable(), reason="bubblewrap is not installed")

REPOSITORY = Path(__file__).resolve().parents[2]
FORMAT_JSON = (
    "import json, pathlib\n"
    "for path in sorted(pathlib.Path('.').rglob('*.json')):\n"
    "    path.write_text(json.dumps(json.loads(path.read_text()), indent=2, sort_keys=True) + '\\n')\n"
    "    print('formatted', path)\n"
)
LIMITS = RunLimits(cpu_seconds=2, wall_seconds=4, memory_mb=256)


def command(id: str, *run: str, permission: str = "workspace:write") -> CommandContribution:
    return CommandContribution(
        extension="tools", id=id, title=id.replace("-", " ").capitalize(), run=run, permission=permission,
        may_write=True, extension_label="Tools",
    )  # fmt: skip


SHELL = LanguageContribution(
    extension="shell", id="shell", label="Shell", extensions=(".sh",), mode="shell", run=("bash", "{file}")
)


@dataclass
class Stack:
    runs: RunService
    commands: ExtensionCommandService
    files: FileService
    workspaces: WorkspaceService
    owner: Actor
    contributions: Contributions
    data_dir: Path

    async def workspace(self, name: str, files: dict[str, bytes]) -> UUID:
        ws = (await self.workspaces.create(self.owner, name=name, language="python")).id
        for path, data in files.items():
            await self.files.write(self.owner, ws, path, data)
        return ws

    async def run(self, ws: UUID, *argv: str, permission: str = "workspace:read") -> CommandOutcome:
        self.contributions = Contributions(commands=(command("probe", *argv, permission=permission),))
        return await self.commands.run(self.owner, ws, "tools.probe")


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    url = parse_database_url(f"sqlite:///{tmp_path / 'codeloft.db'}")
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    uow = SqlUnitOfWorkFactory(engine)
    clock = FrozenClock()
    cache = MemoryCache()
    gate = WorkspaceGate(cache=cache, clock=clock)
    files = FileService(uow=uow, cache=cache, clock=clock, gate=gate)
    runner = BubblewrapRunner(warm=0)
    executor = Executor(
        runner=runner, cache=cache, artifacts=DiskArtifactStore(tmp_path / "artifacts"), queue=InProcessQueue(2)
    )
    holder: list[Stack] = []

    async def contributions(actor: Actor) -> Contributions:
        return holder[0].contributions

    runs = RunService(uow=uow, clock=clock, gate=gate, executor=executor, defaults=LIMITS, contributions=contributions)
    owner = Actor((await AccountService(uow=uow, cache=cache, clock=clock).add_local_user("o@example.com")).id)
    stack = Stack(
        runs=runs,
        commands=ExtensionCommandService(runs=runs, files=files),
        files=files,
        workspaces=WorkspaceService(uow=uow, clock=clock, gate=gate, templates=FolderTemplateSource(), files=files),
        owner=owner,
        contributions=Contributions(
            languages=(SHELL,), commands=(command("format-json", "python3", "-c", FORMAT_JSON),)
        ),
        data_dir=tmp_path,
    )
    holder.append(stack)
    yield stack
    await runner.close()
    await engine.dispose()


async def test_the_format_command_rewrites_the_json_files_and_they_are_saved(stack: Stack) -> None:
    ws = await stack.workspace("data", {"a.json": b'{"b": 1, "a": [1, 2]}', "sub/c.json": b'{"z":0}', "x.txt": b"x"})
    outcome = await stack.commands.run(stack.owner, ws, "tools.format-json")
    assert outcome.written == ["a.json", "sub/c.json"], outcome.message
    assert (await stack.files.read(stack.owner, ws, "a.json"))[1] == b'{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert json.loads((await stack.files.read(stack.owner, ws, "sub/c.json"))[1]) == {"z": 0}
    assert "formatted a.json" in outcome.run.stdout and outcome.run.status is RunStatus.SUCCESS
    (recorded,) = await stack.runs.history(stack.owner, ws)
    assert recorded.language == "command" and recorded.path == "tools.format-json"


async def test_a_sh_file_runs_with_bash_and_prints_its_output(stack: Stack) -> None:
    ws = await stack.workspace("sh", {"scripts/hello.sh": b'echo "hello from $0 in bash ${BASH_VERSINFO[0]}"\n'})
    run = await stack.runs.run(stack.owner, ws, path="scripts/hello.sh")
    assert run.status is RunStatus.SUCCESS, run.stderr
    assert run.stdout.startswith("hello from ./scripts/hello.sh in bash ")
    (recorded,) = await stack.runs.history(stack.owner, ws)
    assert recorded.language == "shell" and recorded.stdout == run.stdout


async def test_a_language_whose_program_the_sandbox_lacks_is_refused(stack: Stack) -> None:
    ws = await stack.workspace("sh", {"a.sh": b"echo hi\n"})
    missing = LanguageContribution(
        extension="x", id="x", label="X", extensions=(".sh",), mode="shell", run=("no-such-shell-here", "{file}")
    )
    stack.contributions = Contributions(languages=(missing,))
    with pytest.raises(Conflict, match="'no-such-shell-here', which is not available in the sandbox"):
        await stack.runs.run(stack.owner, ws, path="a.sh")


async def test_a_command_cannot_reach_the_network(stack: Stack) -> None:
    ws = await stack.workspace("net", {"a.txt": b"a"})
    probe = (
        "import socket\n"
        "for host, port in [('127.0.0.1', 5432), ('127.0.0.1', 6379), ('8.8.8.8', 53), ('1.1.1.1', 443)]:\n"
        "    try:\n        socket.create_connection((host, port), timeout=1); print('OPEN', host, port)\n"
        "    except OSError:\n        print('closed', host, port)\n"
    )
    outcome = await stack.run(ws, "python3", "-c", probe)
    assert outcome.run.stdout.count("closed") == 4 and "OPEN" not in outcome.run.stdout, outcome.run.stdout


async def test_a_command_cannot_read_the_servers_files(stack: Stack) -> None:
    ws = await stack.workspace("files", {"a.txt": b"a"})
    probe = (
        "import os\n"
        f"for path in ['/etc/shadow', {str(stack.data_dir / 'codeloft.db')!r}, {str(REPOSITORY / 'pyproject.toml')!r},"
        " '/root', '/proc/1/environ']:\n"
        "    try:\n        print(path, 'READ', len(open(path, 'rb').read()))\n"
        "    except Exception as e:\n        print(path, 'refused', type(e).__name__)\n"
        f"print('data', os.path.exists({str(stack.data_dir)!r}), 'repo', os.path.exists({str(REPOSITORY)!r}))\n"
        "print('uid', os.getuid())\n"
    )
    outcome = await stack.run(ws, "python3", "-c", probe)
    out = outcome.run.stdout
    assert "READ" not in out.replace("/proc/1/environ READ", ""), out
    assert "/etc/shadow refused" in out and "codeloft.db refused" in out and "pyproject.toml refused" in out, out
    assert "data False repo False" in out and "uid 0" not in out, out


async def test_a_command_sees_its_own_workspace_only(stack: Stack) -> None:
    await stack.workspace("other", {"secret.txt": b"TOP-SECRET-OF-ANOTHER-WORKSPACE"})
    ws = await stack.workspace("mine", {"mine.txt": b"mine"})
    probe = (
        "find / \\( -path /proc -o -path /sys -o -path /usr -o -path /dev \\) -prune -o -type f -print 2>/dev/null;"
        " grep -rl TOP-SECRET / --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr --exclude-dir=dev 2>/dev/null;"
        " true"
    )
    outcome = await stack.run(ws, "sh", "-c", probe)
    out = outcome.run.stdout
    assert "/work/mine.txt" in out, out
    assert "secret.txt" not in out and "TOP-SECRET" not in out, out


async def test_a_runaway_command_is_stopped_by_the_limits_and_writes_nothing(stack: Stack) -> None:
    ws = await stack.workspace("loop", {"a.json": b'{"b":1}'})
    outcome = await stack.run(ws, "sh", "-c", "echo '{}' > a.json; while :; do :; done", permission="workspace:write")
    # the CPU limit, or on a busy machine the wall-clock one first
    assert outcome.run.status is RunStatus.TIMEOUT and outcome.run.reason in (Reason.TIME_LIMIT, Reason.WALL_TIME_LIMIT)
    assert outcome.run.wall_ms is not None and outcome.run.wall_ms < (LIMITS.wall_seconds + 2) * 1000
    assert outcome.message in (
        "Probe used up its CPU time: nothing was saved.",
        "Probe ran out of wall-clock time: nothing was saved.",
    )
    assert (await stack.files.read(stack.owner, ws, "a.json"))[1] == b'{"b":1}'


def shipped(name: str, granted: frozenset[str] = frozenset({"workspace:write"})) -> Contributions:
    manifest = json.loads((REPOSITORY / "extensions" / name / "manifest.json").read_text())
    return contributions_of([EnabledExtension(name=manifest["name"], manifest=manifest, granted=granted)])


async def test_the_shipped_format_json_command_formats_and_names_what_is_not_json(stack: Stack) -> None:
    ws = await stack.workspace(
        "shipped", {"a.json": b'{"b":1,"a":"\xc3\xa9"}', "bad.json": b"{nope", "ok.json": b'{\n  "x": 1\n}\n'}
    )
    stack.contributions = shipped("format-json")
    (command,) = stack.contributions.commands
    assert command.palette_label == "Format JSON: Format JSON files"
    outcome = await stack.commands.run(stack.owner, ws, command.key)
    assert outcome.written == ["a.json"] and outcome.ok, outcome.message
    assert (await stack.files.read(stack.owner, ws, "a.json"))[1] == '{\n  "a": "é",\n  "b": 1\n}\n'.encode()
    assert (await stack.files.read(stack.owner, ws, "bad.json"))[1] == b"{nope"
    assert "bad.json: not valid JSON, left as it is" in outcome.run.stdout
    assert "1 file(s) formatted." in outcome.run.stdout


async def test_the_shipped_shell_language_runs_a_bash_file(stack: Stack) -> None:
    ws = await stack.workspace("shipped-sh", {"greet.bash": b'greet() { echo "Hello, $1"; }\ngreet "${0##*/}"\n'})
    stack.contributions = shipped("shell-language", frozenset())
    run = await stack.runs.run(stack.owner, ws, path="greet.bash")
    assert run.stdout == "Hello, greet.bash\n" and run.language == "shell", run.stderr


async def test_a_commands_home_and_bytecode_stay_out_of_the_workspace(stack: Stack) -> None:
    ws = await stack.workspace("junk", {"helper.py": b"VALUE = 41\n", "out.txt": b"old"})
    script = (
        "import os, pathlib, helper\n"
        "pathlib.Path(os.path.expanduser('~/.cache/tool')).mkdir(parents=True, exist_ok=True)\n"
        "pathlib.Path(os.path.expanduser('~/.cache/tool/state')).write_text('x')\n"
        "pathlib.Path('.build').mkdir(exist_ok=True); pathlib.Path('.build/a.o').write_text('obj')\n"
        "pathlib.Path('out.txt').write_text(str(helper.VALUE + 1))\n"
    )
    outcome = await stack.run(ws, "python3", "-c", script, permission="workspace:write")
    assert outcome.written == ["out.txt"] and outcome.changed == ["out.txt"], outcome.message
    assert sorted(await stack.files.existing(stack.owner, ws, ["helper.py", "out.txt", ".build/a.o"])) == [
        "helper.py",
        "out.txt",
    ]
    assert (await stack.files.read(stack.owner, ws, "out.txt"))[1] == b"42"
