"""NiceGUI's two response middlewares as plain ASGI. NiceGUI writes them with Starlette's
BaseHTTPMiddleware, which runs the rest of the stack as a separate task talking through memory streams:
about 0.4 ms of CPU per request each, on every API call, for a header that only redirects and NiceGUI's own
files get. These do the same to the answer's first message; `install` makes `ui.run` add them instead."""

from __future__ import annotations

import nicegui.ui_run
from nicegui import core
from nicegui.version import __version__
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NICEGUI_FILES = f"/_nicegui/{__version__}/"
DYNAMIC_FILES = f"{NICEGUI_FILES}dynamic_resources/"


class RedirectWithPrefix:
    """A redirect to an absolute path gets the `X-Forwarded-Prefix` a proxy sent (NiceGUI's
    RedirectWithPrefixMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        prefix = Headers(scope=scope).get("x-forwarded-prefix", "")

        async def prefixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location is not None and location.startswith("/"):
                    headers["location"] = prefix + location
            await send(message)

        await self.app(scope, receive, prefixed)


class CacheNiceGuiFiles:
    """NiceGUI's versioned files (not its dynamic resources) get its Cache-Control (NiceGUI's
    SetCacheControlMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(NICEGUI_FILES) or path.startswith(DYNAMIC_FILES):
            await self.app(scope, receive, send)
            return

        async def cached(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["cache-control"] = core.app.config.cache_control_directives
            await send(message)

        await self.app(scope, receive, cached)


def install() -> None:
    """Have `ui.run` add these instead of NiceGUI's own (it looks the two names up in its module when it
    runs)."""
    for name, replacement in (
        ("RedirectWithPrefixMiddleware", RedirectWithPrefix),
        ("SetCacheControlMiddleware", CacheNiceGuiFiles),
    ):
        assert hasattr(nicegui.ui_run, name), f"NiceGUI's ui.run no longer adds {name}: look again"
        setattr(nicegui.ui_run, name, replacement)
