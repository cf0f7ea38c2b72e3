"""A terminal's shell in the real bubblewrap sandbox: bash on a pty over the workspace's files, whose
prompt reports what each command created, changed or deleted, which takes files in before the next
command, answers Ctrl+C, and leaves no process behind when closed."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from domain.sandbox import RunLimits, SandboxRequest, ShellHandle, ShellRunner, WorkChanges
from domain.terminals import SHELL_ARGV
from runners.bubblewrap import BubblewrapRunner

pytestmark = pytest.mark.skipif(not BubblewrapRunner.usable(), reason="bubblewrap is not installed")


class Keyboard:
    def __init__(self) -> None:
        self.typed: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.shown = bytearray()

    async def read(self) -> bytes | None:
        return await self.typed.get()

    async def write(self, data: bytes) -> None:
        self.shown += data

    async def expect(self, text: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.shown:
            assert time.monotonic() < deadline, f"{text!r} never showed; the terminal showed {bytes(self.shown)!r}"
            await asyncio.sleep(0.02)


@dataclass
class Shell:
    handle: ShellHandle
    keyboard: Keyboard
    prompts: asyncio.Queue[WorkChanges] = field(default_factory=asyncio.Queue)
    put_next: dict[str, bytes | None] = field(default_factory=dict)

    async def run(self, command: bytes) -> WorkChanges:
        """Type a command; what the prompt after it reported."""
        self.keyboard.typed.put_nowait(command + b"\n")
        return await asyncio.wait_for(self.prompts.get(), 20)


@pytest.fixture
async def runner() -> AsyncIterator[BubblewrapRunner]:
    sandbox = BubblewrapRunner(warm=0)
    yield sandbox
    await sandbox.close()


async def open_shell(runner: BubblewrapRunner, files: dict[str, bytes]) -> Shell:
    assert isinstance(runner, ShellRunner)
    keyboard = Keyboard()
    shell: Shell | None = None

    async def on_prompt(handle: ShellHandle) -> None:
        changes = await handle.changed_files()
        assert shell is not None
        if shell.put_next:
            await handle.put_files(shell.put_next)
            shell.put_next = {}
        shell.prompts.put_nowait(changes)

    request = SandboxRequest(files=files, argv=SHELL_ARGV, limits=RunLimits(wall_seconds=120))
    shell = Shell(handle=await runner.open_shell(request, keyboard, on_prompt), keyboard=keyboard)
    first = await asyncio.wait_for(shell.prompts.get(), 20)
    assert not first  # the files it started with are no change
    return shell


def processes_of(uid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.add(int(entry))
            except OSError:
                continue
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if os.path.exists(f"/proc/{pid}")}


async def test_a_command_reports_the_files_it_created_changed_and_deleted(runner: BubblewrapRunner) -> None:
    shell = await open_shell(runner, {"main.py": b"print(1)\n", "src/lib.py": b"x = 1\n"})
    changes = await shell.run(b"echo hi > x.txt")
    assert changes == WorkChanges(changed={"x.txt": b"hi\n"})
    changes = await shell.run(b"ls; echo more >> src/lib.py; mkdir -p .build && echo obj > .build/a.o")
    assert changes == WorkChanges(changed={"src/lib.py": b"x = 1\nmore\n"})  # the build folder is left out
    await shell.keyboard.expect(b"main.py")
    changes = await shell.run(b"rm x.txt main.py")
    assert changes == WorkChanges(deleted=["main.py", "x.txt"])
    assert await shell.run(b"true") == WorkChanges()
    await shell.handle.close()


async def test_files_put_in_at_a_prompt_are_there_for_the_next_command_and_no_change(
    runner: BubblewrapRunner,
) -> None:
    shell = await open_shell(runner, {"a.txt": b"old\n"})
    shell.put_next = {"a.txt": b"from the editor\n", "deep/new.txt": b"new\n"}
    assert await shell.run(b"true") == WorkChanges()
    await shell.run(b"cat a.txt deep/new.txt; echo edited >> deep/new.txt; id -u")
    await shell.keyboard.expect(b"from the editor\r\nnew\r\n")
    assert b"\r\n0\r\n" not in shell.keyboard.shown  # not root inside
    changes = await shell.run(b"true")
    # the change the command made was reported at its own prompt; nothing since
    assert changes == WorkChanges()
    shell.put_next = {"a.txt": None}
    await shell.run(b"true")
    await shell.run(b"ls a.txt")
    await shell.keyboard.expect(b"No such file")
    await shell.handle.close()


async def test_links_and_pipes_are_left_out_and_never_followed(runner: BubblewrapRunner) -> None:
    shell = await open_shell(runner, {"a.txt": b"a\n"})
    changes = await shell.run(b"ln -s /etc/passwd pw; ln -s / root; mkfifo pipe; rm a.txt; ln -s /etc/shadow a.txt")
    assert changes.changed == {} and changes.deleted == []  # a file the shell made a link stays saved
    assert set(changes.skipped) == {"pw", "root", "pipe", "a.txt"}
    # the server writing a file over a link the shell planted replaces nothing outside
    shell.put_next = {"pw": b"not the host's\n"}
    await shell.run(b"true")
    with open("/etc/passwd", "rb") as host:
        assert b"not the host's" not in host.read()
    await shell.handle.close()


async def test_ctrl_c_interrupts_a_command_and_close_leaves_no_process(runner: BubblewrapRunner) -> None:
    shell = await open_shell(runner, {})
    shell.keyboard.typed.put_nowait(b"sleep 100\n")
    await asyncio.sleep(0.5)
    assert shell.prompts.empty()  # still running
    started = time.monotonic()
    shell.keyboard.typed.put_nowait(b"\x03")
    await asyncio.wait_for(shell.prompts.get(), 10)
    assert time.monotonic() - started < 5
    await shell.run(b"echo after")
    await shell.keyboard.expect(b"after\r\n")
    await shell.run(b"sleep 300 & echo uid=$(id -u).")
    for _ in range(200):
        if found := re.search(rb"\r\nuid=(\d+)\.", bytes(shell.keyboard.shown)):
            break
        await asyncio.sleep(0.05)
    assert found is not None
    uid = int(found.group(1))
    if os.geteuid() == 0:
        assert uid != 0
        ours = processes_of(uid)
        assert len(ours) >= 3, "the sandbox's init, bash and the background sleep run as the sandbox's uid"
    await shell.handle.close()
    result = await shell.handle.wait()
    assert result.stopped is not None
    if os.geteuid() == 0:
        deadline = time.monotonic() + 5
        while alive(ours) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert alive(ours) == set()


async def test_exit_ends_the_shell(runner: BubblewrapRunner) -> None:
    shell = await open_shell(runner, {})
    shell.keyboard.typed.put_nowait(b"exit 3\n")
    result = await asyncio.wait_for(shell.handle.wait(), 10)
    assert result.exit_code == 3


pytestmark = [pytestmark, pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")]
