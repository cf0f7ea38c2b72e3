"""Sandbox uids, each held by one run on the whole machine: a lock file per uid (`flock`) in a folder
every Codeloft process shares, so two servers, or a server and `codeloft run`, never run two programs
as one uid. A lock goes with its holder: a crashed process frees its uids at once."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import stat
import tempfile

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
        return True

    def close(self) -> None:
        for uid in list(self._held):
            self.give_back(uid)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
