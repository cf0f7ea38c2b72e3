"""Which instance answered: with several instances behind a load balancer, every answer names the one
that made it (`X-Codeloft-Instance`, from `CODELOFT_INSTANCE_NAME`), so an operator can tell them apart."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Codeloft-Instance"


class InstanceHeader:
    def __init__(self, app: ASGIApp, *, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = self.name
            await send(message)

        await self.app(scope, receive, named)
