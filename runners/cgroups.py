"""Per-run cgroups (v1 memory, pids and cpuacct hierarchies) where this process may create them:
a hard memory limit with OOM detection, a process limit, and CPU time for the whole process tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpuacct")
PARENT = "codeloft"


def available(root: Path = ROOT) -> bool:
    """True when every controller's hierarchy is mounted (v1) and we may make groups in it."""
    for controller in CONTROLLERS:
        base = root / controller
        if not (base / "cgroup.procs").exists() or not os.access(base, os.W_OK):
            return False
    return True


class RunCgroup:
    """One run's groups; `add(pid)` before the program starts, `close()` after it ended."""

    def __init__(self, *, memory_bytes: int, processes: int, root: Path = ROOT) -> None:
        self.name = f"run-{uuid.uuid4().hex[:16]}"
        self.paths = {c: root / c / PARENT / self.name for c in CONTROLLERS}
        for path in self.paths.values():
            path.mkdir(parents=True, exist_ok=False)
        memory = self.paths["memory"]
        (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        with contextlib.suppress(OSError):  # only where swap accounting is on
            (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        (self.paths["pids"] / "pids.max").write_text(str(processes))

    def add(self, pid: int) -> None:
        for path in self.paths.values():
            (path / "cgroup.procs").write_text(str(pid))

    @property
    def cpu_ns(self) -> int:
        return int((self.paths["cpuacct"] / "cpuacct.usage").read_text())

    @property
    def peak_memory_bytes(self) -> int:
        return int((self.paths["memory"] / "memory.max_usage_in_bytes").read_text())

    @property
    def memory_bytes(self) -> int:
        """What the group's processes use now."""
        return int((self.paths["memory"] / "memory.usage_in_bytes").read_text())

    def reset_peak_memory(self) -> None:
        """Peak memory counts from now (a reused sandbox's next run)."""
        (self.paths["memory"] / "memory.max_usage_in_bytes").write_text("0")

    @property
    def oom_kills(self) -> int:
        """Processes the kernel killed for memory in the group so far (or times it hit its limit)."""
        for line in (self.paths["memory"] / "memory.oom_control").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return int((self.paths["memory"] / "memory.failcnt").read_text())

    @property
    def oom_killed(self) -> bool:
        return self.oom_kills > 0

    @property
    def empty(self) -> bool:
        """No process is left in the group."""
        return not self._members()

    def _members(self) -> list[int]:
        """The processes in the group; none once the group is gone (a stop racing the run's own end,
        which already removed it)."""
        try:
            return [int(p) for p in (self.paths["pids"] / "cgroup.procs").read_text().split()]
        except FileNotFoundError:
            return []

    def _killing(self, wait_seconds: float) -> Iterator[float]:
        """SIGKILL whatever is in the group, round after round; yields the pause to take before the next
        round, until the group is empty or `wait_seconds` have passed."""
        deadline = time.monotonic() + wait_seconds
        pause = 0.0002  # usually only the sandbox's init is still finishing: look again soon
        while pids := self._members():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() >= deadline:
                return
            yield pause
            pause = min(pause * 2, 0.005)

    def _removing(self) -> Iterator[float]:
        """Remove the group's folders; yields the pause to take while the kernel still holds one."""
        for path in self.paths.values():
            pause = 0.001
            for _ in range(200):
                try:
                    path.rmdir()
                    break
                except OSError:  # the kernel frees the group a moment after its last process is reaped
                    yield pause
                    pause = min(pause * 2, 0.02)

    def kill_all(self, *, wait_seconds: float = 5.0) -> None:
        """SIGKILL whatever is still in the group (a background process left behind) and wait until
        the group is empty, so that nothing of the run outlives it."""
        for pause in self._killing(wait_seconds):
            time.sleep(pause)

    def close(self) -> None:
        self.kill_all()
        for pause in self._removing():
            time.sleep(pause)

    async def kill_all_soon(self, *, wait_seconds: float = 5.0) -> None:
        """`kill_all` without holding a thread: the pauses are the event loop's."""
        for pause in self._killing(wait_seconds):
            await asyncio.sleep(pause)

    async def close_soon(self) -> None:
        """`close` without holding a thread."""
        await self.kill_all_soon()
        for pause in self._removing():
            await asyncio.sleep(pause)
