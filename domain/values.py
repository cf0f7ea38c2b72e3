"""Value objects: immutable, validated in their constructor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from domain.errors import InvalidInput


class Tier(StrEnum):
    FREE = "free"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"


class Language(StrEnum):
    PYTHON = "python"
    JAVASCRIPT = "javascript"
    CPP = "cpp"
    JAVA = "java"


class PermissionLevel(StrEnum):
    """What a share grants: the spec's `permission_level` values."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


E = TypeVar("E", bound=StrEnum)


def parse_enum(kind: type[E], value: str, *, what: str) -> E:
    """`kind(value)` with a message that lists the allowed values."""
    try:
        return kind(value.strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"Unknown {what} {value!r}: choose one of {allowed}.") from None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Email:
    value: str

    def __post_init__(self) -> None:
        normalized = self.value.strip().lower()
        if len(normalized) > 255 or not _EMAIL.match(normalized):
            raise InvalidInput(f"{self.value!r} is not an e-mail address (expected name@host).")
        object.__setattr__(self, "value", normalized)

    def __str__(self) -> str:
        return self.value


MAX_PATH_BYTES = 1024
MAX_SEGMENT_BYTES = 255
"""A file or folder name: what file systems allow in one path component (NAME_MAX); a longer one
could be stored but never unpacked into a run's sandbox."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Bidirectional controls (embeddings, overrides, isolates, marks): `invoice\u202etxt.py` shows as
`invoiceyp.txt`, so a name could pass for another."""
_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_UTF8 = "A path must be valid UTF-8: two different names must never be stored as the same one."


def decode_path(raw: bytes) -> str:
    """A path that arrived as bytes (a URL's, after its %-escapes), refusing bytes that are not UTF-8
    instead of storing U+FFFD in their place."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(NOT_UTF8) from None


@dataclass(frozen=True, slots=True)
class WorkspacePath:
    """A file's path relative to the workspace root, `/`-separated."""

    value: str

    def __post_init__(self) -> None:
        path = self.value
        if not path:
            raise InvalidInput("A path cannot be empty.")
        if _SURROGATE.search(path):
            raise InvalidInput(NOT_UTF8)
        if len(path.encode("utf-8")) > MAX_PATH_BYTES:
            raise InvalidInput(f"A path may be at most {MAX_PATH_BYTES} bytes long.")
        if _CONTROL.search(path):
            raise InvalidInput("A path cannot contain NUL or other control characters.")
        if _BIDI.search(path):
            raise InvalidInput(
                "A path cannot contain bidirectional control characters (U+202A to U+202E, U+2066 to U+2069, "
                "U+200E, U+200F): they make a name show as another."
            )
        if "\\" in path:
            raise InvalidInput("A path uses '/' between folders, never a backslash.")
        if path.startswith("/"):
            raise InvalidInput("A path is relative to the workspace root: it cannot start with '/'.")
        for segment in path.split("/"):
            if segment == "":
                raise InvalidInput("A path cannot have an empty segment ('//' or a trailing '/').")
            if segment in (".", ".."):
                raise InvalidInput("A path cannot contain '.' or '..' segments.")
            size = len(segment.encode("utf-8"))
            if size > MAX_SEGMENT_BYTES:
                shown = segment if len(segment) <= 40 else segment[:37] + "…"
                raise InvalidInput(
                    f"A path may have at most {MAX_SEGMENT_BYTES} bytes per path segment, that is per file or "
                    f"folder name: {shown!r} has {size} bytes."
                )

    @property
    def name(self) -> str:
        return self.value.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        return self.value.rsplit("/", 1)[0] if "/" in self.value else ""

    def __str__(self) -> str:
        return self.value


def require_text(value: str, *, what: str, max_length: int, allow_empty: bool = False, lines: bool = False) -> str:
    """`value` without the spaces around it, checked as given: at most `max_length` characters, no
    control characters (tabs and line breaks only where `lines`), and not blank unless `allow_empty`.
    Each message names the field and the rule; the API's document states the same rules."""
    if len(value) > max_length:
        raise InvalidInput(f"The {what} may be at most {max_length} characters long.")
    if _CONTROL.search(value.replace("\n", "").replace("\t", "") if lines else value):
        raise InvalidInput(f"The {what} cannot contain control characters.")
    text = value.strip()
    if not text and not allow_empty:
        raise InvalidInput(f"The {what} cannot be empty.")
    return text


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    STOPPED = "stopped"


class Reason(StrEnum):
    OK = "ok"
    COMPILE_ERROR = "compile_error"
    RUNTIME_ERROR = "runtime_error"
    SIGNAL = "signal"
    TIME_LIMIT = "time_limit"
    WALL_TIME_LIMIT = "wall_time_limit"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    STOPPED = "stopped"
    INTERNAL_ERROR = "internal_error"


REASON_WORDS: dict[str, str] = {
    Reason.OK: "finished",
    Reason.COMPILE_ERROR: "did not compile",
    Reason.RUNTIME_ERROR: "exited with an error",
    Reason.SIGNAL: "was killed by a signal",
    Reason.TIME_LIMIT: "used up its CPU time",
    Reason.WALL_TIME_LIMIT: "ran out of wall-clock time",
    Reason.MEMORY_LIMIT: "ran out of memory",
    Reason.OUTPUT_LIMIT: "wrote too much output",
    Reason.STOPPED: "was stopped",
    Reason.INTERNAL_ERROR: "could not be run: the sandbox failed",
}
"""How a run ended, said after its name ("main.py ran out of memory")."""
