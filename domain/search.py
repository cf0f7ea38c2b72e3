"""Search across a workspace's text files (and replace): what a query is, where it matches in one text,
and the results of a whole workspace, capped so that no query floods a page.

Pure functions: the caller (`FileService.search`, `FileService.replace`) reads the files and saves the
changes. A regular expression runs on one line at a time (so it never spans lines, and a costly one only
ever sees one line), and the number of results is capped per file and in all."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.entities import FOLDER_MIME, WorkspaceFile
from domain.errors import InvalidInput

MAX_QUERY_LENGTH = 1000
MAX_REPLACEMENT_LENGTH = 1000
MAX_RESULTS = 5000
MAX_PER_FILE = 200
PREVIEW_CHARS = 200
PREVIEW_LEAD = 60
"""A long line is shown cut to about `PREVIEW_CHARS` around its match, with up to `PREVIEW_LEAD`
characters before it."""
ELLIPSIS = "…"

_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
"""The line breaks a browser editor counts lines by (CodeMirror splits on these three)."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to look for: `text` as typed, a regular expression if `regex`, matching case only if
    `case`, and only as a whole word if `whole_word`. Invalid queries raise `InvalidInput`."""

    text: str
    regex: bool = False
    case: bool = False
    whole_word: bool = False
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.text:
            raise InvalidInput("Type something to search for.")
        if len(self.text) > MAX_QUERY_LENGTH:
            raise InvalidInput(f"A search may be at most {MAX_QUERY_LENGTH:,} characters long.")
        source = self.text if self.regex else re.escape(self.text)
        if self.whole_word:
            source = rf"(?<!\w)(?:{source})(?!\w)"
        try:
            pattern = re.compile(source, 0 if self.case else re.IGNORECASE)
        except re.error as error:
            raise InvalidInput(f"The regular expression is not valid: {_describe(error)}.") from None
        except (OverflowError, RecursionError):
            raise InvalidInput("The regular expression is too complex.") from None
        object.__setattr__(self, "pattern", pattern)


def _describe(error: re.error) -> str:
    message = error.msg
    return message if error.pos is None else f"{message} at position {error.pos + 1}"


@dataclass(frozen=True, slots=True)
class Match:
    """One match on one line. `line` and `column` are 1-based (`column` counts characters;
    `editor_column` counts UTF-16 code units, as a browser editor does); `length` is the match's length
    in characters. `before`, `matched` and `after` are the line cut to about `PREVIEW_CHARS` around the
    match (an ellipsis where it was cut, the line's indentation left out), for showing it."""

    line: int
    column: int
    length: int
    before: str
    matched: str
    after: str
    editor_column: int

    @property
    def preview(self) -> str:
        return self.before + self.matched + self.after


@dataclass(frozen=True, slots=True)
class FileMatches:
    """The matches in one file, in order; `content_hash` is the version they were found in (a replace
    saves over that version only). `truncated`: the file has more than `MAX_PER_FILE` matches."""

    path: str
    content_hash: str
    matches: tuple[Match, ...]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class SearchResults:
    """The files with matches, sorted by path. `truncated`: some matches are not listed (a file had more
    than `MAX_PER_FILE`, or there were more than `MAX_RESULTS` in all). `skipped`: text files too large
    to search."""

    files: tuple[FileMatches, ...] = ()
    truncated: bool = False
    skipped: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return sum(len(f.matches) for f in self.files)

    @property
    def hashes(self) -> dict[str, str]:
        """Each file with matches and the hash of the version searched: what a replace expects."""
        return {f.path: f.content_hash for f in self.files}


@dataclass(frozen=True, slots=True)
class ReplaceResults:
    """What a replace across files did: `replaced` maps each saved file to how many replacements it got;
    `stale` are the files that changed (or went) after the search, left as they are now; `failed` maps
    files that could not be saved (a size limit, the quota) to the reason."""

    replaced: dict[str, int]
    stale: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.replaced.values())


def _lines(text: str) -> list[str]:
    """Lines and the breaks after them, alternating: ['a', '\\n', 'b'] (always an odd length)."""
    return _LINE_BREAK.split(text)


def _preview(line: str, start: int, end: int) -> tuple[str, str, str]:
    matched = line[start:end]
    if len(matched) > PREVIEW_CHARS:
        matched = matched[:PREVIEW_CHARS] + ELLIPSIS
    if len(line) <= PREVIEW_CHARS:
        begin, stop = 0, len(line)
    else:
        room = max(0, PREVIEW_CHARS - (end - start))
        begin = start - min(start, PREVIEW_LEAD, room)
        stop = min(len(line), end + room - (start - begin))
        begin = min(begin, max(0, stop - PREVIEW_CHARS))  # near the line's end: more of what comes before
    before = line[begin:start]
    after = line[end:stop]
    before = (ELLIPSIS + before) if begin > 0 else before.lstrip()
    if stop < len(line):
        after += ELLIPSIS
    return before, matched, after


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def find_in_text(text: str, query: SearchQuery, *, limit: int = MAX_PER_FILE) -> list[Match]:
    """The matches of `query` in `text`, line by line, at most `limit` (ask for one more than you show
    to learn whether there are more)."""
    found: list[Match] = []
    if limit <= 0:
        return found
    parts = _lines(text)
    for index in range(0, len(parts), 2):
        line = parts[index]
        for hit in query.pattern.finditer(line):
            start, end = hit.span()
            before, matched, after = _preview(line, start, end)
            found.append(
                Match(
                    line=index // 2 + 1,
                    column=start + 1,
                    length=end - start,
                    before=before,
                    matched=matched,
                    after=after,
                    editor_column=_utf16_length(line[:start]) + 1,
                )
            )
            if len(found) >= limit:
                return found
    return found


def replace_in_text(text: str, query: SearchQuery, replacement: str) -> tuple[str, int]:
    """`text` with every match of `query` replaced, and how many there were. For a regular expression
    the replacement may name groups (`\\1`, `\\g<name>`; `\\\\` for a backslash); otherwise it is taken
    literally. Line breaks stay as they were."""
    if len(replacement) > MAX_REPLACEMENT_LENGTH:
        raise InvalidInput(f"A replacement may be at most {MAX_REPLACEMENT_LENGTH:,} characters long.")
    parts = _lines(text)
    total = 0
    for index in range(0, len(parts), 2):
        try:
            if query.regex:
                parts[index], count = query.pattern.subn(replacement, parts[index])
            else:
                parts[index], count = query.pattern.subn(lambda _: replacement, parts[index])
        except re.error as error:
            raise InvalidInput(f"The replacement is not valid: {_describe(error)}.") from None
        except IndexError as error:  # an unknown group name
            raise InvalidInput(f"The replacement is not valid: {error}.") from None
        total += count
    return "".join(parts), total


def searchable_text(file: WorkspaceFile, *, max_text_bytes: int) -> str | None:
    """The text of a file a search looks in, or None: folders, binary files and text larger than
    `max_text_bytes` are not searched."""
    if file.mime_type == FOLDER_MIME or file.is_binary or file.size_bytes > max_text_bytes:
        return None
    return file.content or ""


def search_files(
    files: Iterable[WorkspaceFile],
    query: SearchQuery,
    *,
    max_text_bytes: int,
    max_results: int = MAX_RESULTS,
    max_per_file: int = MAX_PER_FILE,
) -> SearchResults:
    """Search every text file of `files` (CPU work: run it through `Offload`), sorted by path."""
    grouped: list[FileMatches] = []
    skipped: list[str] = []
    truncated = False
    total = 0
    for file in sorted(files, key=lambda f: f.path):
        if file.mime_type == FOLDER_MIME or file.is_binary:
            continue
        text = searchable_text(file, max_text_bytes=max_text_bytes)
        if text is None:
            skipped.append(file.path)
            continue
        room = min(max_per_file, max_results - total)
        if room <= 0:  # no room left: only whether there is more
            if find_in_text(text, query, limit=1):
                truncated = True
                break
            continue
        found = find_in_text(text, query, limit=room + 1)
        more = len(found) > room
        found = found[:room]
        truncated = truncated or more
        if found:
            grouped.append(
                FileMatches(path=file.path, content_hash=file.content_hash, matches=tuple(found), truncated=more)
            )
            total += len(found)
    return SearchResults(files=tuple(grouped), truncated=truncated, skipped=tuple(skipped))
