"""Bundles: named sets of extensions installed at once (the official ones, beginner, web-dev and data-science,
are seeded at start). A bundle shows and installs only its approved extensions; installing it needs a grant
covering every permission they ask, else nothing is installed."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from uuid import UUID, uuid4, uuid5

from domain.access import Actor
from domain.errors import Conflict, NotFound
from domain.extension_entities import Extension, ExtensionStatus
from domain.extensions import ExtensionService, InstalledExtension
from domain.ports import UnitOfWorkFactory


@dataclass(frozen=True, kw_only=True, slots=True)
class Bundle:
    """A bundle and its extensions (by name)."""

    id: UUID = field(default_factory=uuid4)
    name: str
    description: str
    category: str
    is_official: bool = False
    extensions: tuple[Extension, ...] = ()

    @property
    def permissions(self) -> tuple[str, ...]:
        """What its extensions ask for, together: what installing the bundle needs granted."""
        return tuple(sorted({p for e in self.extensions for p in e.manifest.get("permissions", ())}))


@dataclass(frozen=True, kw_only=True, slots=True)
class OfficialBundle:
    """An official bundle as seeded: its extensions by name."""

    category: str
    name: str
    description: str
    extensions: tuple[str, ...]


_OFFICIAL = UUID("3f0c7a52-8d1e-4b8e-9a57-6c1d2f0e9b41")


def official_bundle_id(category: str) -> UUID:
    """An official bundle's id, the same on every server: instances starting at once cannot both add it."""
    return uuid5(_OFFICIAL, category)


OFFICIAL_BUNDLES = (
    OfficialBundle(
        category="beginner",
        name="Beginner",
        description="A comfortable start: two themes and the Shell language (highlighted and runnable).",
        extensions=("shell-language", "theme-pack"),
    ),
    OfficialBundle(
        category="web-dev",
        name="Web development",
        description="Format your JSON files in one command, with themes for long sessions.",
        extensions=("format-json", "theme-pack"),
    ),
    OfficialBundle(
        category="data-science",
        name="Data science",
        description="Tidy JSON data files and run Shell scripts for your pipelines.",
        extensions=("format-json", "shell-language"),
    ),
)


class BundleService:
    def __init__(self, *, uow: UnitOfWorkFactory, extensions: ExtensionService) -> None:
        self._uow = uow
        self._extensions = extensions

    async def bundles(self) -> Sequence[Bundle]:
        """Every bundle (official first, then by name) with its approved extensions."""
        async with self._uow() as uow:
            stored = await uow.bundles.all()
        shown = [_approved_only(bundle) for bundle in stored]
        return sorted(shown, key=lambda b: (not b.is_official, b.name.lower(), b.category))

    async def bundle(self, category: str) -> Bundle:
        found = next((b for b in await self.bundles() if b.category == category), None)
        if found is None:
            raise NotFound(f"No bundle is named {category!r}.")
        return found

    async def install_bundle(
        self, actor: Actor, category: str, *, grant: Collection[str]
    ) -> Sequence[InstalledExtension]:
        """Install every approved extension of the bundle; `grant` must hold every permission they ask,
        else Conflict naming what is missing (as ExtensionService.install) and nothing is installed."""
        actor.require_user()
        bundle = await self.bundle(category)
        if not bundle.extensions:
            raise Conflict(f"The {bundle.name} bundle has no extension to install yet.")
        missing = [permission for permission in bundle.permissions if permission not in set(grant)]
        if missing:
            raise Conflict(
                f"The {bundle.name} bundle asks for {', '.join(missing)}: grant it to install (nothing was installed)."
            )
        return [await self._extensions.install(actor, e.name, grant=grant) for e in bundle.extensions]

    async def seed_official(self, official: Sequence[OfficialBundle] = OFFICIAL_BUNDLES) -> int:
        """Add the official bundles that are missing and the extensions missing from them (those already
        published); nothing when all are in place. How many bundles were added or completed."""
        async with self._uow() as uow:
            stored = {b.category: b for b in await uow.bundles.all() if b.is_official}
            changed = 0
            for spec in official:
                bundle = stored.get(spec.category)
                have = set() if bundle is None else {e.name for e in bundle.extensions}
                wanted = [name for name in spec.extensions if name not in have]
                if bundle is not None and not wanted:
                    continue
                candidates = [await uow.extensions.get(name) for name in wanted]
                found = [e for e in candidates if e is not None and e.author_id is None]  # official ones only
                if bundle is None:
                    bundle = Bundle(
                        id=official_bundle_id(spec.category),
                        name=spec.name,
                        description=spec.description,
                        category=spec.category,
                        is_official=True,
                    )
                    await uow.bundles.add(bundle)
                    changed += 1
                elif found:
                    changed += 1
                await uow.bundles.add_extensions(bundle.id, [e.id for e in found])
            if changed:
                await uow.commit()
        return changed


def _approved_only(bundle: Bundle) -> Bundle:
    approved = tuple(
        sorted((e for e in bundle.extensions if e.status == ExtensionStatus.APPROVED), key=lambda e: e.name)
    )
    return Bundle(
        id=bundle.id,
        name=bundle.name,
        description=bundle.description,
        category=bundle.category,
        is_official=bundle.is_official,
        extensions=approved,
    )


async def seed_marketplace(
    extensions: ExtensionService, bundles: BundleService, packages: Sequence[bytes]
) -> list[str]:
    """At every start: publish the shipped packages as official extensions, then add the official bundles
    (nothing changes when all are in place). A clash with another instance seeding at the same moment is
    tried once more; what still cannot be seeded (a name another author took) is returned, for the log."""
    problems = []
    for package in packages:
        try:
            try:
                await extensions.publish_official(package)
            except Conflict:
                await extensions.publish_official(package)
        except Conflict as error:
            problems.append(error.message)
    try:
        await bundles.seed_official()
    except Conflict:
        await bundles.seed_official()
    return problems
