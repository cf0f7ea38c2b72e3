"""Which CodeMirror language highlights a file, chosen from its name: an enabled extension's language first
(its mode), else the built-in map."""

from __future__ import annotations

from typing import cast

from nicegui.elements.codemirror.constants import SUPPORTED_LANGUAGES

from domain.extension_contributions import NONE, Contributions

BY_EXTENSION: dict[str, SUPPORTED_LANGUAGES] = {
    "py": "Python", "pyi": "Python", "js": "JavaScript", "mjs": "JavaScript", "cjs": "JavaScript",
    "jsx": "JSX", "ts": "TypeScript", "tsx": "TSX", "json": "JSON", "html": "HTML", "htm": "HTML",
    "css": "CSS", "scss": "SCSS", "md": "Markdown", "c": "C", "h": "C++", "cpp": "C++", "cc": "C++",
    "cxx": "C++", "hpp": "C++", "hh": "C++", "java": "Java", "kt": "Kotlin", "sh": "Shell",
    "bash": "Shell", "yml": "YAML", "yaml": "YAML", "toml": "TOML", "xml": "XML", "sql": "SQL",
    "rs": "Rust", "go": "Go", "rb": "Ruby", "php": "PHP", "lua": "Lua", "r": "R", "swift": "Swift",
}  # fmt: skip
BY_NAME: dict[str, SUPPORTED_LANGUAGES] = {"Dockerfile": "Dockerfile", "Makefile": "Shell", "CMakeLists.txt": "CMake"}


def language_of(path: str, contributions: Contributions = NONE) -> SUPPORTED_LANGUAGES | None:
    """The editor's mode for `path`. A contributed language's mode is one of the editor's (the manifest's
    schema allows only those, and a unit test keeps its list equal to NiceGUI's)."""
    contributed = contributions.language_of(path)
    if contributed is not None:
        return cast(SUPPORTED_LANGUAGES, contributed.mode)
    name = path.rsplit("/", 1)[-1]
    if name in BY_NAME:
        return BY_NAME[name]
    if "." not in name:
        return None
    return BY_EXTENSION.get(name.rsplit(".", 1)[-1].lower())


def language_label(path: str, contributions: Contributions = NONE) -> str | None:
    """The language's name for the status bar: a contributed language's label, else the mode's name."""
    contributed = contributions.language_of(path)
    return contributed.label if contributed is not None else language_of(path)
