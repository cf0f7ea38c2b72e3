"""Web previews: a workspace's web server (the express and react templates) runs in the sandbox,
listening on a Unix socket instead of a port, while people who may read the workspace look at it.
It stops on Stop, when its last viewer leaves, after an idle time, or at its wall limit."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.access import Action, Actor
from domain.entities import FOLDER_MIME, Workspace
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, QuotaExceeded
from domain.files import file_bytes
from domain.gate import WorkspaceGate
from domain.plans import DEFAULT_PLANS, plan_for
from domain.ports import Clock, UnitOfWorkFactory
from domain.runs import Executor, Outcome, default_entry
from domain.sandbox import SERVE_SOCKET, Cancellation, OutputSink, RunLimits
from domain.toolchains import TOOLCHAINS, Toolchain, toolchain_for
from domain.values import Language, Reason, RunStatus, Tier
from domain.workspaces import run_entry

PREVIEW_WALL_SECONDS = 1800
"""A preview lives at most half an hour, whatever the plan."""
PREVIEWS_PER_SERVER = 20
"""Previews running at once on one server, everybody's together (CODELOFT_PREVIEWS_PER_SERVER)."""
OUTPUT_KEPT = 64 * 1024
"""Characters of the server's latest output kept, to explain a server that died."""
IDLE = timedelta(minutes=10)
LAST_VIEWER_GRACE = timedelta(seconds=30)
ACCESS_RECHECK = timedelta(seconds=2)
"""How long a viewer's token is trusted before their access to the workspace is checked again: a share
revoked or lowered ends their view of the preview within this."""
NO_LONGER_YOURS = "You no longer have access to this workspace, so not to its preview either."
SERVING_RUNNERS = ("bubblewrap", "local")
SERVER_NAMES = ("server.js", "app.js", "index.js", "main.py", "app.py")


def preview_limits(ceiling: RunLimits, tier: Tier) -> RunLimits:
    """A preview's limits on a plan: the plan's run ceiling (memory, processes, output, files), the
    plan's preview CPU time, and half an hour of wall time at most."""
    cpu = max(ceiling.cpu_seconds, plan_for(tier).preview_cpu_seconds)
    return ceiling.with_changes(cpu_seconds=cpu, wall_seconds=PREVIEW_WALL_SECONDS)


@dataclass(eq=False)
class Preview:
    workspace_id: UUID
    path: str
    folder: str
    started_at: datetime
    last_seen: datetime
    started_by: UUID | None = None
    """Whose previews it counts among (the person who started it)."""
    limits: RunLimits = field(default_factory=RunLimits)
    cancel: Cancellation = field(default_factory=Cancellation)
    tokens: set[str] = field(default_factory=set)
    tab_tokens: dict[UUID, str] = field(default_factory=dict)
    """One token per person who opened the preview at its own address (a browser tab)."""
    alone_since: datetime | None = None
    output: list[tuple[str, str]] = field(default_factory=list)
    """The server's latest output as (stream, text), at most OUTPUT_KEPT characters."""
    outcome: Outcome | None = None
    task: Any = None
    on_output: OutputSink | None = None
    on_end: Callable[[Preview], Awaitable[None]] | None = None

    @property
    def socket(self) -> str:
        return f"{self.folder}/{SERVE_SOCKET}"

    @property
    def running(self) -> bool:
        return self.outcome is None

    @property
    def stopped(self) -> bool:
        """Ended because somebody (or an expiry) stopped it, not by itself."""
        return self.cancel.requested

    def why_ended(self) -> str:
        """One line saying why the server does not listen any more (for a server that died)."""
        outcome = self.outcome
        if outcome is None:
            return f"The preview's server ({self.path}) is running."
        if outcome.exit_code is not None:
            how = f"exited with exit code {outcome.exit_code}"
        elif outcome.reason.value in ("time_limit", "wall_time_limit", "memory_limit", "output_limit"):
            how = f"exited: it reached its {outcome.reason.value.replace('_', ' ')}"
        elif outcome.signal is not None:
            how = f"exited: killed by signal {outcome.signal}"
        else:
            how = "exited: it could not be started"
        return f"The preview's server ({self.path}) {how}, so nothing listens."

    def last_output(self, limit: int = 4000) -> str:
        """The end of what the server wrote (both streams, in order)."""
        return "".join(text for _, text in self.output)[-limit:]

    async def _collect(self, stream: str, text: str) -> None:
        self.output.append((stream, text))
        kept = sum(len(part) for _, part in self.output)
        while kept > OUTPUT_KEPT and len(self.output) > 1:
            kept -= len(self.output.pop(0)[1])
        if self.on_output is not None:
            await self.on_output(stream, text)


def preview_refusal(language: Language) -> str | None:
    """Why Preview cannot work in a workspace of this language (None: it can, given a web server
    that listens on PORT)."""
    if toolchain_of(language).compile is not None:
        return (
            f"Preview runs web servers written in Python or JavaScript: a {LANGUAGE_NAMES[language]} "
            "workspace has none to show."
        )
    return None


LANGUAGE_NAMES = {
    Language.PYTHON: "Python",
    Language.JAVASCRIPT: "JavaScript",
    Language.CPP: "C++",
    Language.JAVA: "Java",
}


PORT_VARIABLE = re.compile(r"\bPORT\b")


def not_a_server(path: str, source: str) -> str | None:
    """Why the program at `path` cannot be previewed (None: it reads the PORT variable, as a web
    server that Codeloft can show must: that is the address it is given to listen on)."""
    if PORT_VARIABLE.search(source):
        return None
    return (
        f"{path} does not read the PORT variable, so it serves nothing to preview: a web server listens on "
        "the address in PORT (process.env.PORT in Node.js, os.environ['PORT'] in Python)."
    )


def toolchain_of(language: Language) -> Toolchain:
    return next(t for t in TOOLCHAINS if t.language is language)


def server_entry(workspace: Workspace, paths: list[str]) -> str:
    """The file a preview serves: the entry point from the settings, else a server file by its name."""
    entry = run_entry(workspace)
    if entry is not None:
        return entry
    for name in SERVER_NAMES:
        if name in paths:
            return name
    return default_entry(paths, workspace.language)


class PreviewService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        gate: WorkspaceGate,
        executor: Executor,
        folder: str,
        per_person: int = DEFAULT_PLANS[Tier.FREE].previews,
        per_server: int = PREVIEWS_PER_SERVER,
        run_defaults: RunLimits | None = None,
    ) -> None:
        self._uow = uow
        self.per_person = per_person
        """The free plan's cap on one person's previews at once; every plan allows at least this."""
        self.per_server = per_server
        self._run_defaults = run_defaults or RunLimits()
        self._clock = clock
        self._gate = gate
        self._executor = executor
        self._folder = folder
        self._previews: dict[UUID, Preview] = {}
        self._by_token: dict[str, Preview] = {}
        self._holders: dict[str, tuple[Actor, datetime]] = {}
        """Whose each token is, and when their access was last checked."""

    async def start(
        self,
        actor: Actor,
        workspace_id: UUID,
        *,
        path: str | None = None,
        on_output: OutputSink | None = None,
        on_end: Callable[[Preview], Awaitable[None]] | None = None,
    ) -> Preview:
        """Start (or restart) the workspace's web server; its `PORT` is a Unix socket path. Its output
        goes to `on_output` as it comes; `on_end` hears when it ended (by itself or stopped)."""
        user_id = actor.require_user()
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.RUN, workspace_id)
            stored = [f for f in await uow.files.list(workspace_id) if f.mime_type != FOLDER_MIME]
            starter = await uow.users.get(user_id)
            owner = starter if workspace.owner_id == user_id else await uow.users.get(workspace.owner_id)
        files = {f.path: file_bytes(f) for f in stored}
        main = path or server_entry(workspace, sorted(files))
        if main not in files:
            raise NotFound(f"There is no file {main} to serve.")
        toolchain = toolchain_for(main)
        refusal = preview_refusal(toolchain.language)
        if refusal is not None:
            raise Conflict(refusal)  # the request is fine; what the workspace holds cannot serve
        if self._executor.runner.name not in SERVING_RUNNERS:
            raise Conflict(
                "Previews need the bubblewrap sandbox on this machine; "
                f"this server runs code with {self._executor.runner.name}."
            )
        owner_tier = owner.subscription_tier if owner else Tier.FREE
        limits = preview_limits(plan_for(owner_tier).run_ceiling.widest(self._run_defaults), owner_tier)
        while workspace_id in self._previews:  # a restart replaces the running one (and frees its place)
            await self._stop(workspace_id)
        # No await from the count to the registration: two starts at once cannot both take the last place.
        self._check_room(user_id, starter.subscription_tier if starter else Tier.FREE)
        now = self._clock()
        preview = Preview(
            workspace_id=workspace_id,
            path=main,
            folder=f"{self._folder}/{secrets.token_hex(16)}",
            started_at=now,
            last_seen=now,
            started_by=user_id,
            limits=limits,
            on_output=on_output,
            on_end=on_end,
        )
        self._previews[workspace_id] = preview

        async def serve() -> None:
            try:
                preview.outcome = await self._executor.execute(
                    toolchain, files, main, limits=limits, stdin="", build=None,
                    on_output=preview._collect, cancel=preview.cancel, serve_folder=preview.folder, queued=False,
                )  # fmt: skip
            finally:
                if preview.outcome is None:  # the sandbox itself broke: nothing serves
                    preview.outcome = Outcome(status=RunStatus.ERROR, reason=Reason.INTERNAL_ERROR)
                if preview.stopped:
                    self._forget(preview)
                # A server that died by itself stays, so its viewers learn why nothing answers.
                if preview.on_end is not None:
                    await preview.on_end(preview)

        preview.task = asyncio.get_running_loop().create_task(serve())
        return preview

    def cap(self, tier: Tier) -> int:
        """How many previews one person on this plan may have running at once."""
        return max(plan_for(tier).previews, self.per_person)

    def _check_room(self, user_id: UUID, tier: Tier) -> None:
        running = [p for p in self._previews.values() if p.running]
        cap = self.cap(tier)
        if sum(1 for p in running if p.started_by == user_id) >= cap:
            raise QuotaExceeded(
                f"You have {cap} preview{'s' if cap != 1 else ''} running, the most your plan allows: stop one first."
            )
        if len(running) >= self.per_server:
            raise QuotaExceeded(
                f"This server runs {self.per_server} previews, the most it allows at once: try again later."
            )

    async def refusal(self, actor: Actor, workspace_id: UUID) -> str | None:
        """Why Preview cannot work in this workspace now (None: its entry point serves HTTP)."""
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            refusal = preview_refusal(workspace.language)
            if refusal is not None:
                return refusal
            paths = sorted(await uow.files.file_paths(workspace_id))
            try:
                main = server_entry(workspace, paths)
                refusal = preview_refusal(toolchain_for(main).language)
            except (Conflict, InvalidInput) as nothing_to_run:
                return nothing_to_run.message
            stored = await uow.files.get(workspace_id, main)
        if stored is None:
            return f"There is no file {main} to serve."
        return refusal or not_a_server(main, file_bytes(stored).decode("utf-8", "replace"))

    async def stop(self, actor: Actor, workspace_id: UUID) -> None:
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.RUN, workspace_id)
        await self._stop(workspace_id)

    def current(self, workspace_id: UUID) -> Preview | None:
        preview = self._previews.get(workspace_id)
        return preview if preview is not None and preview.running else None

    def _latest(self, workspace_id: UUID) -> Preview | None:
        """The running preview, or the one whose server died by itself (it explains why)."""
        return self._previews.get(workspace_id)

    async def view(self, actor: Actor, workspace_id: UUID) -> str:
        """A token for one viewer's page: the preview's address carries it instead of a cookie, and it
        ends when that page closes (`leave`)."""
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
        preview = self._latest(workspace_id)
        if preview is None:
            raise NotFound("No preview is running for this workspace: press Preview to start one.")
        return self._issue(preview, actor)

    async def open_tab(self, actor: Actor, workspace_id: UUID) -> str:
        """The token behind the preview's own address (`/w/<id>/preview/`), one per person: a tab
        cannot say when it closes, so it counts as a viewer until the preview idles out."""
        user_id = actor.require_user()
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
        preview = self._latest(workspace_id)
        if preview is None:
            raise NotFound("No preview is running for this workspace: press Preview in the workspace to start one.")
        token = preview.tab_tokens.get(user_id)
        if token is None:
            token = preview.tab_tokens[user_id] = self._issue(preview, actor)
        return token

    def _issue(self, preview: Preview, actor: Actor) -> str:
        token = secrets.token_urlsafe(24)
        preview.tokens.add(token)
        preview.alone_since = None
        self._by_token[token] = preview
        self._holders[token] = (actor, self._clock())
        return token

    def leave(self, token: str) -> None:
        preview = self._by_token.pop(token, None)
        self._holders.pop(token, None)
        if preview is not None:
            preview.tokens.discard(token)
            for user_id, tab in list(preview.tab_tokens.items()):
                if tab == token:
                    del preview.tab_tokens[user_id]
            if not preview.tokens:
                preview.alone_since = self._clock()

    async def admit(self, token: str) -> Preview:
        """`resolve`, for a request through the preview's proxy: the token's holder must still have access
        to the workspace (checked again every `ACCESS_RECHECK`); a holder who lost it loses the token."""
        preview = self.resolve(token)
        actor, checked = self._holders[token]
        now = self._clock()
        if now - checked >= ACCESS_RECHECK:
            async with self._uow() as uow:
                try:
                    await self._gate.require(uow, actor, Action.VIEW, preview.workspace_id)
                except (NotFound, PermissionDenied):
                    self.leave(token)
                    raise NotFound(NO_LONGER_YOURS) from None
            self._holders[token] = (actor, now)
        return preview

    def resolve(self, token: str) -> Preview:
        """The preview a viewer's token opens: running, or with a server that died by itself (which
        says why); every use counts as activity."""
        preview = self._by_token.get(token)
        if preview is None or preview.stopped:
            raise NotFound("This preview has ended: start it again from the workspace.")
        preview.last_seen = self._clock()
        return preview

    async def expire(self) -> None:
        """Stop previews nobody looks at any more, or nobody used for a while."""
        now = self._clock()
        for preview in list(self._previews.values()):
            idle = now - preview.last_seen >= IDLE
            abandoned = preview.alone_since is not None and now - preview.alone_since >= LAST_VIEWER_GRACE
            if idle or abandoned:
                await self._stop(preview.workspace_id)

    async def stop_all(self) -> None:
        """Stop every preview at once (on shutdown): each ends as soon as its sandbox is killed."""
        await asyncio.gather(*(self._stop(workspace_id) for workspace_id in list(self._previews)))

    async def _stop(self, workspace_id: UUID) -> None:
        preview = self._previews.get(workspace_id)
        if preview is None:
            return
        preview.cancel.cancel()
        if preview.task is not None:
            with contextlib.suppress(Exception):
                await preview.task
        self._forget(preview)

    def _forget(self, preview: Preview) -> None:
        if self._previews.get(preview.workspace_id) is preview:
            del self._previews[preview.workspace_id]
        for token in preview.tokens:
            self._by_token.pop(token, None)
            self._holders.pop(token, None)
        preview.tokens.clear()
        preview.tab_tokens.clear()
