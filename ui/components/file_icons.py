"""Which Material icon (of those NiceGUI ships) and which colour the file tree shows for a file, by its
extension, as code-server's file icon theme does: a language's files in its colour."""

from __future__ import annotations

from typing import NamedTuple


class FileIcon(NamedTuple):
    name: str
    """A Material icon's name."""
    color: str
    """A CSS colour readable on the light and on the dark theme."""


FOLDER = FileIcon("folder", "#d4a72c")
FOLDER_OPEN = FileIcon("folder_open", "#d4a72c")
PLAIN = FileIcon("insert_drive_file", "#8c959f")

TEXT = FileIcon("description", "#8c959f")
IMAGE = FileIcon("image", "#2da44e")

BY_EXTENSION: dict[str, FileIcon] = {
    "py": FileIcon("code", "#4b8bbe"),
    "pyi": FileIcon("code", "#4b8bbe"),
    "js": FileIcon("javascript", "#d4a017"),
    "mjs": FileIcon("javascript", "#d4a017"),
    "cjs": FileIcon("javascript", "#d4a017"),
    "jsx": FileIcon("code", "#3fa7c4"),
    "ts": FileIcon("code", "#3b82c4"),
    "tsx": FileIcon("code", "#3b82c4"),
    "c": FileIcon("code", "#6a8fd0"),
    "h": FileIcon("code", "#a074c4"),
    "cpp": FileIcon("code", "#6a8fd0"),
    "cc": FileIcon("code", "#6a8fd0"),
    "cxx": FileIcon("code", "#6a8fd0"),
    "hpp": FileIcon("code", "#a074c4"),
    "hh": FileIcon("code", "#a074c4"),
    "java": FileIcon("code", "#e07b39"),
    "class": FileIcon("code", "#e07b39"),
    "sh": FileIcon("terminal", "#4eaa25"),
    "html": FileIcon("html", "#e5603b"),
    "htm": FileIcon("html", "#e5603b"),
    "css": FileIcon("css", "#5b8fd8"),
    "scss": FileIcon("css", "#c6538c"),
    "json": FileIcon("data_object", "#cb9a1a"),
    "yaml": FileIcon("data_object", "#cb9a1a"),
    "yml": FileIcon("data_object", "#cb9a1a"),
    "toml": FileIcon("data_object", "#cb9a1a"),
    "xml": FileIcon("code", "#e5603b"),
    "md": FileIcon("description", "#519aba"),
    "markdown": FileIcon("description", "#519aba"),
    "txt": TEXT,
    "csv": FileIcon("table_chart", "#2da44e"),
    "zip": FileIcon("folder_zip", "#8c959f"),
    **{ext: IMAGE for ext in ("png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "avif")},
}


def file_icon(path: str) -> FileIcon:
    """The icon of a file (not a folder) by its extension; names like `Makefile` or `.gitignore` are text."""
    name = path.rsplit("/", 1)[-1]
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return TEXT
    return BY_EXTENSION.get(extension.lower(), PLAIN)
