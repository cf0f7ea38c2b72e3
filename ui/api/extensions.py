"""The extension marketplace over REST: search and read extensions (no sign-in needed), publish a package,
install, configure and uninstall your own, review; and the administrators' moderation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from domain.extension_entities import Extension, ExtensionVersion, Review
from domain.extension_manifest import SLUG
from domain.extension_package import MAX_PACKAGE_BYTES
from domain.extensions import MAX_REASON, MAX_REVIEW, MAX_SETTINGS_KEYS, ExtensionDetail, InstalledExtension
from ui.api.bodies import read_body
from ui.api.contract import WHOLE
from ui.api.deps import CallerDep
from ui.api.explore import ViewerDep
from ui.api.routing import api_router, links
from ui.context import services

router = api_router(prefix="/api/v1", tags=["extensions"])

ExtensionName = Annotated[str, Path(pattern=SLUG, max_length=64, description="The extension's name (its slug)")]
Category = Literal["theme", "language", "tool", "ai"]
Permission = Literal["workspace:read", "workspace:write"]
"""The manifest's categories and permissions (domain/extension_manifest.py; a test keeps them equal)."""

PACKAGE_MEDIA_TYPE = "application/vnd.codeloft.extension+zip"
PACKAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {PACKAGE_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        "description": "The extension's package, whatever the Content-Type: a ZIP with a valid manifest.json at its "
        "root (the schema of domain/extension_manifest.py) and the files it names; paths follow the workspace "
        "path rules",
    }
}


class ExtensionOut(BaseModel):
    name: str
    display_name: str
    version: str
    """The version people install (the approved one, once there is one)."""
    description: str
    category: str
    tags: list[str]
    status: Literal["pending", "approved", "rejected"]
    download_count: int
    rating_average: float
    rating_count: int
    is_verified: bool
    is_featured: bool
    published_at: datetime | None
    manifest: dict[str, Any]
    """That version's manifest.json."""


class VersionOut(BaseModel):
    version: str
    status: Literal["pending", "approved", "rejected"]
    rejection_reason: str | None
    """Why an administrator rejected it (shown to its author)."""
    permissions: list[str]
    created_at: datetime
    reviewed_at: datetime | None


class ReviewOut(BaseModel):
    rating: int
    text: str | None
    updated_at: datetime


class ExtensionDetailOut(ExtensionOut):
    versions: list[VersionOut]
    """Newest first: the approved ones, and to its author and the administrators those waiting or rejected too."""
    reviews: list[ReviewOut]
    """The latest 20."""


class InstalledOut(BaseModel):
    extension: ExtensionOut
    version: str
    """The version you installed."""
    enabled: bool
    settings: dict[str, Any]
    granted_permissions: list[str]
    update_available: bool
    new_permissions: list[str]
    """What the newest approved version asks beyond what you granted: install again granting them to update."""


class InstallIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    permissions: list[Permission] = Field(
        default_factory=list, description="The permissions you grant; they must hold every one the extension asks"
    )


class InstallPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool | None = None
    settings: dict[str, Any] | None = Field(
        default=None, max_length=MAX_SETTINGS_KEYS, description="Replaces the extension's settings"
    )


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    rating: Annotated[int, Field(ge=1, le=5, description="Stars, 1 to 5"), WHOLE]
    text: str | None = Field(default=None, max_length=MAX_REVIEW)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(min_length=1, max_length=MAX_REASON, pattern=r"\S", description="Why, for the author")


class MarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    verified: bool | None = None
    featured: bool | None = None


def extension_out(extension: Extension) -> ExtensionOut:
    return ExtensionOut(
        name=extension.name,
        display_name=extension.display_name,
        version=extension.version,
        description=extension.description,
        category=extension.category,
        tags=list(extension.tags),
        status=extension.status.value,
        download_count=extension.download_count,
        rating_average=extension.rating_average,
        rating_count=extension.rating_count,
        is_verified=extension.is_verified,
        is_featured=extension.is_featured,
        published_at=extension.published_at,
        manifest=extension.manifest,
    )


def version_out(version: ExtensionVersion) -> VersionOut:
    return VersionOut(
        version=version.version,
        status=version.status.value,
        rejection_reason=version.rejection_reason,
        permissions=list(version.manifest.get("permissions", [])),
        created_at=version.created_at,
        reviewed_at=version.reviewed_at,
    )


def review_out(review: Review) -> ReviewOut:
    return ReviewOut(rating=review.rating, text=review.text, updated_at=review.updated_at)


def detail_out(detail: ExtensionDetail) -> ExtensionDetailOut:
    return ExtensionDetailOut(
        **extension_out(detail.extension).model_dump(),
        versions=[version_out(v) for v in detail.versions],
        reviews=[review_out(r) for r in detail.reviews],
    )


def installed_out(item: InstalledExtension) -> InstalledOut:
    mine = item.installation
    return InstalledOut(
        extension=extension_out(item.extension),
        version=mine.version,
        enabled=mine.is_enabled,
        settings=mine.settings,
        granted_permissions=list(mine.granted_permissions),
        update_available=item.update_available,
        new_permissions=list(item.new_permissions),
    )


PUBLISHED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Published, waiting for an administrator's approval (until then only its author and the "
        "administrators see it, and nobody installs or reviews it)",
        "links": links("publish_extension", "get_extension", name="$response.body#/name"),
    }
}


@router.get("/extensions")
async def list_extensions(
    q: Annotated[str, Query(max_length=200, description="Words in the name, description or tags")] = "",
    category: Category | None = None,
    sort: Literal["downloads", "rating", "newest"] = "downloads",
    featured: bool | None = None,
) -> list[ExtensionOut]:
    """Approved extensions (for everyone, signed in or not), at most 100."""
    found = await services().extensions.search(q, category=category, sort=sort, featured=featured)
    return [extension_out(e) for e in found]


@router.post("/extensions", status_code=201, responses=PUBLISHED, openapi_extra=PACKAGE_BODY)
async def publish_extension(request: Request, caller: CallerDep) -> ExtensionDetailOut:
    """Publish the package in the body: a new extension, or a newer version of your own. It waits for an
    administrator's approval; a refused manifest's `detail` names each field and the rule it breaks."""
    package = await read_body(request, MAX_PACKAGE_BYTES)
    return detail_out(await services().extensions.publish(caller.actor, package))


@router.get("/extensions/{name}")
async def get_extension(name: ExtensionName, viewer: ViewerDep) -> ExtensionDetailOut:
    """An extension with its versions and latest reviews."""
    return detail_out(await services().extensions.detail(viewer, name))


@router.post("/extensions/{name}/install")
async def install_extension(name: ExtensionName, caller: CallerDep, body: InstallIn | None = None) -> InstalledOut:
    """Install the approved version, granting the permissions it asks (all of them, or 409); installing again
    updates to the newest approved version. Counted in `download_count` once a person."""
    grant = [] if body is None else body.permissions
    return installed_out(await services().extensions.install(caller.actor, name, grant=grant))


@router.patch("/extensions/{name}/install")
async def patch_installation(name: ExtensionName, body: InstallPatch, caller: CallerDep) -> InstalledOut:
    """Enable or disable an extension you installed, or replace its settings."""
    item = await services().extensions.configure(caller.actor, name, enabled=body.enabled, settings=body.settings)
    return installed_out(item)


@router.delete("/extensions/{name}/install", status_code=204)
async def uninstall_extension(name: ExtensionName, caller: CallerDep) -> Response:
    await services().extensions.uninstall(caller.actor, name)
    return Response(status_code=204)


@router.post("/extensions/{name}/reviews")
async def review_extension(name: ExtensionName, body: ReviewIn, caller: CallerDep) -> ExtensionDetailOut:
    """Rate an approved extension (not your own); your second review replaces the first."""
    return detail_out(await services().extensions.review(caller.actor, name, rating=body.rating, text=body.text))


@router.get("/me/extensions")
async def list_my_extensions(caller: CallerDep) -> list[InstalledOut]:
    """The extensions you installed, by name."""
    return [installed_out(item) for item in await services().extensions.installed(caller.actor)]


@router.post("/admin/extensions/{name}/approve")
async def approve_extension(name: ExtensionName, caller: CallerDep) -> ExtensionDetailOut:
    """Administrators: approve the newest version waiting; it becomes what people install."""
    return detail_out(await services().extensions.approve(caller.actor, name))


@router.post("/admin/extensions/{name}/reject")
async def reject_extension(name: ExtensionName, body: RejectIn, caller: CallerDep) -> ExtensionDetailOut:
    """Administrators: reject the newest version waiting, with a reason its author sees."""
    return detail_out(await services().extensions.reject(caller.actor, name, body.reason))


@router.patch("/admin/extensions/{name}")
async def mark_extension(name: ExtensionName, body: MarkIn, caller: CallerDep) -> ExtensionDetailOut:
    """Administrators: mark an extension verified or featured (or not)."""
    detail = await services().extensions.mark(caller.actor, name, verified=body.verified, featured=body.featured)
    return detail_out(detail)
