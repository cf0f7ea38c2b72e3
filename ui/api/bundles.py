"""Extension bundles over REST: the bundles with their approved extensions (no sign-in needed), and
installing a whole bundle at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel

from domain.extension_bundles import Bundle
from domain.extension_manifest import SLUG
from ui.api.deps import CallerDep
from ui.api.extensions import ExtensionOut, InstalledOut, InstallIn, extension_out, installed_out
from ui.api.routing import api_router
from ui.context import services

router = api_router(prefix="/api/v1", tags=["extensions"])

BundleCategory = Annotated[
    str, Path(pattern=SLUG, max_length=100, description="The bundle's category (e.g. beginner, web-dev, data-science)")
]


class BundleOut(BaseModel):
    category: str
    """What names the bundle in its URL."""
    name: str
    description: str
    is_official: bool
    permissions: list[str]
    """What its extensions ask for together: what installing the bundle needs granted."""
    extensions: list[ExtensionOut]
    """Its approved extensions, by name."""


def bundle_out(bundle: Bundle) -> BundleOut:
    return BundleOut(
        category=bundle.category,
        name=bundle.name,
        description=bundle.description,
        is_official=bundle.is_official,
        permissions=list(bundle.permissions),
        extensions=[extension_out(e) for e in bundle.extensions],
    )


@router.get("/extension-bundles")
async def list_extension_bundles() -> list[BundleOut]:
    """The bundles (for everyone, signed in or not): the official ones first, each with its approved extensions."""
    return [bundle_out(b) for b in await services().bundles.bundles()]


@router.post("/extension-bundles/{category}/install")
async def install_extension_bundle(
    category: BundleCategory, caller: CallerDep, body: InstallIn | None = None
) -> list[InstalledOut]:
    """Install every extension of the bundle, granting the permissions they ask (all of them, or 409 naming
    what is missing, and nothing is installed); what you had installed already moves to its newest approved
    version."""
    grant = [] if body is None else body.permissions
    installed = await services().bundles.install_bundle(caller.actor, category, grant=grant)
    return [installed_out(item) for item in installed]
