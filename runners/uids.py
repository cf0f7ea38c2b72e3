"""Sandbox uids, each held by one run on the whole machine: a lock file per uid (`flock`) in a folder
every Codeloft process shares, so two servers, or a server and `codeloft run`, never run two programs
as one uid. A lock goes with its holder: a crashed process frees its uids at once."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import fcntl
import functools
import os
import platform
import stat
import tempfile
import threading
from collections.abc import Iterator

FIRST_UID = 61000
UID_COUNT = 184
"""61000-61183: below systemd's dynamic users (61184-65519) and far from login accounts."""
WAIT_SECONDS = 0.05


def lock_folder() -> str:
    """/run/codeloft/uids where /run is ours (root), else one under the system temp folder; the
    folder is private to this user and never a link somebody else planted."""
    for base in ("/run/codeloft", os.path.join(tempfile.gettempdir(), f"codeloft-{os.geteuid()}")):
        folder = os.path.join(base, "uids")
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            info = os.lstat(folder)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022:
            return folder
    raise OSError("no private folder for the sandbox uid locks (/run/codeloft or the temp folder)")


class Uids:
    """Up to `slots` uids at once for this process, each locked machine-wide while a run has it;
    `locking=False` (not root: the sandbox runs as this user anyway) hands out numbers only."""

    def __init__(self, *, slots: int, first: int = FIRST_UID, count: int = UID_COUNT, locking: bool = True) -> None:
        self.first, self.count = first, count
        self._free_slots = slots
        self._held: dict[int, int] = {}  # uid -> its lock file's descriptor
        self._next = 0
        self._folder = lock_folder() if locking else None
        self._waiters: list[asyncio.Future[None]] = []

    def available(self) -> bool:
        return self._free_slots > 0

    def take_nowait(self) -> int | None:
        """A free uid locked for this run, or None (every slot in use here, or every uid elsewhere)."""
        if self._free_slots <= 0:
            return None
        for step in range(self.count):
            uid = self.first + (self._next + step) % self.count
            if uid in self._held or not self._lock(uid):
                continue
            self._next = (self._next + step + 1) % self.count
            self._free_slots -= 1
            return uid
        return None

    async def take(self) -> int:
        """Wait for a slot of this process and a uid no process holds."""
        while (uid := self.take_nowait()) is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                # one of ours comes back with a word; another process's frees silently: look again soon
                await asyncio.wait([waiter], timeout=WAIT_SECONDS)
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
        return uid

    def give_back(self, uid: int) -> None:
        fd = self._held.pop(uid, None)
        if fd is not None and fd >= 0:
            os.close(fd)  # the lock goes with it
        self._free_slots += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    def _lock(self, uid: int) -> bool:
        if self._folder is None:
            self._held[uid] = -1
            return True
        path = os.path.join(self._folder, str(uid))
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError:
            os.close(fd)
            raise
        self._held[uid] = fd
        _end_leftovers(uid)
        return True

    def close(self) -> None:
        for uid in list(self._held):
            self.give_back(uid)


def _end_leftovers(uid: int) -> None:
    """SIGKILL whatever still runs as `uid`, whose lock nobody held: left by a process that died at the
    wrong moment (a worker killed while its sandbox's gate waited, stopped, for its cgroup and limits).
    A run never shares its uid with them."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    os.kill(int(entry), 9)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


# --- starting a sandbox as its uid without a setpriv process -------------------------------------------
#
# A thread of our own may take a run's uid for the moment it starts the sandbox (vfork: the child is made
# with the thread's credentials), then root again: the raw system calls change the calling thread only
# (the C library's setresuid would change every thread of the server). The thread never executes
# anything itself; before its first start it sets no_new_privs and empties its capability bounding and
# inheritable sets, which its children inherit: what `setpriv --reuid --regid --clear-groups
# --inh-caps=-all --bounding-set=-all --no-new-privs` did, one process fewer per run.

_SYSCALLS = {"x86_64": (116, 117, 119), "aarch64": (159, 147, 149)}
"""setgroups, setresuid, setresgid."""
PR_CAPBSET_DROP = 24
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
_CAP_VERSION_3 = 0x20080522
_thread = threading.local()


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def thread_switch_available() -> bool:
    """Whether a thread here can start sandboxes as their uids (root, on a known architecture)."""
    return os.geteuid() == 0 and platform.machine() in _SYSCALLS


def _harden() -> None:
    """This thread and whatever it starts: no new privileges at exec, no capability in the bounding or
    inheritable set (the thread keeps its own effective ones: it needs them to go back to root)."""
    libc = _libc()
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for cap in range(last + 1):
        _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "dropping the capability bounding set")
    header, data = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    _check(libc.capget(ctypes.byref(header), data), "capget")
    if data[0].inheritable or data[1].inheritable:
        data[0].inheritable = data[1].inheritable = 0
        _check(libc.capset(ctypes.byref(header), data), "capset")
    _thread.hardened = True


@functools.cache
def spawner() -> concurrent.futures.ThreadPoolExecutor:
    """The threads that start sandboxes as their uids (hardened before their first start)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-spawn", initializer=_harden)


@contextlib.contextmanager
def thread_as(uid: int) -> Iterator[None]:
    """The calling spawner thread, and only it, as `uid` (real and effective uid and gid, no supplementary
    groups; the saved uid and gid stay root, so it can come back); root again on the way out."""
    if not getattr(_thread, "hardened", False):
        raise RuntimeError("a sandbox is started as its uid on a spawner thread only")
    setgroups, setresuid, setresgid = _SYSCALLS[platform.machine()]
    libc = _libc()
    dumpable = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
    _check(libc.syscall(setgroups, 0, None), "setgroups")
    _check(libc.syscall(setresgid, uid, uid, 0), "setresgid")
    try:
        _check(libc.syscall(setresuid, uid, uid, 0), "setresuid")
        try:
            yield
        finally:
            _check(libc.syscall(setresuid, 0, 0, 0), "setresuid back to root")
    finally:
        _check(libc.syscall(setresgid, 0, 0, 0), "setresgid back to root")
        if dumpable > 0:  # a change of uid makes the process undumpable; it was not before
            libc.prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0)
