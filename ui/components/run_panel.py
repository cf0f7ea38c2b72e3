"""The run panel: Run (Ctrl+Enter) and Stop, stdin, output streamed live (stderr in red), the result
(status, reason, exit code, CPU and wall time, peak memory), compile errors that open the file at the
line, and the workspace's last 20 runs."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from uuid import UUID

from nicegui import ui

from domain.entities import RunResult
from domain.errors import CodeloftError, Unauthenticated
from domain.sandbox import Cancellation
from ui.components.dialogs import disposable
from ui.context import services
from ui.viewer import Viewer

COMPILER_LOCATION = re.compile(r"^(?P<path>[^\s:][^:\n]*):(?P<line>\d+):(?:(?P<column>\d+):)?", re.MULTILINE)
REASONS = {
    "ok": "finished",
    "compile_error": "did not compile",
    "runtime_error": "exited with an error",
    "signal": "was killed by a signal",
    "time_limit": "used up its CPU time",
    "wall_time_limit": "ran out of wall-clock time",
    "memory_limit": "ran out of memory",
    "output_limit": "wrote too much output",
    "internal_error": "could not be run: the sandbox failed",
}


def summary(run: RunResult) -> str:
    reason = REASONS.get(run.reason.value if run.reason else "", "is running")
    parts = [f"{run.path} {reason}"]
    if run.exit_code is not None:
        parts.append(f"exit code {run.exit_code}")
    if run.signal is not None:
        parts.append(f"signal {run.signal}")
    if run.time_ms is not None:
        parts.append(f"CPU {run.time_ms} ms")
    if run.wall_ms is not None:
        parts.append(f"wall {run.wall_ms} ms")
    if run.memory_kb:
        parts.append(f"memory {run.memory_kb / 1024:.1f} MB")
    if run.compile_cached:
        parts.append("build reused")
    return " · ".join(parts)


class LineBuffer:
    """Streamed chunks into whole lines for the log; the last partial line on `flush`."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._partial = ""

    def feed(self, text: str) -> None:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._emit(line)

    def flush(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = ""


class RunPanel:
    def __init__(
        self,
        workspace_id: UUID,
        viewer: Viewer,
        *,
        can_run: bool,
        target: Callable[[], str | None],
        before_run: Callable[[], Awaitable[None]],
        open_at: Callable[[str, int], Awaitable[None]],
    ) -> None:
        self.workspace_id = workspace_id
        self.viewer = viewer
        self.can_run = can_run
        self.target = target
        self.before_run = before_run
        self.open_at = open_at
        self.cancellation: Cancellation | None = None
        self.entry: str | None = None

        with ui.column().classes("w-full h-full gap-1 p-2"):
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.run_button = ui.button("Run", icon="play_arrow", on_click=self.run).props(
                    'dense color=green data-testid="run"'
                )
                with self.run_button:
                    self.run_tip = ui.tooltip("Run the open file (Ctrl+Enter)")
                self.entry_badge = ui.badge("", color="green").props('outline data-testid="run-entry"')
                self.entry_badge.tooltip("The entry point from the workspace settings: Run runs it whatever is open")
                self.entry_badge.set_visibility(False)
                self.stop_button = ui.button("Stop", icon="stop", on_click=self.stop).props(
                    'dense color=red outline data-testid="stop"'
                )
                self.stop_button.set_enabled(False)
                self.preview_button = ui.button("Preview", icon="public", on_click=self.preview).props(
                    'dense outline data-testid="preview"'
                )
                self.preview_button.tooltip("Start the web server and show its pages")
                self.preview_button.set_enabled(can_run)
                self.status = ui.label("").classes("text-xs grow truncate").props('data-testid="run-status"')
                self.history_button = ui.button(icon="history", on_click=self.show_history).props(
                    'flat dense round data-testid="run-history"'
                )
                self.history_button.tooltip("The last 20 runs")
            with ui.row().classes("w-full gap-2 no-wrap grow"):
                self.stdin = (
                    ui.textarea(placeholder="stdin")
                    .props('outlined dense input-style="font-family: monospace; height: 8rem" data-testid="stdin"')
                    .classes("w-48")
                )
                self.output = (
                    ui.log(max_lines=5000).classes("grow h-40 text-xs font-mono").props('data-testid="run-output"')
                )
            self.problems = ui.column().classes("w-full gap-0").props('data-testid="compile-problems"')
        self.run_button.set_enabled(can_run)

    def show_entry(self, entry: str | None) -> None:
        """Run runs the entry point chosen in the settings (None: the open file); say so."""
        self.entry = entry
        self.entry_badge.set_text(entry or "")
        self.entry_badge.set_visibility(entry is not None)
        what = f"{entry}, the entry point" if entry else "the open file"
        self.run_tip.set_text(f"Run {what} (Ctrl+Enter)")

    # --- running ---------------------------------------------------------------------------------

    async def run(self) -> None:
        if not self.can_run or self.cancellation is not None:
            return
        self.cancellation = Cancellation()
        self.run_button.set_enabled(False)
        self.stop_button.set_enabled(True)
        self.output.clear()
        self.problems.clear()
        self.status.set_text("Running…")
        stdout = LineBuffer(lambda line: self.output.push(line))
        stderr = LineBuffer(lambda line: self.output.push(line, classes="text-red-600"))

        async def stream(kind: str, text: str) -> None:
            (stdout if kind == "stdout" else stderr).feed(text)

        try:
            await self.before_run()
            run = await services().runs.run(
                await self.viewer.actor(),
                self.workspace_id,
                path=None if self.entry else self.target(),  # the service runs the entry point
                stdin=self.stdin.value or "",
                on_output=stream,
                cancel=self.cancellation,
            )
        except Unauthenticated:
            ui.navigate.to("/login?reason=expired")
            return
        except CodeloftError as error:
            self.status.set_text(error.message)
            ui.notify(error.message, type="negative", multi_line=True)
            return
        finally:
            stdout.flush()
            stderr.flush()
            self.cancellation = None
            self.run_button.set_enabled(self.can_run)
            self.stop_button.set_enabled(False)
        self.show_result(run, streamed=True)

    def stop(self) -> None:
        if self.cancellation is not None:
            self.cancellation.cancel()
            self.status.set_text("Stopping…")

    def show_result(self, run: RunResult, *, streamed: bool) -> None:
        if not streamed:
            self.output.clear()
            for line in run.stdout.splitlines():
                self.output.push(line)
            for line in run.stderr.splitlines():
                self.output.push(line, classes="text-red-600")
        if run.reason is not None and run.reason.value == "compile_error" and streamed:
            for line in run.compile_output.splitlines():
                self.output.push(line, classes="text-red-600")
        if run.truncated:
            self.output.push("[output cut at the limit]", classes="text-orange-600")
        self.status.set_text(f"{run.status.value}: {summary(run)}")
        self._problems(run.compile_output)

    def _problems(self, compile_output: str) -> None:
        self.problems.clear()
        seen = set()
        with self.problems:
            for match in COMPILER_LOCATION.finditer(compile_output):
                path, line = match.group("path").removeprefix("./"), int(match.group("line"))
                if (path, line) in seen or path.startswith(("In file", "/usr")):
                    continue
                seen.add((path, line))
                text = compile_output[match.start() :].split("\n", 1)[0]
                ui.link(text, "#").classes("text-xs text-red-700 font-mono").props('data-testid="compile-problem"').on(
                    "click.prevent", lambda _, p=path, n=line: self.open_at(p, n)
                )

    # --- preview ---------------------------------------------------------------------------------

    async def preview(self) -> None:
        """Start the workspace's web server in the sandbox and show it in a dialog while it is open."""
        previews = services().previews
        try:
            await self.before_run()
            actor = await self.viewer.actor()
            await previews.start(actor, self.workspace_id)
            token = await previews.view(actor, self.workspace_id)
        except Unauthenticated:
            ui.navigate.to("/login?reason=expired")
            return
        except CodeloftError as error:
            ui.notify(error.message, type="negative", multi_line=True)
            return
        client = ui.context.client
        client.on_disconnect(lambda: previews.leave(token))
        with disposable(ui.dialog().props("maximized")) as dialog, ui.card().classes("w-full h-full p-2 gap-2"):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label("Preview").classes("text-lg font-bold grow")
                ui.link("Open in a new tab", f"/w/{self.workspace_id}/preview/", new_tab=True).props(
                    'data-testid="preview-open-tab"'
                ).classes("text-sm")
                reload = ui.button("Reload", icon="refresh").props("flat dense")
                ui.button("Stop server", icon="stop", color="red", on_click=lambda: stop()).props(
                    'dense outline data-testid="preview-stop"'
                )
                ui.button(icon="close", on_click=dialog.close).props('flat dense round data-testid="preview-close"')
            frame = (
                ui.element("iframe")
                .props(f'src="/preview/{token}/" sandbox="allow-scripts allow-forms allow-popups allow-modals"')
                .classes("w-full grow border rounded")
                .props('data-testid="preview-frame"')
            )
        reload.on("click", js_handler=f"() => {{ const f = getHtmlElement({frame.id}); f.src = f.src; }}")

        async def stop() -> None:
            try:
                await previews.stop(await self.viewer.actor(), self.workspace_id)
            except CodeloftError as error:
                ui.notify(error.message, type="negative")
            dialog.close()

        dialog.on("hide", lambda: previews.leave(token))
        dialog.open()

    # --- history ---------------------------------------------------------------------------------

    async def show_history(self) -> None:
        try:
            runs = await services().runs.history(await self.viewer.actor(), self.workspace_id)
        except CodeloftError as error:
            ui.notify(error.message, type="negative")
            return
        with disposable(ui.dialog()) as dialog, ui.card().classes("w-[40rem]"):
            ui.label("Last runs").classes("text-lg font-bold")
            if not runs:
                ui.label("No runs yet.")
            for run in runs:
                with (
                    ui.row()
                    .classes("w-full items-center gap-2 cursor-pointer hover:bg-gray-100 p-1")
                    .props('data-testid="history-entry"') as row
                ):
                    colour = {"success": "green", "timeout": "orange"}.get(run.status.value, "red")
                    ui.badge(run.status.value, color=colour)
                    ui.label(summary(run)).classes("text-xs grow")
                    ui.label(f"{run.created_at:%H:%M:%S}").classes("text-xs text-gray-500")
                row.on("click", lambda _, r=run: self._replay(r, dialog))
        dialog.open()

    def _replay(self, run: RunResult, dialog: ui.dialog) -> None:
        self.show_result(run, streamed=False)
        dialog.close()
