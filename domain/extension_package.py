"""An extension's package: a ZIP with manifest.json at its root and the files it names, read with the same
defences as a workspace's ZIP (no absolute paths, '..', symlinks, encrypted entries or bombs) and capped."""

from __future__ import annotations

from dataclasses import dataclass

from domain.archive import ArchiveLimits, ArchiveWording, read_zip
from domain.errors import InvalidInput, LimitExceeded
from domain.extension_manifest import ExtensionManifest, parse_manifest
from domain.limits import human_size

MANIFEST = "manifest.json"
MAX_PACKAGE_BYTES = 2 * 1024 * 1024
"""The ZIP itself (also the API's body limit for a publish)."""
LIMITS = ArchiveLimits(max_entries=100, max_total_bytes=8 * 1024 * 1024, max_file_bytes=2 * 1024 * 1024)
WORDING = ArchiveWording(
    root="the extension", holder="An extension package", allowance="", outcome="nothing was published"
)


@dataclass(frozen=True, slots=True)
class ExtensionPackage:
    manifest: ExtensionManifest
    files: dict[str, bytes]


def read_package(data: bytes) -> ExtensionPackage:
    """The package's manifest and files, or the one reason it is refused."""
    if len(data) > MAX_PACKAGE_BYTES:
        raise LimitExceeded(
            f"An extension package may be at most {human_size(MAX_PACKAGE_BYTES)}; this one is "
            f"{human_size(len(data))}: nothing was published."
        )
    contents = read_zip(data, LIMITS, WORDING)
    if MANIFEST not in contents.files:
        raise InvalidInput(f"The package has no {MANIFEST} at its root: nothing was published.")
    manifest = parse_manifest(contents.files[MANIFEST])
    if manifest.main not in contents.files:
        raise InvalidInput(f"manifest.json is not valid: main: {manifest.main!r} is not a file of the package.")
    return ExtensionPackage(manifest=manifest, files=contents.files)
