"""The bubblewrap sandbox: every namespace unshared (no network), read-only toolchains, a private
size-limited tmpfs work directory holding only the workspace's files, an unprivileged uid per
concurrent run, rlimits, and cgroups for memory, processes and CPU time where they are writable."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil

from domain.sandbox import Cancellation, OutputSink, RunLimits, SandboxRequest, SandboxResult
from runners import reaper
from runners.archive import memory_file, tar_of
from runners.cgroups import RunCgroup, available
from runners.supervise import Launch, rlimit_prefix, supervise

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
INPUT = "/.codeloft/in.tar"
EXTRA = "/.codeloft/extra.tar"
STDIN = "/.codeloft/stdin"
# Unpack the files (and compile outputs), then run the program with its stdin.
RUN_SCRIPT = (
    f"tar -xf {INPUT} -C /work && {{ [ ! -f {EXTRA} ] || tar -xf {EXTRA} -C /work; }} && "
    f'cd /work && exec "$@" < {STDIN}'
)
# The same for a compile step: compiler output goes to stderr, stdout carries the built folder.
COLLECT_SCRIPT = (
    f'tar -xf {INPUT} -C /work && cd /work && mkdir -p "$COLLECT" && "$@" < {STDIN} 1>&2 && tar -cf - "$COLLECT"'
)
FIRST_UID = 61000


def read_only_mounts() -> list[str]:
    """The host's toolchains, read-only: /usr and the few /etc entries they need, never /etc itself."""
    args = ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = os.readlink(f"/{link}") if os.path.islink(f"/{link}") else None
        if target is not None:
            args += ["--symlink", target, f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            args += ["--ro-bind", f"/{link}", f"/{link}"]
    etc = ["/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime", *sorted(glob.glob("/etc/java-*"))]
    for path in etc:
        args += ["--ro-bind-try", path, path]
    return args


class BubblewrapRunner:
    name = "bubblewrap"

    def __init__(self, *, slots: int = 64, bwrap: str | None = None) -> None:
        self._bwrap = bwrap or shutil.which("bwrap") or "bwrap"
        reaper.become_subreaper()
        self._mounts = read_only_mounts()
        self._as_root = os.geteuid() == 0
        self._cgroups = self._as_root and available()
        self._uids: asyncio.Queue[int] = asyncio.Queue()
        for offset in range(slots):
            self._uids.put_nowait(FIRST_UID + offset)

    @staticmethod
    def usable() -> bool:
        return shutil.which("bwrap") is not None and shutil.which("prlimit") is not None

    def _argv(self, request: SandboxRequest, uid: int, fds: dict[str, int]) -> list[str]:
        limits = request.limits
        work_bytes = max(64, limits.file_size_mb * 4) * 1024 * 1024
        env = {"PATH": SANDBOX_PATH, "HOME": "/work", "LANG": "C.UTF-8", "TMPDIR": "/tmp", **request.env}  # noqa: S108
        if request.collect:
            env["COLLECT"] = request.collect
        argv = rlimit_prefix(limits, nproc=not self._cgroups)
        if self._as_root:
            # Drop to a uid of our own for this slot before bubblewrap starts: a sandbox uid mapped back
            # to root could still read root's files through the bind mounts.
            argv += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            argv += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        argv += [self._bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
        for key, value in env.items():
            argv += ["--setenv", key, value]
        argv += [*self._mounts, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # noqa: S108 - the sandbox's own
        argv += ["--size", str(work_bytes), "--tmpfs", "/work", "--dir", "/.codeloft"]
        argv += ["--file", str(fds["in"]), INPUT, "--file", str(fds["stdin"]), STDIN]
        if "extra" in fds:
            argv += ["--file", str(fds["extra"]), EXTRA]
        argv += ["--remount-ro", "/", "--hostname", "sandbox", "--chdir", "/work", "--"]
        script = COLLECT_SCRIPT if request.collect else RUN_SCRIPT
        return [*argv, "/bin/sh", "-c", script, "sandbox", *request.argv]

    async def execute(
        self, request: SandboxRequest, *, on_output: OutputSink | None = None, cancel: Cancellation | None = None
    ) -> SandboxResult:
        uid = await self._uids.get()
        fds = {"in": memory_file("in", tar_of(request.files)), "stdin": memory_file("stdin", request.stdin)}
        if request.extra_archive is not None:
            fds["extra"] = memory_file("extra", request.extra_archive)
        cgroup = None
        try:
            if self._cgroups:
                cgroup = RunCgroup(
                    memory_bytes=request.limits.memory_mb * 1024 * 1024, processes=request.limits.processes
                )
            launch = Launch(
                argv=self._argv(request, uid, fds),
                limits=request.limits,
                env={"PATH": "/usr/bin:/bin"},
                pass_fds=list(fds.values()),
                cgroup=cgroup,
                collect=request.collect is not None,
            )
            return await supervise(launch, on_output=on_output, cancel=cancel)
        finally:
            for fd in fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            if cgroup is not None:
                await asyncio.to_thread(cgroup.close)
            self._uids.put_nowait(uid)

    async def version(self, argv: list[str]) -> str:
        result = await self.execute(
            SandboxRequest(files={}, argv=argv, limits=RunLimits(cpu_seconds=10, wall_seconds=20, memory_mb=512))
        )
        text = (result.stdout + result.stderr).decode("utf-8", errors="replace").strip()
        return text.splitlines()[0] if text else "unknown"
