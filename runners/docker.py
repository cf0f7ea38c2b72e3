"""The docker sandbox: one throwaway container per run through a Docker Engine API (the `docker` SDK),
verified against podman's Docker-compatible service. No network, every capability dropped, no new
privileges, a read-only root with size-limited tmpfs /work and /tmp, an unprivileged uid, memory,
process and CPU limits from the container's cgroup, rlimits for CPU seconds, file size and open files.

A run: create the container (its main process only holds it open), put the files, the compile outputs
and stdin into it with `put_archive` before it starts (podman copies the image's /work into the tmpfs
at start), start it, run the program with `exec` while streaming its output, then, while the container
still lives: its cgroup's peak memory, OOM kills and CPU time (a second `exec` reading the kernel's
own files, which the program cannot forge), and for a compile step the built folder with
`get_archive` (a tar handed back unopened: links inside stay links). The container is removed at the
end whatever happened. Every blocking SDK call runs in a thread, never on the event loop.

Images need /bin/sh, `sleep` and the toolchains; scripts/podman builds codeloft-sandbox:latest. Two things
rely on podman: files put into /work before the start reach the tmpfs because podman copies the image's
folder into it, and the `U` tmpfs option gives /work to the sandbox's uid. Docker Engine refuses
`put_archive` into a read-only root and copies nothing into a tmpfs, so there the files would need a volume."""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import posixpath
import tarfile
import threading
import time
from typing import Any

import docker
from docker.errors import APIError, DockerException, NotFound
from docker.types import Ulimit
from requests.exceptions import RequestException

from domain.errors import Unavailable
from domain.sandbox import Cancellation, OutputSink, RunLimits, SandboxRequest, SandboxResult, Stop
from domain.toolchains import TOOLCHAINS
from runners.archive import archive_members
from runners.output import Output

DEFAULT_IMAGE = "codeloft-sandbox:latest"
LABEL = "codeloft.sandbox"
USER = "65534:65534"
API_VERSION = "1.41"
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
STDIN = "/.codeloft/stdin"
RUN_SCRIPT = f'exec "$@" < {STDIN}'
COLLECT_SCRIPT = f'mkdir -p "$COLLECT" && exec "$@" < {STDIN}'
# Read inside the container after the program ended: peak memory (bytes), OOM kills, CPU time (ns) of
# the container's cgroup, for cgroup v1 and v2.
MEASURE_SCRIPT = (
    "c=/sys/fs/cgroup; if [ -f $c/memory/memory.max_usage_in_bytes ]; then "
    "echo $(cat $c/memory/memory.max_usage_in_bytes) $(sed -n 's/^oom_kill //p' $c/memory/memory.oom_control) "
    "$(cat $c/cpuacct/cpuacct.usage); else "
    "echo $(cat $c/memory.peak) $(sed -n 's/^oom_kill //p' $c/memory.events) "
    "$(( $(sed -n 's/^usage_usec //p' $c/cpu.stat) * 1000 )); fi"
)
NOFILE = 1024
NPROC = 32768
"""RLIMIT_NPROC counts every process of the uid on the host, so it cannot be the per-run limit (the
cgroup's pids limit is); 32768 is also the most a container may ask for on these machines."""
EXTRA_PIDS = 4
"""The holding process and the measuring `exec` count against the pids limit too."""
HOLD_GRACE_SECONDS = 120
"""The holding process ends on its own this long after the wall limit, should this server die."""
COLLECT_LIMIT = 256 * 1024 * 1024
CONTROL_TIMEOUT = 60
POLL_SECONDS = 0.25
STREAM_END_SECONDS = 5
PUT_ATTEMPTS = 3

_LANGUAGE_OF_COMMAND = {
    posixpath.basename(step[0]): toolchain.language.value
    for toolchain in TOOLCHAINS
    for step in (toolchain.run, toolchain.compile, toolchain.version)
    if step
}


class DockerRunner:
    name = "docker"

    def __init__(
        self,
        url: str,
        *,
        images: dict[str, str] | None = None,
        default_image: str = DEFAULT_IMAGE,
        slots: int = 64,
    ) -> None:
        self.url = url
        self._images = dict(images or {})
        self._default_image = default_image
        # Short calls time out; the output stream waits as long as the program may run (its wall limit
        # ends it), so it has a client of its own without a timeout.
        self._api = docker.APIClient(base_url=url, version=API_VERSION, timeout=CONTROL_TIMEOUT, max_pool_size=slots)
        self._stream_api = docker.APIClient(base_url=url, version=API_VERSION, timeout=None, max_pool_size=slots)

    @classmethod
    def connect(cls, url: str | None, *, images: dict[str, str] | None = None) -> DockerRunner:
        """A runner whose API answers and has its images, or `Unavailable` saying what to fix."""
        if not url:
            raise Unavailable(
                "CODELOFT_RUNNER=docker needs CODELOFT_DOCKER_URL, the Docker Engine API to use "
                "(for example unix:///run/codeloft-podman.sock, which scripts/podman starts)."
            )
        try:
            runner = cls(url, images=images)
            runner._api.ping()
        except (DockerException, RequestException, OSError):
            raise Unavailable(
                f"CODELOFT_RUNNER=docker, but no Docker Engine API answers at CODELOFT_DOCKER_URL={url}: "
                "start it (scripts/podman does) or fix the URL."
            ) from None
        for image in sorted({*runner._images.values(), runner._default_image}):
            try:
                runner._api.inspect_image(image)
            except (DockerException, RequestException, OSError):
                raise Unavailable(
                    f"CODELOFT_RUNNER=docker, but the Docker API at CODELOFT_DOCKER_URL={url} has no image "
                    f"{image}: build it (scripts/podman builds {DEFAULT_IMAGE}) or change CODELOFT_DOCKER_IMAGES."
                ) from None
        return runner

    def image_for(self, argv: list[str]) -> str:
        """The image of the language whose program `argv` starts (CODELOFT_DOCKER_IMAGES, by language);
        a program of no built-in language (an extension's `bash`) is looked up by its own name."""
        program = posixpath.basename(argv[0]) if argv else ""
        language = _LANGUAGE_OF_COMMAND.get(program, program)
        return self._images.get(language, self._default_image)

    async def execute(
        self, request: SandboxRequest, *, on_output: OutputSink | None = None, cancel: Cancellation | None = None
    ) -> SandboxResult:
        started = time.monotonic()
        run = _Run(self, request, on_output, cancel)
        try:
            return await run.execute()
        except Exception as error:  # any failure of the API or the engine becomes the run's internal error
            return SandboxResult.failure(
                f"the Docker API failed: {_one_line(error)}", wall_ms=int((time.monotonic() - started) * 1000)
            )
        finally:
            if run.container is not None:
                # The run's answer stands even if the engine cannot remove the container now.
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._remove, run.container)

    def _remove(self, container: str) -> None:
        with contextlib.suppress(NotFound):
            try:
                self._api.remove_container(container, force=True)
            except (DockerException, RequestException, OSError):
                time.sleep(0.2)  # podman may still be reaping it: once more
                self._api.remove_container(container, force=True)

    async def close(self) -> None:
        self._api.close()
        self._stream_api.close()

    async def version(self, argv: list[str]) -> str:
        result = await self.execute(
            SandboxRequest(files={}, argv=argv, limits=RunLimits(cpu_seconds=10, wall_seconds=20, memory_mb=512))
        )
        text = (result.stdout + result.stderr).decode("utf-8", errors="replace").strip()
        return text.splitlines()[0] if text else "unknown"


class _Run:
    """One request's container, from creation to its figures."""

    def __init__(
        self, runner: DockerRunner, request: SandboxRequest, on_output: OutputSink | None, cancel: Cancellation | None
    ) -> None:
        self.runner = runner
        self.api = runner._api
        self.request = request
        self.limits = request.limits
        self.on_output = on_output
        self.cancel = cancel
        self.container: str | None = None
        self.stopped: Stop | None = None
        self._cpu_ns: int | None = None
        """CPU time when this side stopped the run (taken just before the kill)."""

    async def execute(self) -> SandboxResult:
        request = self.request
        if request.collect is not None and not _safe_folder(request.collect):
            return SandboxResult.failure(f"refusing to collect {request.collect!r}: not a folder inside /work")
        inputs = _inputs(request)
        self.container = await asyncio.to_thread(self._create, inputs)
        await asyncio.to_thread(self.api.start, self.container)
        script = COLLECT_SCRIPT if request.collect else RUN_SCRIPT
        env = {"PATH": SANDBOX_PATH, "HOME": "/work", "LANG": "C.UTF-8", "TMPDIR": "/tmp", **request.env}  # noqa: S108
        if request.collect:
            env["COLLECT"] = request.collect
        command = ["/bin/sh", "-c", script, "sandbox", *request.argv]
        created = await asyncio.to_thread(
            self.api.exec_create, self.container, command, user=USER, workdir="/work", environment=env
        )
        exec_id = created["Id"]
        started = time.monotonic()
        self.output = Output(
            caps={"stdout": self.limits.output_bytes, "stderr": self.limits.output_bytes},
            sink=self.on_output,
            on_overflow=self._overflowed,
        )
        try:
            await self._stream(exec_id, started)
        finally:
            await self.output.close()
        wall_ms = int((time.monotonic() - started) * 1000)
        exit_code: int | None = None
        signal: int | None = None
        figures = None
        if self.stopped is None:
            info = await asyncio.to_thread(self.api.exec_inspect, exec_id)
            if info.get("Running"):
                raise DockerException("the program's output stream broke off while it still ran")
            exit_code, signal = _exit_of(info.get("ExitCode"))
            figures = await asyncio.to_thread(self._measure)
        peak, oom_kills, cpu_ns = figures or (None, None, None)
        if cpu_ns is None:
            cpu_ns = self._cpu_ns if self.stopped is not None else await asyncio.to_thread(self._cpu_now)
        if signal == 9 and self.stopped is None and _memory_kill(peak, oom_kills, self.limits.memory_mb):
            self.stopped = Stop.MEMORY
        collected = None
        if request.collect and exit_code == 0 and self.stopped is None:
            collected = await asyncio.to_thread(self._collect, request.collect)
            if collected is None:
                self.stopped = Stop.OUTPUT
        return SandboxResult(
            exit_code=exit_code,
            signal=signal,
            stdout=bytes(self.output.data["stdout"]),
            stderr=bytes(self.output.data["stderr"]),
            truncated=self.output.truncated,
            cpu_ms=(cpu_ns or 0) // 1_000_000,
            wall_ms=wall_ms,
            memory_kb=peak // 1024 if peak is not None else None,
            stopped=self.stopped,
            collected=collected,
        )

    # Blocking steps, each run in a thread.

    def _create(self, inputs: bytes) -> str:
        limits = self.limits
        cpu = max(1, math.ceil(limits.cpu_seconds))
        work_bytes = max(64, limits.file_size_mb * 4) * 1024 * 1024 + len(inputs)
        memory = limits.memory_mb * 1024 * 1024
        host_config = self.api.create_host_config(
            network_mode="none",
            read_only=True,
            tmpfs={"/work": f"size={work_bytes},mode=0700,U", "/tmp": f"size={work_bytes},mode=1777"},  # noqa: S108
            mem_limit=memory,
            memswap_limit=memory,
            pids_limit=limits.processes + EXTRA_PIDS,
            nano_cpus=1_000_000_000,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ulimits=[
                Ulimit(name="cpu", soft=cpu, hard=cpu + 1),
                Ulimit(name="fsize", soft=limits.file_size_mb * 1024 * 1024, hard=limits.file_size_mb * 1024 * 1024),
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="nofile", soft=NOFILE, hard=NOFILE),
                Ulimit(name="nproc", soft=NPROC, hard=NPROC),
            ],
        )
        hold = str(math.ceil(limits.wall_seconds) + HOLD_GRACE_SECONDS)
        container = self.api.create_container(
            self.runner.image_for(self.request.argv),
            command=["sleep", hold],
            user=USER,
            working_dir="/work",
            hostname="sandbox",
            environment={"PATH": SANDBOX_PATH},
            labels={LABEL: "1"},
            network_disabled=True,
            host_config=host_config,
        )["Id"]
        self.container = container  # removed by the caller even if putting the files fails
        for attempt in range(PUT_ATTEMPTS):
            try:
                if self.api.put_archive(container, "/", inputs):
                    return str(container)
            except APIError:
                # podman's copy helper now and then loses its pipe ("write |1: broken pipe") under load;
                # the container has not started, so copying again is safe
                if attempt == PUT_ATTEMPTS - 1:
                    raise
        raise DockerException("could not copy the files into the container")

    def _measure(self) -> tuple[int | None, int | None, int | None] | None:
        """Peak memory, OOM kills and CPU time of the run, from the container's cgroup."""
        assert self.container is not None
        try:
            exec_id = self.api.exec_create(self.container, ["/bin/sh", "-c", MEASURE_SCRIPT], user=USER)["Id"]
            text = self.api.exec_start(exec_id).decode("ascii", errors="replace").split()
        except (DockerException, RequestException, OSError):
            return None  # for example every process slot taken by what the program left running
        numbers = [int(part) if part.isdigit() else None for part in text[:3]]
        if len(numbers) != 3:
            return None
        return numbers[0], numbers[1], numbers[2]

    def _collect(self, folder: str) -> bytes | None:
        """The built folder as a tar archive (None past COLLECT_LIMIT), its entries named from /work."""
        assert self.container is not None
        stream, _ = self.api.get_archive(self.container, f"/work/{folder}")
        data = bytearray()
        for chunk in stream:
            data += chunk
            if len(data) > COLLECT_LIMIT:
                return None
        parent = posixpath.dirname(folder)
        return _prefixed(bytes(data), parent) if parent else bytes(data)

    def _cpu_now(self) -> int | None:
        assert self.container is not None
        try:
            stats = self.api.stats(self.container, stream=False, one_shot=True)
            return int(stats["cpu_stats"]["cpu_usage"]["total_usage"])
        except (DockerException, RequestException, OSError, KeyError, TypeError, ValueError):
            return None

    # The program's output, limits and stop requests.

    async def _stream(self, exec_id: str, started: float) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        stream = await asyncio.to_thread(self.runner._stream_api.exec_start, exec_id, stream=True, demux=True)

        def pump() -> None:
            try:
                for out, err in stream:
                    if out:
                        loop.call_soon_threadsafe(queue.put_nowait, ("stdout", out))
                    if err:
                        loop.call_soon_threadsafe(queue.put_nowait, ("stderr", err))
            except Exception:  # noqa: S110 - a broken stream ends the run like a closed one
                pass
            finally:
                with contextlib.suppress(RuntimeError):  # the event loop is gone: nobody waits any more
                    loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=pump, name="codeloft-docker-output", daemon=True).start()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, ("wake", b""))

        if self.cancel is not None:
            self.cancel.on_cancel(wake)
        deadline = started + self.limits.wall_seconds
        killing: asyncio.Future[None] | None = None
        try:
            while True:
                if self.cancel is not None and self.cancel.requested and self.stopped is None:
                    killing = self._stop(Stop.CANCELLED)
                if killing is None:
                    timeout = max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
                else:
                    timeout = STREAM_END_SECONDS
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=timeout)
                except TimeoutError:
                    if killing is not None:
                        break  # the kill did not end the stream: give up on it
                    item = ("wake", b"")
                if item is None:
                    break
                name, chunk = item
                if chunk and self.stopped is not Stop.OUTPUT:
                    self.output.take(name, chunk)
                if killing is None and self.stopped is not None:
                    killing = self._stop(self.stopped)
                if killing is None and time.monotonic() >= deadline:
                    killing = self._stop(Stop.WALL)
        finally:
            with contextlib.suppress(Exception):
                stream.close()
            if killing is not None:
                with contextlib.suppress(Exception):
                    await killing

    def _overflowed(self) -> None:
        self.stopped = self.stopped or Stop.OUTPUT

    def _stop(self, reason: Stop) -> asyncio.Future[None]:
        """Note why the run ends early, take its CPU time so far and kill the container."""
        self.stopped = self.stopped or reason

        def kill() -> None:
            self._cpu_ns = self._cpu_now()
            assert self.container is not None
            with contextlib.suppress(DockerException, RequestException, OSError):
                self.api.kill(self.container)

        return asyncio.ensure_future(asyncio.to_thread(kill))


def _inputs(request: SandboxRequest) -> bytes:
    """One tar for `put_archive` at /: the files (and regular files of the compile outputs) under work/,
    owned by the sandbox's uid, and stdin outside the work directory."""
    files = {path: (data, 0o644) for path, data in request.files.items()}
    if request.extra_archive is not None:
        files.update(archive_members(request.extra_archive))
    uid = int(USER.split(":")[0])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        folders = sorted({"/".join(p.split("/")[:n]) for p in files for n in range(1, p.count("/") + 1)})
        for folder in folders:
            archive.addfile(_entry(f"work/{folder}", 0o755, uid, kind=tarfile.DIRTYPE))
        for path, (data, mode) in sorted(files.items()):
            archive.addfile(_entry(f"work/{path}", mode, uid, size=len(data)), io.BytesIO(data))
        archive.addfile(_entry(".codeloft", 0o755, 0, kind=tarfile.DIRTYPE))
        archive.addfile(_entry(STDIN.lstrip("/"), 0o644, 0, size=len(request.stdin)), io.BytesIO(request.stdin))
    return buffer.getvalue()


def _entry(name: str, mode: int, uid: int, *, size: int = 0, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid = info.gid = uid
    info.size = size
    info.mtime = 0
    return info


def _prefixed(archive: bytes, parent: str) -> bytes:
    """The same archive with every entry under `parent/` (get_archive names entries from the folder
    itself). Entries are copied as they are: nothing is extracted or followed."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(archive)) as source, tarfile.open(fileobj=buffer, mode="w") as target:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isreg() else None
            member.name = f"{parent}/{member.name}"
            target.addfile(member, data)
    return buffer.getvalue()


def _safe_folder(folder: str) -> bool:
    if folder == ".":  # the whole work folder (an extension command's result)
        return True
    parts = folder.split("/")
    return bool(folder) and not folder.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def _exit_of(code: Any) -> tuple[int | None, int | None]:
    """(exit code, signal): the engine reports a program killed by signal N as 128+N."""
    if not isinstance(code, int) or code < 0:
        return None, None
    if code > 128:
        return None, code - 128
    return code, None


def _memory_kill(peak: int | None, oom_kills: int | None, memory_mb: int) -> bool:
    """A SIGKILL was the memory limit's when the cgroup counted an OOM kill, or (where the kernel does
    not count them) its peak usage reached the limit."""
    if oom_kills is not None:
        return oom_kills > 0
    return peak is not None and peak >= memory_mb * 1024 * 1024 * 0.98


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
