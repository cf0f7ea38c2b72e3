"""The extension marketplace: publish a package (pending until an administrator approves it), moderate,
search, install with the permissions granted, enable, disable, configure, and review.

An extension is visible to everybody once a version of it is approved; before that only to its author and
the moderators (`CODELOFT_ADMIN_EMAILS`), to anybody else it does not exist. A new version of an approved
extension waits for approval while the approved one stays what people install. A person's installation
records the version and the permissions they granted; a newer version asking for more is installed only
when they grant those too."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import cache_keys
from domain.access import Actor, is_moderator, require_moderator
from domain.codec import from_json, to_json
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.extension_contributions import NONE, Contributions, EnabledExtension, contributions_of
from domain.extension_entities import Extension, ExtensionStatus, ExtensionVersion, Installation, Review
from domain.extension_manifest import ExtensionManifest, validate_manifest
from domain.extension_package import read_package
from domain.ports import Cache, Clock, UnitOfWork, UnitOfWorkFactory

SORTS = ("downloads", "rating", "newest")
MAX_RESULTS = 100
MAX_REASON = 1000
MAX_REVIEW = 2000
MAX_SETTINGS_KEYS = 100
SHOWN_REVIEWS = 20


@dataclass(frozen=True, slots=True)
class ExtensionDetail:
    """An extension with the versions the viewer may see (newest first) and its latest reviews."""

    extension: Extension
    versions: tuple[ExtensionVersion, ...]
    reviews: tuple[Review, ...]


@dataclass(frozen=True, slots=True)
class InstalledExtension:
    """A person's installation; `new_permissions` are what the newest approved version asks beyond the grant."""

    installation: Installation
    extension: Extension

    @property
    def update_available(self) -> bool:
        return self.installation.version != self.extension.version

    @property
    def new_permissions(self) -> tuple[str, ...]:
        granted = set(self.installation.granted_permissions)
        return tuple(sorted(set(self.extension.manifest["permissions"]) - granted))


def version_key(version: str) -> tuple[Any, ...]:
    """Semantic versions' order: numbers compared as numbers, a pre-release before its release (build
    metadata ignored)."""
    core, _, pre = version.split("+", 1)[0].partition("-")
    numbers = tuple(int(part) for part in core.split("."))
    labels = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")) if pre else ()
    return (*numbers, 0 if pre else 1, labels)


def _no_such(name: str) -> NotFound:
    return NotFound(f"No extension is named {name!r}.")


class ExtensionService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, cache: Cache, moderators: Collection[str] = ()) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache
        self._moderators = frozenset(moderators)

    async def publish(self, actor: Actor, package: bytes) -> ExtensionDetail:
        """Publish a package: a new extension, or a new version of the author's own; pending either way."""
        user_id = actor.require_user()
        manifest = read_package(package).manifest
        now = self._clock()
        async with self._uow() as uow:
            extension = await uow.extensions.get(manifest.name)
            if extension is None:
                extension = _new_extension(manifest, user_id, now)
                await uow.extensions.add(extension)
            else:
                await self._check_new_version(uow, extension, manifest, user_id)
                if extension.status != ExtensionStatus.APPROVED:
                    await uow.extensions.update(
                        extension.id, {**_columns(manifest), "status": ExtensionStatus.PENDING}, at=now
                    )
            version = ExtensionVersion(
                extension_id=extension.id, version=manifest.version, manifest=manifest.document, created_at=now
            )
            await uow.extensions.add_version(version, package)
            await uow.commit()
        await self._forget(extension.id)
        return await self.detail(actor, manifest.name)

    async def publish_official(self, package: bytes) -> Extension:
        """Publish a package shipped with Codeloft (only the start-up seeding does): an official extension,
        without an author, approved and verified at once. The version stored already (or an older one)
        changes nothing, at the cost of one read; a newer one becomes what people install. A name another
        author took first stays theirs: Conflict."""
        manifest = read_package(package).manifest
        now = self._clock()
        async with self._uow() as uow:
            extension = await uow.extensions.get(manifest.name)
            if extension is not None and extension.author_id is not None:
                raise Conflict(
                    f"The name {manifest.name!r} is taken by another author: the shipped extension was not published."
                )
            if extension is not None and version_key(manifest.version) <= version_key(extension.version):
                return extension
            approved = {"status": ExtensionStatus.APPROVED, "is_verified": True, "published_at": now}
            if extension is None:
                extension = _new_extension(manifest, None, now)
                for column, value in approved.items():
                    setattr(extension, column, value)
                await uow.extensions.add(extension)
            else:
                await uow.extensions.update(extension.id, {**_columns(manifest), **approved}, at=now)
            version = ExtensionVersion(
                extension_id=extension.id,
                version=manifest.version,
                manifest=manifest.document,
                status=ExtensionStatus.APPROVED,
                created_at=now,
                reviewed_at=now,
            )
            await uow.extensions.add_version(version, package)
            await uow.commit()
        await self._forget(extension.id)
        async with self._uow() as uow:
            return await self._extension(uow, manifest.name)

    async def _check_new_version(
        self, uow: UnitOfWork, extension: Extension, manifest: ExtensionManifest, user_id: UUID
    ) -> None:
        if extension.author_id != user_id:
            raise Conflict(f"The name {manifest.name!r} is taken by another author: choose another name.")
        newest = max((v.version for v in await uow.extensions.versions(extension.id)), key=version_key)
        if version_key(manifest.version) <= version_key(newest):
            raise Conflict(
                f"{manifest.name} {newest} was published already: a new version must be newer than {newest}."
            )

    async def detail(self, actor: Actor, name: str) -> ExtensionDetail:
        async with self._uow() as uow:
            extension, insider = await self._visible(uow, actor, name)
            detail = await self._cached_detail(uow, extension)
        if insider:
            return detail
        approved = tuple(v for v in detail.versions if v.status == ExtensionStatus.APPROVED)
        return ExtensionDetail(extension=detail.extension, versions=approved, reviews=detail.reviews)

    async def readme(self, actor: Actor, name: str) -> str | None:
        """The text of the shown version's `main` file (Markdown, shown sanitised), or None when its package
        is not stored."""
        async with self._uow() as uow:
            extension, _ = await self._visible(uow, actor, name)
            versions = await uow.extensions.versions(extension.id)
            shown = next((v for v in versions if v.version == extension.version), None)
            data = None if shown is None else await uow.extensions.package(shown.id)
        if data is None:
            return None
        main = read_package(data).files.get(extension.manifest["main"])
        return None if main is None else main.decode("utf-8", errors="replace")

    async def authored(self, actor: Actor) -> Sequence[ExtensionDetail]:
        """The person's own extensions, whatever their status, with every version (rejection reasons too)."""
        user_id = actor.require_user()
        async with self._uow() as uow:
            return [await self._cached_detail(uow, e) for e in await uow.extensions.authored(user_id)]

    async def waiting(self, actor: Actor) -> Sequence[ExtensionDetail]:
        """Extensions with a version waiting for review (moderators only), with all their versions."""
        async with self._uow() as uow:
            await self._require_moderator(uow, actor)
            return [await self._cached_detail(uow, e) for e in await uow.extensions.waiting()]

    async def moderates(self, actor: Actor) -> bool:
        """Whether `actor` moderates the marketplace (pages show moderation to them only)."""
        async with self._uow() as uow:
            return is_moderator(await self._email(uow, actor), self._moderators)

    async def _visible(self, uow: UnitOfWork, actor: Actor, name: str) -> tuple[Extension, bool]:
        """The extension named `name` if `actor` may see it, and whether they are an insider (its author or a
        moderator); NotFound when it does not exist for them."""
        extension = await uow.extensions.get(name)
        if extension is None:
            raise _no_such(name)
        insider = await self._is_insider(uow, actor, extension)
        if extension.status != ExtensionStatus.APPROVED and not insider:
            raise _no_such(name)
        return extension, insider

    async def _cached_detail(self, uow: UnitOfWork, extension: Extension) -> ExtensionDetail:
        """The extension as just read, with its versions and reviews from the `extension:<id>` entry (read and
        stored on a miss). Its counters are never taken from the cache: an entry stored by a read that
        raced a change may be older than the change that dropped it."""
        key = cache_keys.extension(extension.id)
        cached = await self._cache.get(key)
        if cached is None:
            versions = await uow.extensions.versions(extension.id)
            reviews = await uow.extensions.reviews(extension.id, limit=SHOWN_REVIEWS)
            cached = {"versions": [to_json(v) for v in versions], "reviews": [to_json(r) for r in reviews]}
            await self._cache.set(key, cached)
        stored = (from_json(ExtensionVersion, v) for v in cached["versions"])
        return ExtensionDetail(
            extension=extension,
            versions=tuple(sorted(stored, key=lambda v: version_key(v.version), reverse=True)),
            reviews=tuple(from_json(Review, r) for r in cached["reviews"]),
        )

    async def search(
        self, query: str = "", *, category: str | None = None, sort: str = "downloads", featured: bool | None = None
    ) -> Sequence[Extension]:
        """Approved extensions matching `query` over name, description and tags."""
        if sort not in SORTS:
            raise InvalidInput(f"sort is one of {', '.join(SORTS)}.")
        async with self._uow() as uow:
            return await uow.extensions.search(
                query.strip(), category=category, sort=sort, featured=featured, limit=MAX_RESULTS
            )

    async def approve(self, actor: Actor, name: str) -> ExtensionDetail:
        """Approve the newest version waiting: it becomes what people install."""
        now = self._clock()
        async with self._uow() as uow:
            extension, version = await self._waiting(uow, actor, name)
            await uow.extensions.set_version_status(version.id, ExtensionStatus.APPROVED, reason=None, at=now)
            changes = {**_columns(_manifest_of(version)), "status": ExtensionStatus.APPROVED, "published_at": now}
            await uow.extensions.update(extension.id, changes, at=now)
            await uow.commit()
        await self._forget(extension.id)
        return await self.detail(actor, name)

    async def reject(self, actor: Actor, name: str, reason: str) -> ExtensionDetail:
        """Reject the newest version waiting, with a reason its author sees on the extension's versions."""
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON:
            raise InvalidInput(f"A rejection needs a reason for the author (1 to {MAX_REASON} characters).")
        now = self._clock()
        async with self._uow() as uow:
            extension, version = await self._waiting(uow, actor, name)
            await uow.extensions.set_version_status(version.id, ExtensionStatus.REJECTED, reason=reason, at=now)
            if extension.status != ExtensionStatus.APPROVED:
                await uow.extensions.update(extension.id, {"status": ExtensionStatus.REJECTED}, at=now)
            await uow.commit()
        await self._forget(extension.id)
        return await self.detail(actor, name)

    async def mark(
        self, actor: Actor, name: str, *, verified: bool | None = None, featured: bool | None = None
    ) -> ExtensionDetail:
        """Mark an extension verified or featured (or not)."""
        changes = {
            column: value
            for column, value in (("is_verified", verified), ("is_featured", featured))
            if value is not None
        }
        async with self._uow() as uow:
            await self._require_moderator(uow, actor)
            extension = await self._extension(uow, name)
            if changes:
                await uow.extensions.update(extension.id, changes, at=self._clock())
                await uow.commit()
        await self._forget(extension.id)
        return await self.detail(actor, name)

    async def install(self, actor: Actor, name: str, *, grant: Collection[str]) -> InstalledExtension:
        """Install the approved version with the permissions it asks, which `grant` must hold (else Conflict:
        what the stored version asks, not the request's form, decides); installing again moves to the newest
        approved version (counted once per person)."""
        user_id = actor.require_user()
        now = self._clock()
        async with self._uow() as uow:
            extension = await self._approved(uow, name)
            asked = tuple(sorted(extension.manifest["permissions"]))
            missing = [permission for permission in asked if permission not in set(grant)]
            if missing:
                raise Conflict(
                    f"{extension.display_name} {extension.version} asks for {', '.join(missing)}: grant it to install."
                )
            installation = Installation(
                user_id=user_id,
                extension_id=extension.id,
                version=extension.version,
                granted_permissions=asked,
                installed_at=now,
                updated_at=now,
            )
            if await uow.extensions.install(installation):
                await uow.extensions.count_download(extension.id)
            else:
                changes = {"version": extension.version, "granted_permissions": asked}
                await uow.extensions.update_installation(user_id, extension.id, changes, at=now)
            await uow.commit()
        await self._forget(extension.id)
        return await self._installed(actor, name)

    async def uninstall(self, actor: Actor, name: str) -> None:
        user_id = actor.require_user()
        async with self._uow() as uow:
            extension = await self._extension(uow, name)
            if not await uow.extensions.uninstall(user_id, extension.id):
                raise NotFound(f"You have not installed {name!r}.")
            await uow.commit()

    async def configure(
        self, actor: Actor, name: str, *, enabled: bool | None = None, settings: dict[str, Any] | None = None
    ) -> InstalledExtension:
        """Enable or disable an installed extension, or replace its settings."""
        if settings is not None and len(settings) > MAX_SETTINGS_KEYS:
            raise InvalidInput(f"An extension's settings hold at most {MAX_SETTINGS_KEYS} keys.")
        changes: dict[str, Any] = {
            column: value for column, value in (("is_enabled", enabled), ("settings", settings)) if value is not None
        }
        user_id = actor.require_user()
        async with self._uow() as uow:
            extension = await self._extension(uow, name)
            if await uow.extensions.installation(user_id, extension.id) is None:
                raise NotFound(f"You have not installed {name!r}.")
            if changes:
                await uow.extensions.update_installation(user_id, extension.id, changes, at=self._clock())
                await uow.commit()
        return await self._installed(actor, name)

    async def installed(self, actor: Actor) -> Sequence[InstalledExtension]:
        """The person's extensions."""
        user_id = actor.require_user()
        async with self._uow() as uow:
            pairs = await uow.extensions.installations(user_id)
        return [InstalledExtension(installation=i, extension=e) for i, e in pairs]

    async def contributions(self, actor: Actor) -> Contributions:
        """What the person's enabled extensions add to the IDE, each from the version they installed
        (a newer approved version changes nothing until they install it)."""
        if actor.user_id is None:
            return NONE
        async with self._uow() as uow:
            pairs = await uow.extensions.installations(actor.user_id)
            enabled = []
            for installation, extension in pairs:
                if not installation.is_enabled:
                    continue
                manifest = extension.manifest
                if installation.version != extension.version:
                    versions = await uow.extensions.versions(extension.id)
                    manifest = next((v.manifest for v in versions if v.version == installation.version), manifest)
                granted = frozenset(installation.granted_permissions)
                enabled.append(EnabledExtension(name=extension.name, manifest=manifest, granted=granted))
        return contributions_of(enabled)

    async def _installed(self, actor: Actor, name: str) -> InstalledExtension:
        found = next((item for item in await self.installed(actor) if item.extension.name == name), None)
        if found is None:
            raise NotFound(f"You have not installed {name!r}.")
        return found

    async def review(self, actor: Actor, name: str, *, rating: int, text: str | None = None) -> ExtensionDetail:
        """Rate an approved extension 1 to 5 with an optional text; a person's second review replaces the
        first. The average and count are recounted under the extension's row lock, so concurrent reviews
        all count."""
        user_id = actor.require_user()
        if isinstance(rating, bool) or not 1 <= rating <= 5:
            raise InvalidInput("rating is a whole number of stars from 1 to 5.")
        text = (text or "").strip() or None
        if text is not None and len(text) > MAX_REVIEW:
            raise InvalidInput(f"A review's text is at most {MAX_REVIEW} characters.")
        now = self._clock()
        async with self._uow() as uow:
            extension = await self._approved(uow, name)
            if extension.author_id == user_id:
                raise PermissionDenied("You cannot review your own extension.")
            await uow.extensions.lock(extension.id)
            review = Review(
                extension_id=extension.id, user_id=user_id, rating=rating, text=text, created_at=now, updated_at=now
            )
            await uow.extensions.save_review(review)
            await uow.extensions.refresh_rating(extension.id)
            await uow.commit()
        await self._forget(extension.id)
        return await self.detail(actor, name)

    async def _extension(self, uow: UnitOfWork, name: str) -> Extension:
        extension = await uow.extensions.get(name)
        if extension is None:
            raise _no_such(name)
        return extension

    async def _approved(self, uow: UnitOfWork, name: str) -> Extension:
        extension = await self._extension(uow, name)
        if extension.status != ExtensionStatus.APPROVED:
            raise _no_such(name)
        return extension

    async def _waiting(self, uow: UnitOfWork, actor: Actor, name: str) -> tuple[Extension, ExtensionVersion]:
        await self._require_moderator(uow, actor)
        extension = await self._extension(uow, name)
        pending = [v for v in await uow.extensions.versions(extension.id) if v.status == ExtensionStatus.PENDING]
        if not pending:
            raise Conflict(f"{name} has no version waiting for review.")
        return extension, max(pending, key=lambda v: version_key(v.version))

    async def _email(self, uow: UnitOfWork, actor: Actor) -> str | None:
        if actor.user_id is None:
            return None
        user = await uow.users.get(actor.user_id)
        return None if user is None else user.email

    async def _require_moderator(self, uow: UnitOfWork, actor: Actor) -> None:
        require_moderator(actor, await self._email(uow, actor), self._moderators)

    async def _is_insider(self, uow: UnitOfWork, actor: Actor, extension: Extension) -> bool:
        """The author or a moderator: they see versions waiting or rejected."""
        if actor.user_id is None:
            return False
        return actor.user_id == extension.author_id or is_moderator(await self._email(uow, actor), self._moderators)

    async def _forget(self, extension_id: UUID) -> None:
        await self._cache.delete(cache_keys.extension(extension_id))


def _columns(manifest: ExtensionManifest) -> dict[str, Any]:
    return {
        "display_name": manifest.display_name,
        "description": manifest.description,
        "version": manifest.version,
        "manifest": manifest.document,
        "category": manifest.category,
        "tags": manifest.tags,
    }


def _manifest_of(version: ExtensionVersion) -> ExtensionManifest:
    return validate_manifest(version.manifest)


def _new_extension(manifest: ExtensionManifest, author_id: UUID | None, now: datetime) -> Extension:
    return Extension(
        name=manifest.name,
        display_name=manifest.display_name,
        description=manifest.description,
        version=manifest.version,
        author_id=author_id,
        manifest=manifest.document,
        category=manifest.category,
        tags=manifest.tags,
        created_at=now,
        updated_at=now,
    )
