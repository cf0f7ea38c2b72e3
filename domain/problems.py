"""Problems: places in the workspace's files that a compiler, a traceback or a stack trace points at.

The run panel lists them as links and the editor marks them in its gutter."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    path: str  # relative to the workspace, as the tree shows it
    line: int  # 1-based
    column: int | None = None  # 1-based; None when the tool names only the line
    message: str = ""
    severity: str = "error"  # "error" or "warning"


MAX_PROBLEMS = 200
"""At most this many problems from one output: a flood of errors stays a list a page can show."""

SANDBOX_ROOTS = ("/work/",)
"""Where the sandboxes put the workspace's files (bubblewrap and docker: /work)."""
_LOCAL_ROOT = re.compile(r"^/(?:[^/]+/)*codeloft-run-[^/]+/")  # the local runner's temporary folder

_GCC = re.compile(
    r"^(?P<path>[^\s:][^:\n]*):(?P<line>\d+):(?P<column>\d+): (?P<kind>fatal error|error|warning): (?P<message>.*)$"
)
_JAVAC = re.compile(r"^(?P<path>[^\s:][^:\n]*\.java):(?P<line>\d+): (?P<kind>error|warning): (?P<message>.*)$")
_CARET = re.compile(r"^(?P<pad>\s*)\^\s*$")
_PYTHON_FRAME = re.compile(r'^\s+File "(?P<path>[^"\n]+)", line (?P<line>\d+)')
_NODE_HEADER = re.compile(r"^(?P<path>/\S+\.[cm]?js):(?P<line>\d+)$")
_NODE_FRAME = re.compile(r"^\s+at (?:.*? \()?(?:file://)?(?P<path>/[^()\s]+?):(?P<line>\d+):(?P<column>\d+)\)?$")
_JAVA_FRAME = re.compile(r"^\s+at (?:[\w$.]+/)?(?P<cls>[\w$.]+)\.[\w$<>]+\((?P<file>\w+\.java):(?P<line>\d+)\)$")


def find_problems(text: str, files: Collection[str]) -> list[Problem]:
    """The places in `files` (workspace paths) that compiler output, a Python traceback, a Node stack
    trace or a Java exception in `text` points at, in the order a person would look at them (a
    traceback's innermost frame first); paths outside the workspace are left out."""
    found = _Found(files)
    lines = text.splitlines()
    frames: list[tuple[str, int]] = []  # a Python traceback's frames so far
    message = ""  # the error a Node or Java stack trace belongs to
    for index, line in enumerate(lines):
        if found.full:
            break
        if match := _GCC.match(line):
            found.add(match["path"], int(match["line"]), int(match["column"]), match["message"], match["kind"])
        elif match := _JAVAC.match(line):
            column = _caret_column(lines, index)
            found.add(match["path"], int(match["line"]), column, match["message"], match["kind"])
        elif match := _PYTHON_FRAME.match(line):
            frames.append((match["path"], int(match["line"])))
        elif match := _NODE_HEADER.match(line):
            found.add(match["path"], int(match["line"]), None, _node_message(lines, index), "error")
        elif match := _NODE_FRAME.match(line):
            found.add(match["path"], int(match["line"]), int(match["column"]), message, "error")
        elif match := _JAVA_FRAME.match(line):
            path = _java_source(match["cls"], match["file"], files)
            if path is not None:
                found.add(path, int(match["line"]), None, message, "error")
        elif line and not line[0].isspace():
            if frames:  # the exception line that ends a Python traceback
                for path, number in reversed(frames):
                    found.add(path, number, None, line.strip(), "error")
                frames = []
            elif line != "Traceback (most recent call last):":
                message = line.strip()
    for path, number in reversed(frames):
        found.add(path, number, None, "", "error")
    return found.problems[:MAX_PROBLEMS]


class _Found:
    def __init__(self, files: Collection[str]) -> None:
        self._files = files
        self.problems: list[Problem] = []
        self._at: dict[tuple[str, int, str], int] = {}

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def add(self, raw: str, line: int, column: int | None, message: str, kind: str) -> None:
        path = workspace_path(raw, self._files)
        if path is None or line < 1:
            return
        key = (path, line, message)
        if key in self._at:  # a Node header and its first frame name one place: keep the column
            index = self._at[key]
            if self.problems[index].column is None and column is not None:
                self.problems[index] = Problem(path=path, line=line, column=column, message=message)
            return
        self._at[key] = len(self.problems)
        severity = "warning" if kind == "warning" else "error"
        self.problems.append(Problem(path=path, line=line, column=column, message=message, severity=severity))


def workspace_path(raw: str, files: Collection[str]) -> str | None:
    """The workspace path a tool's path means (relative to the work folder, or absolute inside the
    sandbox), if it is a file of the workspace."""
    path = raw
    for root in SANDBOX_ROOTS:
        if path.startswith(root):
            path = path[len(root) :]
            break
    else:
        path = _LOCAL_ROOT.sub("", path, count=1)
    while path.startswith("./"):
        path = path[2:]
    if path.startswith("/") or ".." in path.split("/"):
        return None
    return path if path in files else None


def _caret_column(lines: list[str], index: int) -> int | None:
    """javac prints the source line and a caret under the place, two lines after the message."""
    if index + 2 < len(lines) and (caret := _CARET.match(lines[index + 2])):
        return len(caret["pad"]) + 1
    return None


def _node_message(lines: list[str], index: int) -> str:
    """Node prints the source line, a caret and an empty line, then the error: "Error: boom"."""
    for after in range(index + 2, min(index + 6, len(lines))):
        line = lines[after]
        if line and not line[0].isspace() and lines[after - 1] == "":
            return line.strip()
    return ""


def _java_source(cls: str, file: str, files: Collection[str]) -> str | None:
    """The workspace file of a class in a Java stack frame (its package's folders, under any source
    root), if exactly one matches."""
    package = cls.rsplit(".", 1)[0].replace(".", "/") + "/" if "." in cls else ""
    tail = package + file
    matches = [f for f in files if f == tail or f.endswith("/" + tail)]
    return matches[0] if len(matches) == 1 else None
