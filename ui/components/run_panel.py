"""The run panel: Run (Ctrl+Enter) runs the program in the console, a terminal attached to it in the
sandbox (the person answers its prompts, Ctrl+C interrupts it); Run with input runs it on the text of
the stdin box instead, its output streamed live to the Output tab in the order it was written (stderr in
red); Stop; the result (status, reason, exit code, CPU and wall time, peak memory), problems
(compile errors, tracebacks, stack traces) that open their file at the place, the web preview with its
server's output, and the workspace's last 20 runs. The assistant reads the last run's output and error.

Output reaches the page in small batches on a timer, and the page keeps only the last lines: a program
printing a flood of lines costs the browser a few small messages, never one that breaks its connection."""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any
from uuid import UUID

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from domain.entities import RunResult
from domain.errors import CodeloftError, Unauthenticated
from domain.extension_commands import CommandOutcome
from domain.extension_contributions import CommandContribution
from domain.previews import Preview, preview_refusal
from domain.problems import Problem, find_problems
from domain.runs import output_cut_notice
from domain.sandbox import Cancellation
from domain.values import REASON_WORDS, Language
from ui.components.accessible import icon_button
from ui.components.console import Console
from ui.components.timer import Timer
from ui.context import Services
from ui.errors import notify_error
from ui.viewer import Viewer

STATUS_COLOURS = {"success": "text-green-700", "error": "text-red-700", "timeout": "text-orange-700"}
"""Colour of the status line by run status; anything else (stopped, running) stays neutral."""
BADGE_COLOURS = {"success": "positive", "error": "negative", "timeout": "deep-orange-10"}
"""History badges by run status (white text at AA contrast); anything else (stopped) is neutral grey."""
LINE_CLASSES = {"stdout": None, "stderr": "text-red-600", "note": "text-orange-700", "muted": "text-gray-500"}

KEEP_LINES = 2000
"""Lines the output area keeps; older ones leave the page (the run's record keeps all of its output)."""
MAX_LINE_CHARS = 2000
"""A longer line shows as several."""
BATCH_LINES = 200
BATCH_CHARS = 64 * 1024
FLUSH_SECONDS = 0.1
STATUS_CLASSES = "text-xs grow truncate"


def summary(run: RunResult) -> str:
    reason = run.reason.value if run.reason else ""
    parts = [f"{run.path} {REASON_WORDS.get(reason, 'is running')}"]
    if run.exit_code is not None:
        parts.append(f"exit code {run.exit_code}")
    if run.signal is not None and reason == "signal":  # else it is the sandbox's own kill, named by the reason
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


class OutputLines:
    """What the output area is to show: whole lines in the order the program wrote them (a line one
    stream left unfinished, like an input() prompt, ends where the other stream cuts in), at most
    `keep` waiting; `take` hands them out in bounded batches."""

    def __init__(self, keep: int = KEEP_LINES) -> None:
        self.keep = keep
        self.dropped = 0
        self._ready: deque[tuple[str, str]] = deque()
        self._kind = "stdout"
        self._partial = ""

    def clear(self) -> None:
        self._ready.clear()
        self.dropped = 0
        self._partial = ""

    def feed(self, kind: str, text: str) -> None:
        if self._partial and kind != self._kind:
            self.end()
        self._kind = kind
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._add(kind, line.removesuffix("\r"))
        while len(self._partial) > MAX_LINE_CHARS:
            self._add(kind, self._partial[:MAX_LINE_CHARS])
            self._partial = self._partial[MAX_LINE_CHARS:]

    def end(self) -> None:
        """The unfinished line, as it is."""
        if self._partial:
            self._add(self._kind, self._partial)
            self._partial = ""

    def note(self, text: str, kind: str = "note") -> None:
        self.end()
        for line in text.splitlines():
            self.feed(kind, line + "\n")

    def take(self, lines: int = BATCH_LINES, chars: int = BATCH_CHARS) -> list[tuple[str, str]]:
        batch: list[tuple[str, str]] = []
        if self.dropped:
            batch.append(("muted", f"… {self.dropped:,} lines not shown here (the page keeps the last {self.keep:,})"))
            self.dropped = 0
        size = 0
        while self._ready and len(batch) < lines and size < chars:
            kind, text = self._ready.popleft()
            batch.append((kind, text))
            size += len(text)
        return batch

    def _add(self, kind: str, line: str) -> None:
        if len(self._ready) >= self.keep:
            self._ready.popleft()
            self.dropped += 1
        for start in range(0, max(len(line), 1), MAX_LINE_CHARS):
            self._ready.append((kind, line[start : start + MAX_LINE_CHARS]))


OpenAt = Callable[[str, int, int | None], Awaitable[None]]
# At phone width the run toolbar's buttons show their icons only (their names stay: aria-label), so the
# toolbar fits without scrolling sideways. Quasar's `.block { display: block !important }` sits in the
# last cascade layer, and between layers the first one's !important wins: hence `theme`, the first.
NARROW_TOOLBAR = """
@layer theme {
  @media (max-width: 640px) {
    .cl-run-toolbar .q-btn .q-btn__content > .block { display: none !important; }
    .cl-run-toolbar .q-btn .q-btn__content > .q-icon.on-left { margin-right: 0 !important; }
  }
}
"""

OnProblems = Callable[[list[Problem]], Awaitable[None] | None]


class RunPanel:
    def __init__(
        self,
        workspace_id: UUID,
        viewer: Viewer,
        *,
        services: Services,
        can_run: bool,
        target: Callable[[], str | None],
        before_run: Callable[[], Awaitable[None]],
        open_at: OpenAt,
        files: Callable[[], Collection[str]],
        language: Language,
        on_problems: OnProblems | None = None,
        on_preview: Callable[[str], None] | None = None,
        dark: bool = False,
    ) -> None:
        self.workspace_id = workspace_id
        self.viewer = viewer
        self.services = services
        self.can_run = can_run
        self.target = target
        self.before_run = before_run
        self.open_at = open_at
        self.files = files
        self.on_problems = on_problems
        self.cancellation: Cancellation | None = None
        self.entry: str | None = None
        self.lines = OutputLines()
        self._showing_preview: Preview | None = None
        self._preview_token: str | None = None
        self._runs: Sequence[RunResult] = ()
        self._last: tuple[RunResult, bool] | None = None  # the run shown last, and whether on the console
        self._problems: list[Problem] = []
        self._tab_openers: dict[str, Callable[[], Awaitable[None]]] = {}
        self._on_preview = on_preview

        with ui.column().classes("w-full h-full gap-1 p-2 no-wrap overflow-hidden"):
            ui.add_css(NARROW_TOOLBAR)
            with ui.row().classes("w-full items-center gap-2 no-wrap shrink-0 overflow-x-auto cl-run-toolbar"):
                self.run_button = ui.button("Run", icon="play_arrow", on_click=self.run).props(
                    'dense no-wrap color=positive data-testid="run"'
                )
                with self.run_button:
                    self.run_tip = ui.tooltip("Run the open file (Ctrl+Enter)")
                self.entry_badge = ui.badge("", color="positive").props('outline data-testid="run-entry"')
                self.entry_badge.tooltip("The entry point from the workspace settings: Run runs it whatever is open")
                self.entry_badge.set_visibility(False)
                self.run_with_input_button = ui.button(
                    "Run with input", icon="input", on_click=self.run_with_input
                ).props('dense no-wrap outline no-caps data-testid="run-with-input"')
                self.run_with_input_button.tooltip("Run on the text of the stdin box (Output tab)")
                self.stop_button = ui.button("Stop", icon="stop", on_click=self.stop).props(
                    'dense no-wrap color=negative outline data-testid="stop"'
                )
                self.stop_button.set_enabled(False)
                with ui.element("span").props('data-testid="preview-why"'):
                    self.preview_button = ui.button("Preview", icon="public", on_click=self.preview).props(
                        'dense no-wrap outline data-testid="preview"'
                    )
                    self.preview_tip = ui.tooltip("")
                self._offer_preview(preview_refusal(language))
                self.status = ui.label("").classes(STATUS_CLASSES).props('data-testid="run-status" role="status"')
                self.history_button = icon_button("history", "The last 20 runs", self.show_history).props(
                    'data-testid="run-history"'
                )
            self.tabs = ui.tabs().props("dense no-caps align=left inline-label outside-arrows mobile-arrows")
            self.tabs.classes("shrink-0")
            with self.tabs:
                ui.tab("console", "Console", icon="terminal").props('data-testid="tab-console"')
                ui.tab("output", "Output", icon="notes").props('data-testid="tab-output"')
                with ui.tab("problems", "Problems", icon="report_problem").props('data-testid="tab-problems"'):
                    self.problem_count = ui.badge("", color="negative").props(
                        'rounded data-testid="problem-count" aria-label="problems"'
                    )
                    self.problem_count.set_visibility(False)
                ui.tab("history", "History", icon="history").props('data-testid="tab-history"')
            self.tabs.set_value("console")
            self.tabs.on_value_change(self._tab_chosen)
            # Both stay in the page (a hidden one keeps its terminal and its lines); the tabs choose.
            with ui.column().classes("w-full grow min-h-0 gap-0 no-wrap") as self._areas:
                with ui.column().classes("w-full grow min-h-0 p-0 overflow-hidden") as console_area:
                    self.console = Console(dark=dark)
                console_area.bind_visibility_from(self.tabs, "value", backward=lambda tab: tab == "console")
                with ui.row().classes("w-full grow min-h-0 gap-2 no-wrap overflow-hidden") as output_area:
                    self.stdin = (
                        ui.textarea(placeholder="stdin")
                        .props('outlined dense input-style="font-family: monospace; height: 8rem" data-testid="stdin"')
                        .props('aria-label="Standard input for Run with input"')
                        .classes("w-48")
                    )
                    self.output = (
                        ui.log(max_lines=KEEP_LINES)
                        .classes("grow h-full min-h-[4rem] text-xs font-mono")
                        .props('data-testid="run-output" role="log" aria-live="polite" aria-label="Program output"')
                    )
                output_area.bind_visibility_from(self.tabs, "value", backward=lambda tab: tab == "output")
                with ui.column().classes("w-full grow min-h-0 gap-0 overflow-auto") as history_area:
                    self._history()
                history_area.bind_visibility_from(self.tabs, "value", backward=lambda tab: tab == "history")
                with (
                    ui.column()
                    .classes("w-full grow min-h-0 gap-0 overflow-auto no-wrap")
                    .props('data-testid="compile-problems"') as problems_area
                ):
                    self._problem_list()
                problems_area.bind_visibility_from(self.tabs, "value", backward=lambda tab: tab == "problems")
        for button in (self.run_button, self.run_with_input_button, self.stop_button, self.preview_button):
            button.props["aria-label"] = button.text  # its name also where the narrow toolbar shows the icon only
        self.run_button.set_enabled(can_run)
        self.run_with_input_button.set_enabled(can_run)
        Timer(FLUSH_SECONDS, self._flush_output)

    def _offer_preview(self, refusal: str | None) -> None:
        """Preview is offered where it can work; where it cannot, its tooltip says why."""
        self.preview_refusal = refusal
        self.preview_tip.set_text(
            refusal or "Start the web server in the sandbox and show its pages (it listens on the PORT variable)"
        )
        self.preview_button.props["aria-description"] = refusal or ""
        self.preview_button.set_enabled(self.can_run and refusal is None)

    async def check_preview(self) -> None:
        """Look again whether the entry point serves HTTP (after a save or a change of entry point)."""
        try:
            refusal = await self.services.previews.refusal(await self.viewer.actor(), self.workspace_id)
        except CodeloftError as error:
            refusal = error.message
        self._offer_preview(refusal)

    def show_entry(self, entry: str | None) -> None:
        """Run runs the entry point chosen in the settings (None: the open file); say so."""
        self.entry = entry
        self.entry_badge.set_text(entry or "")
        self.entry_badge.set_visibility(entry is not None)
        what = f"{entry}, the entry point" if entry else "the open file"
        self.run_tip.set_text(f"Run {what} (Ctrl+Enter)")

    # --- output ----------------------------------------------------------------------------------

    def _flush_output(self) -> None:
        """One bounded batch of waiting lines to the page."""
        for kind, text in self.lines.take():
            self.output.push(text or "\u00a0", classes=LINE_CLASSES.get(kind))

    def _clear_output(self) -> None:
        self.lines.clear()
        self.output.clear()

    def _set_status(self, text: str, status: str | None = None) -> None:
        self.status.set_text(text)
        self.status.classes(replace=f"{STATUS_CLASSES} {STATUS_COLOURS.get(status or '', '')}".strip())

    # --- running ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run in the console: the program gets a terminal, the person answers its prompts."""
        try:
            self.services.runs.executor.interactive_runner()
        except CodeloftError:  # this sandbox has no terminals (docker, a remote worker): input given beforehand
            await self.run_with_input()
            return
        if not self._begin():
            return
        await self._show_problems([])
        self.tabs.set_value("console")
        self.console.clear()
        terminal = self.console.attach()
        self.console.focus()
        try:
            await self.before_run()
            run = await self.services.runs.run_interactive(
                await self.viewer.actor(),
                self.workspace_id,
                path=self._path(),
                terminal=terminal,
                cancel=self.cancellation,
            )
        except CodeloftError as error:
            self._failed(error)
            return
        finally:
            self.console.detach()
            self._end()
        await self.show_result(run, streamed=True, console=True)

    async def run_with_input(self) -> None:
        """Run on the text of the stdin box, the output streamed to the Output tab."""
        if not self._begin():
            return
        await self._show_problems([])
        self.tabs.set_value("output")
        self._clear_output()

        async def stream(kind: str, text: str) -> None:
            self.lines.feed(kind, text)

        try:
            await self.before_run()
            run = await self.services.runs.run(
                await self.viewer.actor(),
                self.workspace_id,
                path=self._path(),
                stdin=self.stdin.value or "",
                on_output=stream,
                cancel=self.cancellation,
            )
        except CodeloftError as error:
            self._failed(error)
            return
        finally:
            self.lines.end()
            self._end()
        await self.show_result(run, streamed=True)

    def _path(self) -> str | None:
        return None if self.entry else self.target()  # None: the service runs the entry point

    async def run_extension_command(
        self, command: CommandContribution, on_written: Callable[[list[str]], Awaitable[None]]
    ) -> CommandOutcome | None:
        """An extension's command from the palette: everything saved first, then it runs in the sandbox
        over the workspace's files, its output streamed to the Output tab like a run's; the outcome (what
        was saved, what was not and why) shows as a notification and in the status line, and the files it
        wrote are handed to `on_written` (the tree and the open tabs follow)."""
        if not self._begin():
            return None
        await self._show_problems([])
        self.tabs.set_value("output")
        self._clear_output()
        self._set_status(f"{command.title}: running in the sandbox…")

        async def stream(kind: str, text: str) -> None:
            self.lines.feed(kind, text)

        try:
            await self.before_run()
            outcome = await self.services.extension_commands.run(
                await self.viewer.actor(), self.workspace_id, command.key, on_output=stream, cancel=self.cancellation
            )
        except CodeloftError as error:
            self._failed(error)
            return None
        finally:
            self.lines.end()
            self._end()
        run = outcome.run
        if run.truncated:
            self.lines.note(output_cut_notice(self.services.runs.defaults.output_bytes))
        self.lines.note(outcome.message, "note" if not outcome.ok else "muted")
        self._last = (run, False)
        self._set_status(outcome.message, run.status.value if not outcome.ok else "success")
        ui.notify(outcome.message, type="positive" if outcome.ok else "warning", multi_line=True)
        if outcome.written:
            await on_written(outcome.written)
        return outcome

    def _begin(self) -> bool:
        """One run at a time: False while one is running."""
        if not self.can_run or self.cancellation is not None:
            return False
        self.cancellation = Cancellation()
        self._showing_preview = None
        self.run_button.set_enabled(False)
        self.run_with_input_button.set_enabled(False)
        self.stop_button.set_enabled(True)
        self._set_status("Running…")
        return True

    def _end(self) -> None:
        self.cancellation = None
        self.run_button.set_enabled(self.can_run)
        self.run_with_input_button.set_enabled(self.can_run)
        self.stop_button.set_enabled(False)

    def _failed(self, error: CodeloftError) -> None:
        if not isinstance(error, Unauthenticated):
            self._set_status(error.message, "error")
        notify_error(error)

    def stop(self) -> None:
        if self.cancellation is not None:
            self.cancellation.cancel()
            self._set_status("Stopping…")

    def last_run(self) -> tuple[str, str] | None:
        """The output and the error of the run shown last (None before any): the compiler's output when the
        build failed, else stderr; on the console a program's two streams are one, a failed run's its error."""
        if self._last is None:
            return None
        run, console = self._last
        if run.reason is not None and run.reason.value == "compile_error":
            return run.stdout, run.compile_output
        if console:
            failed = run.status.value in ("error", "timeout")
            return ("", run.stdout) if failed else (run.stdout, "")
        return run.stdout, run.stderr

    async def show_result(self, run: RunResult, *, streamed: bool, console: bool = False) -> None:
        self._last = (run, console)
        compile_error = run.reason is not None and run.reason.value == "compile_error"
        if console:
            if run.truncated:
                self.console.note(output_cut_notice(self.services.runs.defaults.output_bytes))
        elif not streamed:
            self.tabs.set_value("output")
            self._clear_output()
            self.lines.feed("stdout", run.stdout)
            self.lines.feed("stderr", run.stderr)
            self.lines.end()
        elif compile_error:
            self.lines.note(run.compile_output, "stderr")
        if run.truncated and not console:
            self.lines.note(output_cut_notice(self.services.runs.defaults.output_bytes))
        self._set_status(f"{run.status.value}: {summary(run)}", run.status.value)
        # the compiler's errors and warnings (also of a build that worked), then the program's own trace
        # (on a terminal the program's two streams are one)
        trace = run.stdout if console else run.stderr
        text = run.compile_output if compile_error else f"{run.compile_output}\n{trace}"
        problems = find_problems(text, set(self.files()))
        await self._show_problems(problems, reveal=compile_error)

    async def _show_problems(self, problems: list[Problem], *, reveal: bool = False) -> None:
        """The Problems tab lists them (its badge counts them); `reveal` brings it to the front (a build
        that failed: its errors are what the person needs next)."""
        self._problems = problems
        self._problem_list.refresh()
        errors = sum(problem.severity == "error" for problem in problems)
        self.problem_count.set_text(str(len(problems)))
        self.problem_count.props(f"color={'negative' if errors else 'warning'}")
        self.problem_count.props["aria-label"] = f"{len(problems)} problems"
        self.problem_count.set_visibility(bool(problems))
        if reveal and problems:
            self.tabs.set_value("problems")
        if self.on_problems is not None:
            done = self.on_problems(problems)
            if inspect.isawaitable(done):
                await done

    # --- preview ---------------------------------------------------------------------------------

    async def preview(self) -> None:
        """Start the workspace's web server in the sandbox, show it above the panel while it is open,
        and its output in the panel."""
        if self.preview_refusal is not None:
            ui.notify(self.preview_refusal, multi_line=True)
            return
        previews = self.services.previews
        self.tabs.set_value("output")  # the server's log
        self._clear_output()
        self._set_status("Preview: starting the web server…")

        async def output(kind: str, text: str) -> None:
            if self._showing_preview is not None and self._showing_preview is started:
                self.lines.feed(kind, text)

        async def ended(preview: Preview) -> None:
            if self._showing_preview is not preview or self.output.is_deleted:
                return
            self.lines.end()
            if preview.stopped:
                self._set_status(f"Preview: {preview.path} stopped")
            else:
                self.lines.note(preview.why_ended())
                self._set_status(f"Preview: {preview.why_ended()}", "error")

        started: Preview | None = None
        try:
            await self.before_run()
            actor = await self.viewer.actor()
            started = await previews.start(actor, self.workspace_id, on_output=output, on_end=ended)
            self._showing_preview = started
            for kind, text in started.output:  # what it wrote before this panel listened
                self.lines.feed(kind, text)
            token = await previews.view(actor, self.workspace_id)
        except CodeloftError as error:
            if not isinstance(error, Unauthenticated):
                self._set_status(error.message, "error")
            notify_error(error)
            return
        if started.running:
            self._set_status(f"Preview: {started.path} is serving; its output shows here")
        client = ui.context.client
        client.on_disconnect(lambda: previews.leave(token))
        self._preview_token = token
        if self._on_preview is not None:  # the page shows /preview/<token>/ where it keeps it (the right pane)
            self._on_preview(token)

    async def stop_preview(self) -> None:
        """Stop server: the workspace's web server ends (for everyone looking at it)."""
        try:
            await self.services.previews.stop(await self.viewer.actor(), self.workspace_id)
        except CodeloftError as error:
            notify_error(error)

    def preview_closed(self) -> None:
        """This page no longer shows the preview (the server runs on while someone else looks)."""
        if self._preview_token is not None:
            self.services.previews.leave(self._preview_token)
            self._preview_token = None

    # --- history ---------------------------------------------------------------------------------

    async def show_history(self) -> None:
        """The History tab with the workspace's last 20 runs; choosing one shows it in the Output tab."""
        try:
            self._runs = await self.services.runs.history(await self.viewer.actor(), self.workspace_id)
        except CodeloftError as error:
            notify_error(error)
            return
        self._history.refresh()
        self.tabs.set_value("history")

    def add_tab(
        self, name: str, label: str, icon: str, *, on_open: Callable[[], Awaitable[None]] | None = None
    ) -> ui.column:
        """Another tab of the bottom panel (the page's terminal): its area, to fill; `on_open` runs each
        time the tab is chosen."""
        with self.tabs:
            ui.tab(name, label, icon=icon).props(f'data-testid="tab-{name}"')
        with self._areas, ui.column().classes("w-full grow min-h-0 p-0 overflow-hidden") as area:
            pass
        area.bind_visibility_from(self.tabs, "value", backward=lambda tab: tab == name)
        if on_open is not None:
            self._tab_openers[name] = on_open
        return area

    async def _tab_chosen(self, event: ValueChangeEventArguments[Any]) -> None:
        if event.value == "history":
            await self.show_history()  # the runs as they are now
        opener = self._tab_openers.get(str(event.value))
        if opener is not None:
            await opener()

    @ui.refreshable_method
    def _problem_list(self) -> None:
        """The last run's problems, each opening its file at its place (click or Enter)."""
        if not self._problems:
            ui.label("No problems in the last run.").classes("text-sm text-gray-500 p-2")
        for problem in self._problems:
            place = f"{problem.path}:{problem.line}" + (f":{problem.column}" if problem.column else "")
            warning = problem.severity == "warning"
            with (
                ui.row()
                .classes("w-full items-center gap-2 no-wrap cursor-pointer px-2 py-0.5")
                .classes("hover:bg-gray-100 dark:hover:bg-slate-700")
                .props('data-testid="compile-problem" role="button" tabindex="0"') as row
            ):
                ui.icon("warning" if warning else "error", size="16px").classes(
                    "text-orange-700 dark:text-orange-300" if warning else "text-red-700 dark:text-red-300"
                ).props('aria-hidden="true"')
                ui.label(f"{problem.severity}:").classes("sr-only")
                ui.label(place).classes("text-xs font-mono text-blue-800 dark:text-blue-300 shrink-0")
                message = ui.label(problem.message).classes("text-xs font-mono truncate")
                message.props["title"] = problem.message
            row.on("click", lambda _, p=problem: self.open_at(p.path, p.line, p.column))
            row.on("keydown.enter", lambda _, p=problem: self.open_at(p.path, p.line, p.column))

    @ui.refreshable_method
    def _history(self) -> None:
        if not self._runs:
            ui.label("No runs yet.").classes("text-sm text-gray-500 p-2")
        for run in self._runs:
            with (
                ui.row()
                .classes("w-full items-center gap-2 cursor-pointer hover:bg-gray-100 dark:hover:bg-slate-700 p-1")
                .props('data-testid="history-entry" role="button" tabindex="0"') as row
            ):
                ui.badge(run.status.value, color=BADGE_COLOURS.get(run.status.value, "grey-8"))
                ui.label(summary(run)).classes("text-xs grow")
                ui.label(f"{run.created_at:%H:%M:%S}").classes("text-xs text-gray-500")
            row.on("click", lambda _, r=run: self.show_result(r, streamed=False))
            row.on("keydown.enter", lambda _, r=run: self.show_result(r, streamed=False))
