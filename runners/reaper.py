"""Orphans of a sandbox come back to us and are reaped here.

bubblewrap's outer process exits as soon as the program does; the sandbox's own init finishes a moment
later, orphaned. Where the machine's init does not reap orphans (as in some container and microVM
inits) they would stay zombies forever, so the server makes itself their subreaper and reaps them."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import time

PR_SET_CHILD_SUBREAPER = 36
_tracked: set[int] = set()
_enabled = False


def become_subreaper() -> bool:
    global _enabled
    if not _enabled:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _enabled = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except OSError:
            _enabled = False
    return _enabled


def track(pid: int) -> None:
    """A child someone waits for itself: never reap it here."""
    _tracked.add(pid)


def untrack(pid: int) -> None:
    _tracked.discard(pid)


def _children() -> list[tuple[int, str]]:
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == me:
            found.append((int(entry), fields[0]))
    return found


def _sandbox_init(pid: int) -> bool:
    """True for a process that is pid 1 of a pid namespace of its own: a sandbox's init, never one
    of this process's own children (an asyncio subprocess must keep its exit status for its owner)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return len(line.split()) > 2
    except OSError:
        return False
    return False


async def wait_for(pid: int) -> tuple[int, int, resource.struct_rusage]:
    """Wait for our child `pid` to exit and reap it, as `os.wait4(pid, 0)` would, without holding a
    thread: the event loop watches the child's pidfd (readable once it has exited), so a sandbox that
    lives for half an hour costs a descriptor, never a worker thread. Where pidfds are missing it looks
    every few milliseconds instead. ChildProcessError when `pid` is not (or no longer) our child."""
    loop = asyncio.get_running_loop()
    done = _look(pid)
    if done[0]:
        return done
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd here (Linux < 5.3): look now and then instead
        return await _poll(pid)
    exited: asyncio.Future[tuple[int, int, resource.struct_rusage]] = loop.create_future()

    def readable() -> None:
        if exited.done():
            return
        try:
            found = _look(pid)
        except ChildProcessError as error:
            exited.set_exception(error)
            return
        if found[0]:
            exited.set_result(found)

    loop.add_reader(fd, readable)
    try:
        readable()  # it may have exited between the first look and the pidfd
        return await exited
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _look(pid: int) -> tuple[int, int, resource.struct_rusage]:
    """`os.wait4` that never waits: (0, 0, ...) while `pid` runs."""
    return os.wait4(pid, os.WNOHANG)


async def _poll(pid: int) -> tuple[int, int, resource.struct_rusage]:
    pause = 0.0002
    while not (found := _look(pid))[0]:
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.02)
    return found


async def reap_soon(pid: int, seconds: float = 2.0) -> None:
    """`reap` without holding a thread: reap one orphan that came back to us (a sandbox's init) once it
    exits; past `seconds`, kill it. Nothing happens when it is not our child."""
    try:
        await asyncio.wait_for(wait_for(pid), seconds)
    except ChildProcessError:
        return
    except TimeoutError:
        # still our unreaped child, so the pid cannot belong to anybody else yet
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        with contextlib.suppress(ChildProcessError):
            await wait_for(pid)


async def settle_soon(seconds: float = 2.0) -> None:
    """`settle` without holding a thread."""
    if not _enabled:
        return
    deadline = time.monotonic() + seconds
    while True:
        if not _reap_orphans() or time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.005)


def _reap_orphans() -> bool:
    """Reap the sandbox inits that came back to us and have exited; True while any is left."""
    orphans = [(pid, state) for pid, state in _children() if pid not in _tracked and _sandbox_init(pid)]
    for pid, state in orphans:
        if state == "Z":
            with contextlib.suppress(ChildProcessError):
                _look(pid)
    return bool(orphans)


def settle(seconds: float = 2.0) -> None:
    """Reap orphaned children until none is left running or dead, or the time is up."""
    if not _enabled:
        return
    deadline = time.monotonic() + seconds
    while True:
        orphans = [(pid, state) for pid, state in _children() if pid not in _tracked and _sandbox_init(pid)]
        for pid, state in orphans:
            if state == "Z":
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
        if not orphans or time.monotonic() >= deadline:
            return
        time.sleep(0.005)


def reaped(pid: int) -> bool:
    """Reap this orphan if it has exited already (without waiting); True when nothing is left to do."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done != 0


def reap(pid: int, seconds: float = 2.0) -> None:
    """Reap one orphan that came back to us (a sandbox's init) once it exits; past `seconds`, kill it.
    Nothing happens when it is not our child (somebody reaped it already)."""
    deadline = time.monotonic() + seconds
    pause = 0.0002
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() >= deadline:
            # still our unreaped child, so the pid cannot belong to anybody else yet
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.01)
