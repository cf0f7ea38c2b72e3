"""The extensions shipped in the repository (`extensions/<name>/`, manifest.json and its files), each packaged
as the ZIP a publish takes, in memory."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

SHIPPED_ROOT = Path(__file__).resolve().parent.parent / "extensions"


def package_folder(folder: Path) -> bytes:
    """The folder's regular files (symlinks left out) as a ZIP, the same bytes for the same files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                entry = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=(2026, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, path.read_bytes())
    return buffer.getvalue()


def shipped_packages(root: Path = SHIPPED_ROOT) -> list[bytes]:
    """A package per folder of `root` holding a manifest.json, by folder name; none when `root` is absent
    (an installation without the repository's folder)."""
    if not root.is_dir():
        return []
    return [package_folder(folder) for folder in sorted(root.iterdir()) if (folder / "manifest.json").is_file()]
