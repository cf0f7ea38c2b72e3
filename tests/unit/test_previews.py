"""Preview lifecycle on fakes: who may start and view, and when a preview stops by itself."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import Conflict, NotFound, QuotaExceeded
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.previews import ACCESS_RECHECK, IDLE, LAST_VIEWER_GRACE, Preview, PreviewService, preview_refusal
from domain.runs import Executor
from domain.sandbox import Cancellation, RunLimits, SandboxRequest, SandboxResult
from domain.values import Language, PermissionLevel, Tier
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.builders import share
from tests.unit.fakes import FakeArtifacts, FakeCache, FakeQueue, FakeUnitOfWork, Store


@pytest.fixture
async def owner(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("web@example.com")).id)


@pytest.fixture
async def web(workspaces: WorkspaceService, files: FileService, owner: Actor) -> UUID:
    workspace = await workspaces.create(owner, name="web", language="javascript")
    await files.write(owner, workspace.id, "server.js", b"server")
    await files.write(owner, workspace.id, "app.js", b"client side")
    return workspace.id


async def test_the_server_file_serves_on_a_socket_in_its_own_folder(previews, serving, owner, web) -> None:
    preview = await previews.start(owner, web)
    await asyncio.sleep(0)
    assert preview.path == "server.js" and preview.running
    (request,) = serving.requests
    assert request.serve_folder == preview.folder and preview.folder.startswith("/p/")
    assert request.argv[-1] == "./server.js"
    await previews.stop(owner, web)
    assert previews.current(web) is None


async def test_viewers_need_read_access_and_tokens_end_with_the_preview(previews, accounts, owner, web) -> None:
    await previews.start(owner, web)
    token = await previews.view(owner, web)
    assert previews.resolve(token).workspace_id == web
    stranger = Actor((await accounts.add_local_user("stranger@example.com")).id)
    with pytest.raises(NotFound):
        await previews.view(stranger, web)
    with pytest.raises(NotFound):
        await previews.start(stranger, web)
    await previews.stop(owner, web)
    with pytest.raises(NotFound, match="has ended"):
        previews.resolve(token)


async def test_a_viewer_whose_share_ends_loses_the_preview_within_seconds(
    previews, accounts, store, clock: FrozenClock, owner, web
) -> None:
    guest = Actor((await accounts.add_local_user("guest@example.com")).id)
    share(store, web, owner, guest, PermissionLevel.READ)
    await previews.start(owner, web)
    token, tab = await previews.view(guest, web), await previews.open_tab(guest, web)
    assert (await previews.admit(token)).workspace_id == web
    store.shares.clear()  # revoked
    assert (await previews.admit(token)).workspace_id == web  # trusted for a moment ...
    clock.advance(seconds=ACCESS_RECHECK.total_seconds())
    for revoked in (token, tab):
        with pytest.raises(NotFound, match="no longer have access"):
            await previews.admit(revoked)  # ... then checked again, and gone
        with pytest.raises(NotFound):
            previews.resolve(revoked)
    assert (await previews.admit(await previews.view(owner, web))).workspace_id == web


async def test_it_stops_when_the_last_viewer_has_left(previews, clock: FrozenClock, owner, web) -> None:
    await previews.start(owner, web)
    first, second = await previews.view(owner, web), await previews.view(owner, web)
    previews.leave(first)
    clock.advance(seconds=LAST_VIEWER_GRACE.total_seconds() + 1)
    await previews.expire()
    assert previews.current(web) is not None  # one viewer is still there
    previews.leave(second)
    await previews.expire()
    assert previews.current(web) is not None  # a reload gets a moment to come back
    clock.advance(seconds=LAST_VIEWER_GRACE.total_seconds())
    await previews.expire()
    assert previews.current(web) is None


async def test_it_stops_when_nobody_used_it_for_a_while(previews, clock: FrozenClock, owner, web) -> None:
    await previews.start(owner, web)
    token = await previews.view(owner, web)
    clock.advance(seconds=IDLE.total_seconds() - 1)
    previews.resolve(token)  # a request counts as use
    clock.advance(seconds=IDLE.total_seconds() - 1)
    await previews.expire()
    assert previews.current(web) is not None
    clock.advance(seconds=2)
    await previews.expire()
    assert previews.current(web) is None


async def test_starting_again_replaces_the_running_server(previews, serving, owner, web) -> None:
    first = await previews.start(owner, web)
    second = await previews.start(owner, web)
    await asyncio.sleep(0)
    assert not first.running and second.running and len(serving.requests) == 2
    await previews.stop_all()


async def test_compiled_languages_are_not_served(previews, workspaces, files, owner) -> None:
    workspace = await workspaces.create(owner, name="native", language="cpp")
    await files.write(owner, workspace.id, "main.cpp", b"int main(){}")
    with pytest.raises(Conflict, match="Python or JavaScript"):
        await previews.start(owner, workspace.id)


async def test_a_tab_at_the_workspaces_preview_address_is_one_viewer_per_person(
    previews, accounts, clock: FrozenClock, owner, web
) -> None:
    with pytest.raises(NotFound, match="No preview is running"):
        await previews.open_tab(owner, web)
    await previews.start(owner, web)
    tab = await previews.open_tab(owner, web)
    assert await previews.open_tab(owner, web) == tab and previews.resolve(tab).workspace_id == web
    stranger = Actor((await accounts.add_local_user("tab.stranger@example.com")).id)
    with pytest.raises(NotFound):
        await previews.open_tab(stranger, web)
    page = await previews.view(owner, web)
    previews.leave(page)  # the IDE's viewer left; the tab still looks at it, until it idles out
    clock.advance(seconds=LAST_VIEWER_GRACE.total_seconds() + 1)
    await previews.expire()
    assert previews.current(web) is not None
    clock.advance(seconds=IDLE.total_seconds())
    await previews.expire()
    assert previews.current(web) is None
    with pytest.raises(NotFound, match="has ended"):
        previews.resolve(tab)


async def test_the_entry_point_is_what_a_preview_serves(previews, workspaces, serving, owner, web) -> None:
    await workspaces.update(owner, web, entry="app.js")
    preview = await previews.start(owner, web)
    assert preview.path == "app.js"
    await previews.stop_all()


class CrashingRunner:
    """A server that writes a line, then dies at start with exit code 1."""

    name = "bubblewrap"

    async def execute(self, request: SandboxRequest, *, on_output=None, cancel: Cancellation | None = None):
        assert on_output is not None
        await on_output("stdout", "starting up\n")
        await on_output("stderr", "Error: port is cursed\n")
        return SandboxResult(
            exit_code=1, signal=None, stdout=b"starting up\n", stderr=b"Error: port is cursed\n",
            truncated=False, cpu_ms=1, wall_ms=1, memory_kb=1,
        )  # fmt: skip

    async def version(self, argv: list[str]) -> str:
        return "test"


async def test_the_servers_output_and_end_reach_the_starter_and_viewers_learn_why(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, cache: FakeCache, owner, web
) -> None:
    executor = Executor(runner=CrashingRunner(), cache=cache, artifacts=FakeArtifacts(), queue=FakeQueue())
    previews = PreviewService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, executor=executor, folder="/p")
    heard: list[tuple[str, str]] = []
    ended: list[Preview] = []

    async def output(stream: str, text: str) -> None:
        heard.append((stream, text))

    async def end(preview: Preview) -> None:
        ended.append(preview)

    preview = await previews.start(owner, web, on_output=output, on_end=end)
    await preview.task
    assert heard == [("stdout", "starting up\n"), ("stderr", "Error: port is cursed\n")]
    assert ended == [preview] and not preview.running
    assert preview.why_ended() == "The preview's server (server.js) exited with exit code 1, so nothing listens."
    assert "Error: port is cursed" in preview.last_output()
    token = await previews.view(owner, web)  # a viewer arriving after the crash is told why
    assert previews.resolve(token) is preview
    await previews.stop(owner, web)
    with pytest.raises(NotFound, match="has ended"):
        previews.resolve(token)


async def test_a_stopped_server_tells_its_starter_it_ended(previews, owner, web) -> None:
    ended: list[Preview] = []

    async def end(preview: Preview) -> None:
        ended.append(preview)

    preview = await previews.start(owner, web, on_end=end)
    await asyncio.sleep(0)
    await previews.stop(owner, web)
    assert ended == [preview] and preview.stopped


@pytest.mark.parametrize(
    ("language", "refused"),
    [(Language.PYTHON, False), (Language.JAVASCRIPT, False), (Language.CPP, True), (Language.JAVA, True)],
)
def test_preview_is_offered_only_for_languages_whose_servers_it_can_show(language: Language, refused: bool) -> None:
    refusal = preview_refusal(language)
    assert (refusal is not None) == refused
    if refusal is not None:
        assert "Python or JavaScript" in refusal and {"cpp": "C++", "java": "Java"}[language.value] in refusal


async def test_preview_is_offered_only_where_the_entry_point_reads_port(
    previews, workspaces: WorkspaceService, files: FileService, owner, accounts
) -> None:
    script = await workspaces.create(owner, name="script", language="python")
    await files.write(owner, script.id, "main.py", b"print('hello')\n")
    refusal = await previews.refusal(owner, script.id)
    assert refusal is not None and "main.py does not read the PORT variable" in refusal
    await files.write(owner, script.id, "main.py", b"import os\nserve(int(os.environ['PORT']))\n")
    assert await previews.refusal(owner, script.id) is None

    native = await workspaces.create(owner, name="native", language="cpp")
    assert "C++" in (await previews.refusal(owner, native.id) or "")
    empty = await workspaces.create(owner, name="empty", language="javascript")
    assert "no javascript file to run" in (await previews.refusal(owner, empty.id) or "")
    stranger = Actor((await accounts.add_local_user("peek@example.com")).id)
    with pytest.raises(NotFound):
        await previews.refusal(stranger, script.id)


async def web_workspace(workspaces: WorkspaceService, files: FileService, actor: Actor) -> UUID:
    workspace = await workspaces.create(actor, name="web", language="javascript")
    await files.write(actor, workspace.id, "server.js", b"server")
    return workspace.id


async def test_a_free_plan_runs_two_previews_at_once_and_refuses_the_third(
    previews, workspaces, files, owner, web
) -> None:
    second = await web_workspace(workspaces, files, owner)
    await previews.start(owner, web)
    await previews.start(owner, second)
    await previews.start(owner, second)  # starting one again replaces it: still two
    third = await web_workspace(workspaces, files, owner)
    with pytest.raises(QuotaExceeded) as refused:
        await previews.start(owner, third)
    assert refused.value.message == "You have 2 previews running, the most your plan allows: stop one first."
    await previews.stop(owner, web)
    await previews.start(owner, third)  # a stopped one makes room
    await previews.stop_all()


async def test_wider_plans_and_the_setting_allow_more(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, cache: FakeCache, serving, accounts, workspaces, files
) -> None:
    executor = Executor(runner=serving, cache=cache, artifacts=FakeArtifacts(), queue=FakeQueue())

    def service(**caps: int) -> PreviewService:
        return PreviewService(
            uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, executor=executor, folder="/p", **caps
        )

    rich = Actor((await accounts.add_local_user("rich@example.com", tier=Tier.PREMIUM)).id)
    premium = service()
    for _ in range(5):
        await premium.start(rich, await web_workspace(workspaces, files, rich))
    with pytest.raises(QuotaExceeded, match="You have 5 previews running"):
        await premium.start(rich, await web_workspace(workspaces, files, rich))
    await premium.stop_all()

    free = Actor((await accounts.add_local_user("free@example.com")).id)
    generous = service(per_person=3)  # CODELOFT_PREVIEWS_PER_PERSON: the free plan's cap
    assert generous.cap(Tier.FREE) == 3 and generous.cap(Tier.PREMIUM) == 5
    for _ in range(3):
        await generous.start(free, await web_workspace(workspaces, files, free))
    with pytest.raises(QuotaExceeded, match="You have 3 previews running"):
        await generous.start(free, await web_workspace(workspaces, files, free))
    await generous.stop_all()


async def test_the_server_caps_everybodys_previews_together(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, cache: FakeCache, serving, accounts, workspaces, files
) -> None:
    executor = Executor(runner=serving, cache=cache, artifacts=FakeArtifacts(), queue=FakeQueue())
    previews = PreviewService(
        uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, executor=executor, folder="/p", per_server=3
    )
    ann = Actor((await accounts.add_local_user("ann@example.com")).id)
    bob = Actor((await accounts.add_local_user("bob@example.com")).id)
    for actor in (ann, ann, bob):
        await previews.start(actor, await web_workspace(workspaces, files, actor))
    with pytest.raises(QuotaExceeded, match="This server runs 3 previews, the most it allows at once"):
        await previews.start(bob, await web_workspace(workspaces, files, bob))
    await previews.stop_all()
    await previews.start(bob, await web_workspace(workspaces, files, bob))
    await previews.stop_all()


async def test_a_server_that_died_by_itself_leaves_its_place(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, cache: FakeCache, owner, workspaces, files
) -> None:
    executor = Executor(runner=CrashingRunner(), cache=cache, artifacts=FakeArtifacts(), queue=FakeQueue())
    previews = PreviewService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, executor=executor, folder="/p")
    for _ in range(4):
        preview = await previews.start(owner, await web_workspace(workspaces, files, owner))
        await preview.task
        assert not preview.running


async def test_a_preview_runs_with_its_plans_limits(previews, serving, accounts, workspaces, files, owner, web) -> None:
    await previews.start(owner, web)
    await asyncio.sleep(0)
    free = serving.requests[-1].limits
    assert (free.cpu_seconds, free.wall_seconds, free.memory_mb) == (60, 1800, RunLimits().memory_mb)
    rich = Actor((await accounts.add_local_user("limits.rich@example.com", tier=Tier.ENTERPRISE)).id)
    await previews.start(rich, await web_workspace(workspaces, files, rich))
    await asyncio.sleep(0)
    wide = serving.requests[-1].limits
    assert (wide.cpu_seconds, wide.wall_seconds, wide.memory_mb, wide.processes) == (900, 1800, 2048, 256)
    await previews.stop_all()
