"""Files into a tar archive in memory, and into a sealed memory file a sandbox can read."""

from __future__ import annotations

import io
import os
import tarfile


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(files):
            info = tarfile.TarInfo(path)
            info.size = len(files[path])
            info.mode = 0o644
            info.mtime = 0
            archive.addfile(info, io.BytesIO(files[path]))
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
