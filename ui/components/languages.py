"""Which CodeMirror language highlights a file, chosen from its name."""

from __future__ import annotations

from nicegui.elements.codemirror.constants import SUPPORTED_LANGUAGES

BY_EXTENSION: dict[str, SUPPORTED_LANGUAGES] = {
    "py": "Python", "pyi": "Python", "js": "JavaScript", "mjs": "JavaScript", "cjs": "JavaScript",
    "jsx": "JSX", "ts": "TypeScript", "tsx": "TSX", "json": "JSON", "html": "HTML", "htm": "HTML",
    "css": "CSS", "scss": "SCSS", "md": "Markdown", "c": "C", "h": "C++", "cpp": "C++", "cc": "C++",
    "cxx": "C++", "hpp": "C++", "hh": "C++", "java": "Java", "kt": "Kotlin", "sh": "Shell",
    "bash": "Shell", "yml": "YAML", "yaml": "YAML", "toml": "TOML", "xml": "XML", "sql": "SQL",
    "rs": "Rust", "go": "Go", "rb": "Ruby", "php": "PHP", "lua": "Lua", "r": "R", "swift": "Swift",
}  # fmt: skip
BY_NAME: dict[str, SUPPORTED_LANGUAGES] = {"Dockerfile": "Dockerfile", "Makefile": "Shell", "CMakeLists.txt": "CMake"}


def language_of(path: str) -> SUPPORTED_LANGUAGES | None:
    name = path.rsplit("/", 1)[-1]
    if name in BY_NAME:
        return BY_NAME[name]
    if "." not in name:
        return None
    return BY_EXTENSION.get(name.rsplit(".", 1)[-1].lower())
