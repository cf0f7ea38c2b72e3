"""The composition root: builds adapters from settings, wires the services, serves the web app.

The only module in `ui` that imports adapters."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sys
import tempfile
from typing import Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy.engine import URL

from ai.gemini_chat import GeminiChat
from ai.key_check import ProviderKeyChecker
from ai.openai_chat import OpenAIChat
from domain import cache_keys
from domain.accounts import AccountService
from domain.ai_keys import AIKeyService
from domain.assistant import AssistantService, ChatBackend
from domain.auth import AuthService
from domain.clock import utc_now
from domain.errors import CodeloftError, InvalidInput, Unavailable
from domain.explore import ExploreService
from domain.extension_bundles import BundleService, seed_marketplace
from domain.extension_commands import ExtensionCommandService
from domain.extensions import ExtensionService
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.identities import IdentityService
from domain.plans import configure_plans
from domain.ports import Cache
from domain.previews import PreviewService
from domain.public_links import PublicLinkService
from domain.quotas import QuotaService
from domain.runs import Executor, RunService
from domain.sandbox import Runner
from domain.sharing import SharingService
from domain.terminals import TerminalService
from domain.workspaces import WorkspaceService
from persistence import database
from persistence.cache import MemoryCache, RedisCache
from persistence.migrate import HEAD, current_revision, upgrade
from persistence.secrets import KEY_FILE_NAME, FernetSecretBox, load_or_create_key_file
from persistence.shipped_extensions import shipped_packages
from persistence.template_source import FolderTemplateSource
from persistence.unit_of_work import SqlUnitOfWorkFactory
from runners.artifacts import DiskArtifactStore
from runners.bubblewrap import BubblewrapRunner
from runners.queue import InProcessQueue
from runners.remote import RemoteRunner
from runners.select import choose_runner
from runners.worker import build_worker
from ui import heap, log_format
from ui.context import Services
from ui.drain import DRAIN
from ui.metrics import CountingCache, Metrics
from ui.metrics import install as install_metrics
from ui.security import derive_key
from ui.settings import Settings

TEMPLATES = FolderTemplateSource()


def database_url(settings: Settings) -> URL:
    return database.parse_database_url(settings.database)


def secret_box(settings: Settings) -> FernetSecretBox:
    keys = settings.key_list() or load_or_create_key_file(settings.data_dir)
    return FernetSecretBox(keys)


def make_cache(settings: Settings) -> Cache:
    if not settings.redis_url:
        return MemoryCache()
    return RedisCache(settings.redis_url, copied=cache_keys.READ_ON_EVERY_REQUEST)


def preview_folder() -> str:
    """Where previews' sockets live: a path every sandbox uid can traverse (its own folder in it is
    private to it), outside DATA_DIR, which is private to the server's user."""
    if os.geteuid() == 0:
        return "/run/codeloft/previews"
    return f"{tempfile.gettempdir()}/codeloft-previews-{os.getuid()}"


def shared_preview_folder() -> str:
    """`preview_folder()`, made traversable (not listable) by every sandbox uid even under the private
    umask the server runs with."""
    folder = preview_folder()
    os.makedirs(folder, exist_ok=True)
    for path in (os.path.dirname(folder), folder) if os.geteuid() == 0 else (folder,):
        os.chmod(path, 0o711)  # noqa: S103 -- sandbox uids must reach their own (private) folder in it
    return folder


def local_sandbox(settings: Settings, *, multi_user: bool) -> Runner:
    """This machine's sandbox, as CODELOFT_RUNNER says."""
    return choose_runner(
        settings.runner,
        multi_user=multi_user,
        docker_url=settings.docker_url,
        docker_images=settings.docker_images,
        limits=settings.run_defaults,
    )


def sandbox_for(settings: Settings, *, multi_user: bool) -> Runner:
    """Where the web app's runs execute: with CODELOFT_REDIS_URL, on `codeloft worker` processes
    through the Redis queue (this process runs no code); without it, in this machine's sandbox."""
    if settings.redis_url:
        return RemoteRunner(settings.redis_url)
    return local_sandbox(settings, multi_user=multi_user)


def executor(settings: Settings, cache: Cache, runner: Runner | None = None) -> Executor:
    sandbox = runner or sandbox_for(settings, multi_user=False)
    # Runs on remote workers wait in the Redis queue; only local runs need this process's worker pool.
    workers = 256 if isinstance(sandbox, RemoteRunner) else None
    return Executor(
        runner=sandbox,
        cache=cache,
        artifacts=DiskArtifactStore(settings.data_dir / "artifacts"),
        queue=InProcessQueue(workers),
    )


def preview_executor(settings: Settings, cache: Cache, run_executor: Executor) -> Executor:
    """Where previews and terminals run. A preview serves on a Unix socket that this process proxies to and
    a terminal is attached to one of this process's pages, so with runs going to workers through Redis they
    still run here, in this machine's bubblewrap (no sandboxes kept ready for them): every instance serves
    its own visitors' previews and terminals. A web machine without bubblewrap refuses them, saying why."""
    if not isinstance(run_executor.runner, RemoteRunner) or not BubblewrapRunner.usable():
        return run_executor
    return Executor(
        runner=BubblewrapRunner(warm=0),
        cache=cache,
        artifacts=DiskArtifactStore(settings.data_dir / "artifacts"),
        queue=InProcessQueue(),
    )


def standalone_executor(settings: Settings) -> Executor:
    """For `codeloft run`: this machine's sandbox with a compile cache of this process only."""
    return executor(settings, MemoryCache(), local_sandbox(settings, multi_user=False))


async def queue_health(run_executor: Executor) -> dict[str, str]:
    """Where runs wait, and how many wait now: Redis (for `codeloft worker`s) or this process."""
    runner, queue = run_executor.runner, run_executor.queue
    if isinstance(runner, RemoteRunner):
        try:
            return {"queue": f"redis: ok, {await runner.waiting()} waiting"}
        except Unavailable as error:
            return {"queue": f"unavailable: {error.message}"}
    waiting = queue.waiting if isinstance(queue, InProcessQueue) else 0
    return {"queue": f"in-process: ok, {waiting} waiting"}


def measure(metrics: Metrics, run_executor: Executor) -> None:
    """The instance's gauges that are read at each scrape: the run queue and the warm sandbox pool."""
    queue, runner = run_executor.queue, run_executor.runner
    if isinstance(queue, InProcessQueue):
        metrics.watch(metrics.queue_depth, lambda: queue.waiting)
    if isinstance(runner, BubblewrapRunner):
        metrics.watch(metrics.warm_pool, lambda: runner.warm)


async def build_services(
    settings: Settings, *, runner: Runner | None = None, metrics: Metrics | None = None
) -> Services:
    """Adapters and services for one event loop (the server's, or a CLI command's); `metrics`: the
    server's, fed by its cache, runs and queue."""
    url = database_url(settings)
    engine = database.create_engine(url)
    store = make_cache(settings)
    cache: Cache = store if metrics is None else CountingCache(store, metrics)
    box = secret_box(settings)
    uow = SqlUnitOfWorkFactory(engine)

    async def health() -> dict[str, Any]:
        report: dict[str, Any] = {"status": "ok", "database": "ok", "cache": "ok"}
        try:
            await database.ping(engine)
        except Unavailable as error:
            report.update(status="unavailable", database=error.message)
        try:
            await cache.ping()
            report["cache"] = "redis: ok" if isinstance(store, RedisCache) else "in-process: ok"
        except Unavailable as error:
            report.update(status="unavailable", cache=error.message)
        report.update(await queue_health(run_executor))
        if report["queue"].startswith("unavailable"):
            report["status"] = "unavailable"
        report["sandbox"] = run_executor.runner.name
        return report

    async def close() -> None:
        for adapter in chat_adapters:
            await adapter.close()
        await terminals.close_all()
        await previews.stop_all()
        await run_executor.runner.close()
        if serving is not run_executor:
            await serving.runner.close()
        if isinstance(store, RedisCache):
            await store.close()
        await engine.dispose()

    configure_plans(settings.plan_table)
    gate = WorkspaceGate(cache=cache, clock=utc_now)
    files = FileService(uow=uow, cache=cache, clock=utc_now, gate=gate, offload=asyncio.to_thread)
    run_executor = executor(settings, cache, runner)
    extensions = ExtensionService(uow=uow, clock=utc_now, cache=cache, moderators=settings.moderators)
    runs = RunService(
        uow=uow,
        clock=utc_now,
        gate=gate,
        executor=run_executor,
        defaults=settings.run_defaults,
        on_finished=None if metrics is None else metrics.run_finished,
        contributions=extensions.contributions,  # files of the person's extensions' languages run too
    )
    if metrics is not None:
        measure(metrics, run_executor)
    serving = preview_executor(settings, cache, run_executor)
    previews = PreviewService(
        uow=uow,
        clock=utc_now,
        gate=gate,
        executor=serving,
        folder=shared_preview_folder(),
        per_person=settings.previews_per_person,
        per_server=settings.previews_per_server,
        run_defaults=settings.run_defaults,
    )
    terminals = TerminalService(
        uow=uow, clock=utc_now, gate=gate, files=files, runs=runs,
        shells=None if serving is run_executor else serving.runner,  # with workers: this instance's bubblewrap
    )  # fmt: skip
    auth = AuthService(uow=uow, clock=utc_now, cache=cache, policy=settings.session_policy)
    ai_keys = AIKeyService(uow=uow, cache=cache, clock=utc_now, box=box, checker=key_checker(settings))
    quotas = QuotaService(uow=uow, cache=cache, clock=utc_now)
    backends = chat_backends(settings)
    chat_adapters = [backend.provider for backend in backends if isinstance(backend.provider, OpenAIChat | GeminiChat)]
    assistant = AssistantService(
        uow=uow, cache=cache, clock=utc_now, gate=gate, keys=ai_keys, quotas=quotas, backends=backends,
        on_answer=None if metrics is None else metrics.answer_finished,
    )  # fmt: skip
    return Services(
        settings=settings,
        clock=utc_now,
        auth=auth,
        identities=IdentityService(uow=uow, clock=utc_now, auth=auth, cache=cache),
        accounts=AccountService(uow=uow, cache=cache, clock=utc_now),
        ai_keys=ai_keys,
        assistant=assistant,
        workspaces=WorkspaceService(
            uow=uow, clock=utc_now, gate=gate, templates=TEMPLATES, files=files, contributions=extensions.contributions
        ),
        explore=ExploreService(uow=uow, clock=utc_now, gate=gate),
        files=files,
        runs=runs,
        previews=previews,
        terminals=terminals,
        quotas=quotas,
        public_links=PublicLinkService(uow=uow, cache=cache, clock=utc_now, gate=gate, offload=asyncio.to_thread),
        sharing=SharingService(uow=uow, clock=utc_now, gate=gate),
        extensions=extensions,
        bundles=BundleService(uow=uow, extensions=extensions),
        extension_commands=ExtensionCommandService(runs=runs, files=files),
        csrf_key=derive_key(box.primary_key, "csrf"),
        health=health,
        close=close,
    )


def chat_backends(settings: Settings) -> list[ChatBackend]:
    """The assistant's providers, as CODELOFT_AI_MODELS and each provider's address and key say; the first is the
    default."""
    backends = []
    for name, models in settings.chat_models.items():
        provider: OpenAIChat | GeminiChat
        if name == "openai":
            provider = OpenAIChat(base_url=settings.openai_base_url, api_key=settings.openai_api_key)
            shared, own_keys = settings.openai_api_key is not None, True
        elif name == "gemini":
            provider = GeminiChat(base_url=settings.gemini_base_url, api_key=settings.gemini_api_key)
            shared, own_keys = settings.gemini_api_key is not None, True
        else:
            assert settings.compatible_base_url is not None
            title = "The OpenAI-compatible server"
            provider = OpenAIChat(
                base_url=settings.compatible_base_url, api_key=settings.compatible_api_key, title=title
            )
            shared, own_keys = True, False
        backends.append(
            ChatBackend(
                name=name,
                title=provider.title,
                models=tuple(models),
                provider=provider,
                shared=shared,
                own_keys=own_keys,
                context_tokens=settings.ai_context_tokens,
            )
        )
    return backends


def key_checker(settings: Settings) -> ProviderKeyChecker:
    """Asks OpenAI and Gemini (at CODELOFT_OPENAI_BASE_URL, CODELOFT_GEMINI_BASE_URL) whether they take a key."""
    return ProviderKeyChecker(openai_base_url=settings.openai_base_url, gemini_base_url=settings.gemini_base_url)


async def _rotate_secrets(settings: Settings) -> int:
    services = await build_services(settings)
    try:
        return await services.ai_keys.rotate_all()
    finally:
        await services.close()


def rotate_secrets(settings: Settings) -> int:
    """`codeloft secrets rotate`: re-encrypt every stored secret (people's AI keys) under the first key of
    CODELOFT_SECRET_KEYS, all or none; how many were re-encrypted."""
    prepare(settings)
    return asyncio.run(_rotate_secrets(settings))


async def check_services(settings: Settings) -> str | None:
    """Fail early, with one clear line, when the database or Redis cannot be reached; the database's
    migration revision."""
    engine = database.create_engine(database_url(settings))
    try:
        await database.ping(engine)
        revision = await current_revision(engine)
    finally:
        await engine.dispose()
    await check_redis(settings)
    return revision


def private_data_dir(settings: Settings) -> None:
    """Create the data directory private to this user (0700, its files 0600) and take away the access
    others had to an existing one, saying so in one line."""
    url = database_url(settings)
    own = [settings.data_dir / name for name in (KEY_FILE_NAME, "artifacts")]
    changed = database.make_private(settings.data_dir, [*database.sqlite_files(url), *own])
    if changed:
        names = ", ".join(path.name for path in changed)
        print(
            f"Made the data directory {settings.data_dir} private to this user: took access by others away "
            f"from {names}.",
            file=sys.stderr,
            flush=True,
        )


def prepare(settings: Settings) -> None:
    """Create the data directory, check the services and apply migrations (blocking)."""
    private_data_dir(settings)
    secret_box(settings)
    if asyncio.run(check_services(settings)) == HEAD:
        return
    try:
        upgrade(database_url(settings))
    except database.CONNECTION_ERRORS as error:
        raise database.unavailable(database_url(settings), error) from None


def ensure_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise Unavailable(
                    f"Port {port} on {host} is already in use: stop the program using it or set CODELOFT_PORT."
                ) from None
            raise InvalidInput(f"Cannot listen on {host}:{port} ({error.strerror}): check CODELOFT_HOST.") from None


def sign_in_url(settings: Settings, secret: str) -> str:
    return f"{settings.base_url}/login/token/{secret}"


async def seed_shipped_extensions(services: Services) -> None:
    """Publish the extensions shipped in `extensions/` as official ones (approved, verified) and seed the
    official bundles: at every start, one read per extension when all are in place already."""
    for problem in await seed_marketplace(services.extensions, services.bundles, shipped_packages()):
        print(f"A shipped extension was not published: {problem}", file=sys.stderr, flush=True)


async def owner_sign_in_link(settings: Settings) -> tuple[str, int]:
    """A fresh sign-in link for the local owner, and how many accounts there are; the shipped extensions
    seeded on the way."""
    services = await build_services(settings)
    try:
        owner = await services.accounts.ensure_local_owner()
        await seed_shipped_extensions(services)
        link = sign_in_url(settings, await services.auth.issue_sign_in_link(owner.id))
        return link, await services.accounts.count()
    finally:
        await services.close()


def serve(settings: Settings) -> None:
    """`codeloft serve`: prepare, print the sign-in link, run the web app until interrupted."""
    # NiceGUI's own storage (each person's workbench per workspace) lives in the data directory, not in
    # whatever directory the server was started from. Read when nicegui is first imported: just below.
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str(settings.data_dir / "nicegui"))
    logs = log_format.configure(settings.log_format, instance=settings.instance_name, secrets=settings.secret_values())
    if settings.redis_url:  # several instances: a person's state must not live in one of them only
        asyncio.run(check_redis(settings))  # one clear line when it is down, before NiceGUI's storage reaches for it
        os.environ.setdefault("NICEGUI_REDIS_URL", settings.redis_url)
    from nicegui import Client, app, core, ui
    from nicegui.server import Server

    from ui import context, oauth, stylesheet
    from ui.api import docs, install_routes, openapi
    from ui.body_limits import BodyLimits, BodyTooLarge, body_too_large_handler
    from ui.errors import api_error_handler, malformed_body_handler, validation_error_handler
    from ui.instance import InstanceHeader
    from ui.nicegui_middlewares import install as plain_asgi_nicegui_middlewares
    from ui.pages import account, dashboard, explore, extensions, login, public, workspace
    from ui.pages.not_found import not_found_handler
    from ui.security import GzipExceptPreviews, SecurityHeaders, SessionRenewal

    del account, dashboard, explore, extensions, login, workspace  # imported for their @ui.page registrations
    ensure_port_free(settings.host, settings.port)
    prepare(settings)
    log_format.mask(logs, settings.key_list() or load_or_create_key_file(settings.data_dir))  # DATA_DIR's key too
    link, accounts = asyncio.run(owner_sign_in_link(settings))  # printed below for the operator, never logged
    runner = sandbox_for(settings, multi_user=accounts > 1)

    stylesheet.install()
    app.add_middleware(SessionRenewal, secure=settings.secure_cookies)  # a renewed session token's cookie
    app.add_middleware(BodyLimits)  # inside SecurityHeaders, so its refusals carry the headers too
    app.add_middleware(SecurityHeaders)
    if settings.instance_name:
        app.add_middleware(InstanceHeader, name=settings.instance_name)
    metrics = Metrics()
    install_metrics(app, metrics, allow=settings.metrics_allow, token=settings.metrics_token)
    app.add_middleware(log_format.RequestIds, access_log=settings.log_format == "json")  # outermost
    log_format.trace_page_events(core.sio)
    metrics.watch(metrics.pages, lambda: len(Client.instances))
    metrics.watch(metrics.frozen_objects, heap.frozen_objects)
    metrics.watch(metrics.websockets, lambda: sum(c.has_socket_connection for c in Client.instances.values()))
    install_routes(app)
    app.include_router(public.router)  # /s/<token>: public links, plain HTML without any script
    oauth.install(app, settings, key=derive_key(secret_box(settings).primary_key, "oauth flow"))
    openapi.install(app, templates=TEMPLATES.catalog())
    if settings.public_docs:
        docs.install(app)
    app.add_exception_handler(CodeloftError, api_error_handler)
    app.add_exception_handler(BodyTooLarge, body_too_large_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(400, malformed_body_handler)  # FastAPI's "error parsing the body"
    app.add_exception_handler(404, not_found_handler)  # instead of NiceGUI's generic "HTTPException: 404"

    async def start() -> None:
        services = await build_services(settings, runner=runner, metrics=metrics)
        context.install(services)
        DRAIN.install(services.runs, grace=settings.shutdown_grace, stop=stop_serving)
        app.timer(30, services.previews.expire)
        heap.settle()
        print(f"Codeloft is running at {settings.base_url} (sandbox: {runner.name})", flush=True)
        print(f"Open this one-time sign-in link (valid 24 hours):\n    {link}", flush=True)

    async def stop() -> None:
        await context.services().close()
        context.install(None)

    def stop_serving() -> None:
        Server.instance.should_exit = True  # as after Ctrl+C, but exiting with status 0

    app.on_startup(start)
    app.on_shutdown(stop)
    plain_asgi_nicegui_middlewares()
    ui.run(
        host=settings.host,
        port=settings.port,
        title="Codeloft",
        language="en-US",  # also <html lang>, which screen readers need
        reload=False,
        show=False,
        gzip_middleware_factory=GzipExceptPreviews,  # type: ignore[arg-type]  # any ASGI app will do
        show_welcome_message=False,
        tailwind=False,  # its CSS is made ahead of time: ui/stylesheet.py
        uvicorn_logging_level="warning",
        log_config=None,  # uvicorn's lines go through the root handler (log_format.configure), redacted
    )


def run_worker(settings: Settings, *, jobs: int | None = None) -> None:
    """`codeloft worker`: execute queued runs in this machine's sandbox until interrupted."""
    if not settings.redis_url:
        raise InvalidInput("codeloft worker takes runs from Redis: set CODELOFT_REDIS_URL (the web app's too).")
    log_format.configure(settings.log_format, instance=settings.instance_name, secrets=settings.secret_values())
    asyncio.run(check_redis(settings))
    runner = local_sandbox(settings, multi_user=True)
    workers = jobs or os.cpu_count() or 1
    print(
        f"Codeloft worker: {workers} runs at once in the {runner.name} sandbox, queue {settings.redis_url}", flush=True
    )
    heap.settle()
    build_worker(settings.redis_url, runner, jobs=workers, grace=settings.shutdown_grace).run()


async def check_redis(settings: Settings) -> None:
    cache = make_cache(settings)
    try:
        await cache.ping()
    finally:
        if isinstance(cache, RedisCache):
            await cache.close()
