"""Per-run cgroups, on a folder laid out as the kernel's v1 hierarchies are."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from runners.cgroups import RunCgroup


def test_stopping_a_run_whose_group_is_gone_already_is_no_error(tmp_path: Path) -> None:
    """A Stop (or a preview's stop) racing the run's own end: the end removed the group first."""
    group = RunCgroup(memory_bytes=1 << 20, processes=8, root=tmp_path)
    (group.paths["pids"] / "cgroup.procs").write_text("")
    assert group.empty
    shutil.rmtree(group.paths["pids"])
    assert group.empty
    group.kill_all(wait_seconds=0.1)
    asyncio.run(group.kill_all_soon(wait_seconds=0.1))
