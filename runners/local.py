"""The local runner: a plain subprocess with rlimits in a temporary folder. No isolation from the
host: allowed only in single-user mode, for machines without bubblewrap."""

from __future__ import annotations

import asyncio
import io
import shutil
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path

from domain.sandbox import Cancellation, OutputSink, RunLimits, SandboxRequest, SandboxResult, TerminalIO
from runners.supervise import Launch, rlimit_prefix, supervise


def _unpack(folder: Path, files: dict[str, bytes], extra: bytes | None) -> None:
    for path, data in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if extra is not None:
        with tarfile.open(fileobj=io.BytesIO(extra)) as archive:
            archive.extractall(folder, filter="data")


def _pack(folder: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(folder / name, arcname=name)  # links are stored as links, never followed
    return buffer.getvalue()


class LocalRunner:
    name = "local"

    @staticmethod
    def usable() -> bool:
        return shutil.which("prlimit") is not None

    async def execute(
        self,
        request: SandboxRequest,
        *,
        on_output: OutputSink | None = None,
        cancel: Cancellation | None = None,
        terminal: TerminalIO | None = None,
    ) -> SandboxResult:
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="codeloft-run-"))
        try:
            await asyncio.to_thread(_unpack, folder, request.files, request.extra_archive)
            stdin = folder.parent / f"{folder.name}.stdin"
            stdin.write_bytes(request.stdin)
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8", **request.env}
            if request.collect:
                (folder / request.collect).mkdir(parents=True, exist_ok=True)
            launch = Launch(
                argv=[*rlimit_prefix(request.limits, nproc=False), *request.argv],
                stdin_path=str(stdin),
                limits=request.limits,
                env=env,
                cwd=str(folder),
                claim_tty=terminal is not None,  # the run's session takes the pty as its terminal
            )
            result = await supervise(launch, on_output=on_output, cancel=cancel, terminal=terminal)
            if request.collect and result.exit_code == 0:
                archive = await asyncio.to_thread(_pack, folder, request.collect)
                return replace(result, collected=archive)
            return result
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)
            (folder.parent / f"{folder.name}.stdin").unlink(missing_ok=True)

    async def execute_interactive(
        self, request: SandboxRequest, terminal: TerminalIO, *, cancel: Cancellation | None = None
    ) -> SandboxResult:
        """The program on a pseudo-terminal: the controlling terminal of the run's own session."""
        return await self.execute(replace(request, stdin=b""), cancel=cancel, terminal=terminal)

    async def version(self, argv: list[str]) -> str:
        result = await self.execute(
            SandboxRequest(files={}, argv=argv, limits=RunLimits(cpu_seconds=10, wall_seconds=20))
        )
        text = (result.stdout + result.stderr).decode("utf-8", errors="replace").strip()
        return text.splitlines()[0] if text else "unknown"

    async def close(self) -> None:
        return None
