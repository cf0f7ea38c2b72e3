"""A terminal's shell in the sandbox: bash on a pty, whose prompt tells the server (over a pipe) that a
command finished, and whose work directory the server reads and writes from the host side.

The work directory is the sandbox's own size-limited tmpfs (/work, as for every run); the server reaches
it through /proc/<sandbox init>/root/work, opened once (at the first prompt, when the sandbox is set up)
and then used only as a directory descriptor: every path below it is walked one component at a time with
O_NOFOLLOW, so nothing the shell puts there (a symlink, a FIFO) leads the server anywhere else."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import logging
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from domain.sandbox import PromptHook, SandboxResult, WorkChanges

log = logging.getLogger(__name__)

SKIPPED_FOLDERS = frozenset({".build", "__pycache__"})
"""Never reported: the build folder (compile outputs) and Python's byte-code caches."""
MAX_ENTRIES = 20_000
"""A work directory with more entries than this is only partly looked at (the rest is reported)."""
ACK_SECONDS = 10
"""How long the prompt waits for the server's sync before it shows anyway."""
OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def shell_environment(*, prompt_fd: int, ack_fd: int) -> dict[str, str]:
    """bash's settings: the prompt, the marker it writes before each prompt (and the sync it waits for),
    and a HOME outside the work directory so history and caches never become workspace files."""
    marker = f"printf '\\n' >&{prompt_fd} 2>/dev/null && IFS= read -r -t {ACK_SECONDS} _ <&{ack_fd}"
    return {
        "PROMPT_COMMAND": marker,
        "PS1": "\\[\\e[1;34m\\]\\w\\[\\e[0m\\]$ ",
        "TERM": "xterm-256color",
        "HOME": "/tmp",  # noqa: S108 - the sandbox's own
        "HISTFILE": "/tmp/.bash_history",  # noqa: S108
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@dataclass(frozen=True, slots=True)
class Seen:
    """A file as the last look found it: its inode's identity and times (to skip rereading) and hash."""

    key: tuple[int, int, int, int, int] | None
    digest: str


def _key(info: os.stat_result) -> tuple[int, int, int, int, int]:
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_dev)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_regular(fd: int, limit: int) -> bytes | None:
    """The content of an open regular file, or None past `limit` bytes."""
    chunks, total = [], 0
    while chunk := os.read(fd, 1 << 20):
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def _file_owner(uid: int | None) -> Iterator[None]:
    """This thread creates files as `uid` meanwhile (its filesystem uid and gid): the sandbox's tmpfs
    belongs to the sandbox's user namespace, where the server's root has no uid to own a new file as.
    The filesystem ids are the calling thread's own, and come back before the thread does anything else."""
    if uid is None:
        yield
        return
    gid_before = _libc.setfsgid(uid)
    uid_before = _libc.setfsuid(uid)
    try:
        yield
    finally:
        _libc.setfsuid(uid_before)
        _libc.setfsgid(gid_before)


class WorkTree:
    """The work directory, reached through a directory descriptor only."""

    def __init__(self, root: int, *, owner: int | None, max_file_bytes: int) -> None:
        self.root = root
        self.owner = owner
        """The sandbox's uid, given the files the server writes (None: they are ours already)."""
        self.max_file_bytes = max_file_bytes
        self.seen: dict[str, Seen] = {}

    def scan(self) -> WorkChanges:
        """Compare the directory with what was seen last; what is reported becomes what was seen."""
        found: dict[str, Seen] = {}
        changed: dict[str, bytes] = {}
        skipped: dict[str, str] = {}
        budget = [MAX_ENTRIES]
        self._walk(self.root, "", found, changed, skipped, budget)
        deleted = sorted(p for p in self.seen if p not in found and p not in skipped)
        self.seen = {**{p: s for p, s in self.seen.items() if p in skipped}, **found}
        return WorkChanges(changed=changed, deleted=deleted, skipped=skipped)

    def _walk(
        self,
        folder: int,
        prefix: str,
        found: dict[str, Seen],
        changed: dict[str, bytes],
        skipped: dict[str, str],
        budget: list[int],
    ) -> None:
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            return
        for name in entries:
            path = f"{prefix}{name}"
            if budget[0] <= 0:
                skipped[path] = f"not looked at: the work directory has more than {MAX_ENTRIES} entries"
                return
            budget[0] -= 1
            try:
                info = os.stat(name, dir_fd=folder, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if name in SKIPPED_FOLDERS:
                    continue
                try:
                    inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | OPEN_FLAGS, dir_fd=folder)
                except OSError:
                    continue
                try:
                    self._walk(inner, f"{path}/", found, changed, skipped, budget)
                finally:
                    os.close(inner)
                continue
            if not stat.S_ISREG(info.st_mode):
                skipped[path] = "not a regular file (a link, a pipe or a socket)"
                continue
            if info.st_size > self.max_file_bytes:
                skipped[path] = f"larger than {self.max_file_bytes // (1024 * 1024)} MB"
                continue
            before = self.seen.get(path)
            if before is not None and before.key == _key(info):
                found[path] = before
                continue
            try:
                fd = os.open(name, os.O_RDONLY | OPEN_FLAGS, dir_fd=folder)
            except OSError:
                continue
            try:
                opened = os.fstat(fd)
                if not stat.S_ISREG(opened.st_mode):
                    continue
                data = _read_regular(fd, self.max_file_bytes)
            except OSError:
                continue
            finally:
                os.close(fd)
            if data is None:
                skipped[path] = f"larger than {self.max_file_bytes // (1024 * 1024)} MB"
                continue
            seen = Seen(key=_key(opened), digest=_digest(data))
            found[path] = seen
            if before is None or before.digest != seen.digest:
                changed[path] = data

    def put(self, files: Mapping[str, bytes | None]) -> None:
        """Write (or with None, delete) files; they count as seen."""
        for path, data in files.items():
            parts = [p for p in path.split("/") if p]
            if not parts or any(p in (".", "..") for p in parts):
                continue
            try:
                with _file_owner(self.owner):
                    self._put(parts, data)
            except OSError as error:
                log.info("could not put %s into a shell's work directory: %s", path, error)

    def _put(self, parts: list[str], data: bytes | None) -> None:
        path = "/".join(parts)
        folder = os.dup(self.root)
        try:
            for name in parts[:-1]:
                if data is not None:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, 0o755, dir_fd=folder)
                inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | OPEN_FLAGS, dir_fd=folder)
                os.close(folder)
                folder = inner
            name = parts[-1]
            if data is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=folder)
                self.seen.pop(path, None)
                return
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | OPEN_FLAGS, 0o644, dir_fd=folder)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    return
                os.ftruncate(fd, 0)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                self.seen[path] = Seen(key=_key(os.fstat(fd)), digest=_digest(data))
            finally:
                os.close(fd)
        finally:
            os.close(folder)

    def close(self) -> None:
        if self.root >= 0:
            os.close(self.root)
            self.root = -1


class SandboxShell:
    """A `ShellHandle`: the sandbox's run (`task`), the prompt pipes and the work directory."""

    def __init__(
        self,
        *,
        files: Mapping[str, bytes],
        on_prompt: PromptHook,
        owner: int | None,
        max_file_bytes: int,
    ) -> None:
        self.prompt_read, self.prompt_write = os.pipe()
        self.ack_read, self.ack_write = os.pipe()
        os.set_blocking(self.prompt_read, False)
        os.set_blocking(self.ack_write, False)
        for fd in (self.prompt_read, self.ack_write):
            os.set_inheritable(fd, False)
        self._on_prompt = on_prompt
        self.owner = owner
        self._max = max_file_bytes
        self._initial = {path: Seen(key=None, digest=_digest(data)) for path, data in files.items()}
        self.tree: WorkTree | None = None
        self.root_of: Callable[[], int | None] = lambda: None
        """The sandbox init's pid, once known (set by the runner)."""
        self.cancel: Callable[[], None] = lambda: None
        self.task: asyncio.Task[SandboxResult] | None = None
        self._prompts: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._cleaning: asyncio.Task[None] | None = None

    @property
    def sandbox_fds(self) -> list[int]:
        """The pipe ends the shell gets (kept open across exec)."""
        return [self.prompt_write, self.ack_read]

    def started(self, task: asyncio.Task[SandboxResult]) -> None:
        self.task = task
        self._prompts = asyncio.get_running_loop().create_task(self._watch_prompts(self.prompt_read))
        task.add_done_callback(self._ended)

    def sandbox_has_fds(self) -> None:
        """The sandbox holds its copies of the pipe ends: ours go."""
        for name in ("prompt_write", "ack_read"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    async def _watch_prompts(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        loop.add_reader(fd, readable.set)
        try:
            while True:
                await readable.wait()
                readable.clear()
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                self.sandbox_has_fds()
                if self.tree is None and not self._open_tree():
                    log.warning("a shell's work directory could not be opened; its files are not synced")
                if self.tree is not None:
                    try:
                        await self._on_prompt(self)
                    except Exception:  # a failed sync must not leave the prompt waiting for ever
                        log.exception("syncing a shell's files failed")
                with contextlib.suppress(OSError):
                    os.write(self.ack_write, b"\n" * data.count(b"\n"))
        finally:
            loop.remove_reader(fd)

    def _open_tree(self) -> bool:
        """At the first prompt the sandbox is set up (bash runs inside it): its /work is reachable."""
        pid = self.root_of()
        if pid is None:
            return False
        try:
            root = os.open(f"/proc/{pid}/root/work", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return False
        self.tree = WorkTree(root, owner=self.owner, max_file_bytes=self._max)
        self.tree.seen = dict(self._initial)
        return True

    # --- ShellHandle ---------------------------------------------------------------------------

    async def changed_files(self) -> WorkChanges:
        async with self._lock:
            tree = self.tree
            if tree is None or tree.root < 0:
                return WorkChanges()
            return await asyncio.to_thread(tree.scan)

    async def put_files(self, files: Mapping[str, bytes | None]) -> None:
        async with self._lock:
            tree = self.tree
            if tree is None or tree.root < 0 or not files:
                return
            await asyncio.to_thread(tree.put, dict(files))

    async def wait(self) -> SandboxResult:
        assert self.task is not None
        return await asyncio.shield(self.task)

    async def close(self) -> None:
        self.cancel()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.task)
        await asyncio.sleep(0)  # the clean-up starts
        if self._cleaning is not None:
            await asyncio.shield(self._cleaning)

    def _ended(self, _: object) -> None:
        self._cleaning = asyncio.get_running_loop().create_task(self._clean_up())

    async def _clean_up(self) -> None:
        """After the sandbox ended: stop watching the prompt, close the pipes and the work directory."""
        if self._prompts is not None:
            self._prompts.cancel()
            await asyncio.gather(self._prompts, return_exceptions=True)
        self.sandbox_has_fds()
        for name in ("prompt_read", "ack_write"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)
        async with self._lock:
            if self.tree is not None:
                self.tree.close()
