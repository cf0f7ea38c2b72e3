"""ZIP archives of a workspace, in memory: written for download, read (defensively) for import."""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass, field

from domain.errors import InvalidInput, LimitExceeded, QuotaExceeded
from domain.limits import human_size
from domain.values import WorkspacePath

ENCRYPTED = 0x1
"""The general purpose flag bit of an encrypted (password-protected) entry."""


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_entries: int
    max_total_bytes: int
    max_file_bytes: int


@dataclass(frozen=True, slots=True)
class ArchiveWording:
    """How refusals name what the archive is unpacked into, so one reader serves every kind of archive."""

    root: str = "the workspace"
    holder: str = "This workspace"
    allowance: str = " on its owner's plan"
    outcome: str = "nothing was imported"


WORKSPACE = ArchiveWording()


@dataclass(slots=True)
class ArchiveContents:
    files: dict[str, bytes] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)


def write_zip(files: dict[str, bytes], folders: set[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for folder in sorted(folders):
            archive.writestr(zipfile.ZipInfo(folder + "/"), b"")
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, files[path])
    return buffer.getvalue()


def _entry_path(name: str, wording: ArchiveWording) -> str:
    """The path of an archive entry inside its root, refusing anything that could escape the root."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise InvalidInput(f"The archive entry {name!r} has an absolute path: {wording.outcome}.")
    trimmed = name.rstrip("/")
    if ".." in trimmed.replace("\\", "/").split("/"):
        raise InvalidInput(f"The archive entry {name!r} points outside {wording.root} ('..'): {wording.outcome}.")
    try:
        return WorkspacePath(trimmed).value
    except InvalidInput as error:
        raise InvalidInput(
            f"The archive entry {name!r} is not a valid path ({error.message}) {wording.outcome.capitalize()}."
        ) from None


def read_zip(data: bytes, limits: ArchiveLimits, wording: ArchiveWording = WORKSPACE) -> ArchiveContents:
    """Every entry, or an error and nothing: absolute paths, '..', symlinks, too many entries or too
    many bytes (counted while decompressing, so a lying header does not help a zip bomb)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise InvalidInput(f"That file is not a ZIP archive: {wording.outcome}.") from None
    contents = ArchiveContents()
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise QuotaExceeded(
                f"{wording.holder} may hold at most {limits.max_entries} files and folders{wording.allowance}; "
                f"the archive holds {len(entries)} entries: {wording.outcome}."
            )
        total = 0
        for info in entries:
            path = _entry_path(info.orig_filename, wording)  # `filename` stops at a NUL, which hides the rest
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise InvalidInput(f"The archive entry {info.filename!r} is a symbolic link: {wording.outcome}.")
            if path in contents.files or path in contents.folders:
                raise InvalidInput(f"The archive holds {path!r} twice: {wording.outcome}.")
            if info.is_dir():
                contents.folders.add(path)
                continue
            if info.flag_bits & ENCRYPTED:
                raise InvalidInput(
                    f"The archive entry {info.filename!r} is encrypted (password-protected) and Codeloft takes no "
                    f"passwords; make the archive without encryption: {wording.outcome}."
                )
            body = _read_capped(archive, info, limits.max_file_bytes, wording)
            total += len(body)
            if total > limits.max_total_bytes:
                raise QuotaExceeded(
                    f"{wording.holder} may hold at most {human_size(limits.max_total_bytes)}{wording.allowance}; "
                    f"the archive unpacks to more: {wording.outcome}."
                )
            contents.files[path] = body
    return contents


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, wording: ArchiveWording) -> bytes:
    too_big = LimitExceeded(f"The archive entry {info.filename!r} is larger than {human_size(cap)}: {wording.outcome}.")
    if info.file_size > cap:
        raise too_big
    try:
        with archive.open(info) as stream:
            body = stream.read(cap + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        raise InvalidInput(
            f"The archive entry {info.filename!r} cannot be read ({error}): {wording.outcome}."
        ) from None
    if len(body) > cap:
        raise too_big
    return body
