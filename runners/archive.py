"""Files into a tar archive in memory, and into a sealed memory file a sandbox can read."""

from __future__ import annotations

import io
import os
import tarfile


def tar_of(files: dict[str, bytes]) -> bytes:
    return tar_of_members({path: (data, 0o644) for path, data in files.items()})


def tar_of_members(files: dict[str, tuple[bytes, int]]) -> bytes:
    """Regular files only (with their permission bits), no folders, links or owners."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(files):
            data, mode = files[path]
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = mode
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def memory_file(name: str, data: bytes) -> int:
    """An inheritable file descriptor whose content is `data`, positioned at its start."""
    fd = os.memfd_create(name, 0)
    view, offset = memoryview(data), 0
    while offset < len(data):
        offset += os.write(fd, view[offset:])
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    return fd


def archive_members(archive: bytes) -> dict[str, tuple[bytes, int]]:
    """The regular files of a tar archive with their permission bits (0755 or 0644). Links and
    anything else are skipped: nothing in the archive is followed or created on the host."""
    members: dict[str, tuple[bytes, int]] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("./")
            if not member.isreg() or name.startswith("/") or ".." in name.split("/"):
                continue
            handle = tar.extractfile(member)
            if handle is not None:
                members[name] = (handle.read(), 0o755 if member.mode & 0o111 else 0o644)
    return members
