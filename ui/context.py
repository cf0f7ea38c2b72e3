"""The services the composition root wires together, reachable from pages and API routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from domain.accounts import AccountService
from domain.ai_keys import AIKeyService
from domain.assistant import AssistantService
from domain.auth import AuthService
from domain.explore import ExploreService
from domain.extension_bundles import BundleService
from domain.extension_commands import ExtensionCommandService
from domain.extensions import ExtensionService
from domain.files import FileService
from domain.identities import IdentityService
from domain.ports import Clock
from domain.previews import PreviewService
from domain.public_links import PublicLinkService
from domain.quotas import QuotaService
from domain.runs import RunService
from domain.sharing import SharingService
from domain.terminals import TerminalService
from domain.workspaces import WorkspaceService
from ui.settings import Settings


@dataclass(kw_only=True)
class Services:
    settings: Settings
    clock: Clock
    auth: AuthService
    identities: IdentityService
    accounts: AccountService
    ai_keys: AIKeyService
    assistant: AssistantService
    workspaces: WorkspaceService
    explore: ExploreService
    files: FileService
    runs: RunService
    previews: PreviewService
    terminals: TerminalService
    quotas: QuotaService
    public_links: PublicLinkService
    sharing: SharingService
    extensions: ExtensionService
    bundles: BundleService
    extension_commands: ExtensionCommandService
    csrf_key: bytes
    health: Callable[[], Awaitable[dict[str, Any]]]
    close: Callable[[], Awaitable[None]]


_current: Services | None = None


def install(services: Services | None) -> None:
    global _current
    _current = services


def services() -> Services:
    if _current is None:
        raise RuntimeError("Codeloft's services are not started yet")
    return _current
