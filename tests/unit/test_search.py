"""Search and replace across a workspace on fakes: what matches, the caps, who may search and replace,
and a replace that never overwrites a file changed after its preview."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import InvalidInput, NotFound, PermissionDenied
from domain.files import FileService, content_hash
from domain.gate import WorkspaceGate
from domain.limits import FileLimits
from domain.search import (
    ELLIPSIS,
    MAX_PER_FILE,
    MAX_QUERY_LENGTH,
    MAX_RESULTS,
    PREVIEW_CHARS,
    SearchQuery,
    find_in_text,
    replace_in_text,
)
from domain.values import PermissionLevel
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.builders import share
from tests.unit.fakes import FakeCache, FakeFiles, FakeUnitOfWork, Store

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00needle" + bytes(range(256))


@pytest.fixture
async def workspace_id(workspaces: WorkspaceService, owner: Actor) -> UUID:
    return (await workspaces.create(owner, name="w", language="python")).id


async def put(files: FileService, actor: Actor, workspace_id: UUID, contents: dict[str, str]) -> None:
    for path, text in contents.items():
        await files.write(actor, workspace_id, path, text.encode())


async def text_of(files: FileService, actor: Actor, workspace_id: UUID, path: str) -> str:
    return (await files.read(actor, workspace_id, path))[1].decode()


async def reader_of(accounts: AccountService, store: Store, owner: Actor, workspace_id: UUID) -> Actor:
    reader = Actor((await accounts.add_local_user("reader@example.com")).id)
    assert reader.user_id and owner.user_id
    share(store, workspace_id, owner, reader, PermissionLevel.READ)
    return reader


# --- one text ------------------------------------------------------------------------------------


def test_a_literal_search_is_case_insensitive_unless_asked_and_takes_special_characters_as_they_are() -> None:
    text = "a needle\r\n  Needle, NEEDLE\nneedles? (needle)*\n"
    found = find_in_text(text, SearchQuery("needle"))
    assert [(m.line, m.column, m.matched) for m in found] == [
        (1, 3, "needle"),
        (2, 3, "Needle"),
        (2, 11, "NEEDLE"),
        (3, 1, "needle"),
        (3, 11, "needle"),
    ]
    assert [(m.line, m.column) for m in find_in_text(text, SearchQuery("needle", case=True))] == [
        (1, 3),
        (3, 1),
        (3, 11),
    ]
    assert [(m.line, m.column) for m in find_in_text(text, SearchQuery("(needle)*"))] == [(3, 10)]
    second = found[1]
    assert (second.before, second.matched, second.after, second.length) == ("", "Needle", ", NEEDLE", 6)


def test_whole_word_skips_matches_inside_words() -> None:
    text = "needle needles haystack_needle needle.\n(needle)"
    found = find_in_text(text, SearchQuery("needle", whole_word=True))
    assert [(m.line, m.column) for m in found] == [(1, 1), (1, 32), (2, 2)]
    assert [m.column for m in find_in_text("a.b a.bc", SearchQuery("a.b", whole_word=True))] == [1]


def test_a_regex_matches_per_line_and_replaces_with_its_groups() -> None:
    text = "def add(a, b):\r\n    return add(b, a)\n"
    query = SearchQuery(r"add\((\w), (?P<second>\w)\)", regex=True)
    assert [(m.line, m.column, m.matched) for m in find_in_text(text, query)] == [
        (1, 5, "add(a, b)"),
        (2, 12, "add(b, a)"),
    ]
    assert replace_in_text(text, query, r"plus(\g<second>, \1)") == (
        "def plus(b, a):\r\n    return plus(a, b)\n",
        2,
    )
    assert find_in_text("one\ntwo", SearchQuery("one.two", regex=True)) == []  # never across lines
    assert replace_in_text("x\ny\n", SearchQuery("^", regex=True), "# ") == ("# x\n# y\n# ", 3)


def test_a_literal_replacement_is_taken_as_it_is() -> None:
    assert replace_in_text("a.b A.B axb", SearchQuery("a.b"), r"\1 \g<x>") == (r"\1 \g<x> \1 \g<x> axb", 2)
    assert replace_in_text("Needle needle", SearchQuery("needle", case=True), "pin") == ("Needle pin", 1)
    assert replace_in_text("nothing here", SearchQuery("needle"), "pin") == ("nothing here", 0)


def test_invalid_queries_and_replacements_say_what_is_wrong() -> None:
    with pytest.raises(InvalidInput, match="Type something to search for"):
        SearchQuery("")
    with pytest.raises(InvalidInput, match="not valid: missing \\), unterminated subpattern at position 1"):
        SearchQuery("(needle", regex=True)
    assert SearchQuery("(needle").pattern.search("a (needle")  # not a regex: the bracket is literal
    with pytest.raises(InvalidInput, match=f"at most {MAX_QUERY_LENGTH:,} characters"):
        SearchQuery("x" * (MAX_QUERY_LENGTH + 1))
    with pytest.raises(InvalidInput, match="replacement is not valid: invalid group reference 2"):
        replace_in_text("needle", SearchQuery("(needle)", regex=True), r"\2")
    with pytest.raises(InvalidInput, match="replacement is not valid: unknown group name 'x'"):
        replace_in_text("needle", SearchQuery("(needle)", regex=True), r"\g<x>")


def test_a_long_line_is_shown_cut_around_its_match() -> None:
    line = "x" * 1000 + "needle" + "y" * 1000
    [match] = find_in_text(line, SearchQuery("needle"))
    assert match.column == 1001 and match.matched == "needle"
    assert match.before.startswith(ELLIPSIS) and match.after.endswith(ELLIPSIS)
    assert len(match.preview) <= PREVIEW_CHARS + 2
    [at_end] = find_in_text("x" * 1000 + "needle", SearchQuery("needle"))
    assert at_end.after == "" and len(at_end.preview) == PREVIEW_CHARS + 1  # the room goes before it
    [indented] = find_in_text("        return needle", SearchQuery("needle"))
    assert (indented.before, indented.column) == ("return ", 16)  # indentation left out of the preview
    [wide] = find_in_text("😀 needle", SearchQuery("needle"))
    assert (wide.column, wide.editor_column) == (3, 4)  # an editor counts the emoji as two


# --- a workspace ---------------------------------------------------------------------------------


async def test_results_are_grouped_by_file_sorted_by_path_with_the_version_searched(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    await put(
        files,
        owner,
        workspace_id,
        {"src/b.py": "needle = 1\nprint(needle)\n", "a.txt": "Needle\n", "c.md": "hay\n", "src/a.py": "no\n"},
    )
    await files.write(owner, workspace_id, "logo.png", PNG)
    await files.create_folder(owner, workspace_id, "needle")
    results = await files.search(owner, workspace_id, SearchQuery("needle"))
    assert [(f.path, [m.line for m in f.matches]) for f in results.files] == [("a.txt", [1]), ("src/b.py", [1, 2])]
    assert results.count == 3 and not results.truncated and results.skipped == ()
    assert results.hashes == {
        "a.txt": content_hash(b"Needle\n"),
        "src/b.py": content_hash(b"needle = 1\nprint(needle)\n"),
    }
    assert (await files.search(owner, workspace_id, SearchQuery("needle", case=True))).count == 2


async def test_results_are_capped_per_file_and_in_all(files: FileService, owner: Actor, workspace_id: UUID) -> None:
    await put(files, owner, workspace_id, {"one.txt": "needle\n" * (MAX_PER_FILE + 1), "two.txt": "needle\n"})
    results = await files.search(owner, workspace_id, SearchQuery("needle"))
    assert [(f.path, len(f.matches), f.truncated) for f in results.files] == [
        ("one.txt", MAX_PER_FILE, True),
        ("two.txt", 1, False),
    ]
    assert results.truncated
    many = MAX_RESULTS // MAX_PER_FILE + 1
    await put(files, owner, workspace_id, {f"many/{n:02}.txt": "needle\n" * MAX_PER_FILE for n in range(many)})
    results = await files.search(owner, workspace_id, SearchQuery("needle"))
    assert results.count == MAX_RESULTS and results.truncated
    await put(files, owner, workspace_id, {"one.txt": "hay\n", "two.txt": "hay\n"})
    await files.delete(owner, workspace_id, f"many/{many - 1:02}.txt")
    results = await files.search(owner, workspace_id, SearchQuery("needle"))
    assert results.count == MAX_RESULTS and not results.truncated  # exactly full, nothing left out


async def test_exactly_the_cap_is_not_truncated(files: FileService, owner: Actor, workspace_id: UUID) -> None:
    await put(files, owner, workspace_id, {"one.txt": "needle\n" * MAX_PER_FILE, "two.txt": "hay\n"})
    results = await files.search(owner, workspace_id, SearchQuery("needle"))
    assert results.count == MAX_PER_FILE and not results.truncated and not results.files[0].truncated


async def test_binary_files_are_not_searched_and_oversized_text_is_skipped(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store, clock: FrozenClock, gate: WorkspaceGate
) -> None:
    await files.write(owner, workspace_id, "logo.png", PNG)
    await put(files, owner, workspace_id, {"big.txt": "needle " * 10, "small.txt": "needle"})
    small = FileService(
        uow=lambda: FakeUnitOfWork(store),
        cache=FakeCache(),
        clock=clock,
        gate=gate,
        limits=FileLimits(max_text_bytes=20),
    )
    results = await small.search(owner, workspace_id, SearchQuery("needle"))
    assert [f.path for f in results.files] == ["small.txt"] and results.skipped == ("big.txt",)
    results = await files.search(owner, workspace_id, SearchQuery("needle"))
    assert [f.path for f in results.files] == ["big.txt", "small.txt"] and results.skipped == ()


async def test_readers_may_search_but_not_replace_and_strangers_see_nothing(
    files: FileService, accounts: AccountService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    await put(files, owner, workspace_id, {"a.txt": "needle"})
    reader = await reader_of(accounts, store, owner, workspace_id)
    stranger = Actor((await accounts.add_local_user("stranger@example.com")).id)
    results = await files.search(reader, workspace_id, SearchQuery("needle"))
    assert results.count == 1
    with pytest.raises(PermissionDenied):
        await files.replace(reader, workspace_id, SearchQuery("needle"), "pin", expected=results.hashes)
    with pytest.raises(NotFound):
        await files.search(stranger, workspace_id, SearchQuery("needle"))
    with pytest.raises(NotFound):
        await files.replace(stranger, workspace_id, SearchQuery("needle"), "pin", expected=results.hashes)
    assert await text_of(files, owner, workspace_id, "a.txt") == "needle"


async def test_replace_saves_each_previewed_file_through_the_normal_save(
    files: FileService, owner: Actor, workspace_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    await put(files, owner, workspace_id, {"a.txt": "needle needle\n", "b/c.py": "Needle = 1\n", "d.txt": "needle"})
    query = SearchQuery("needle")
    results = await files.search(owner, workspace_id, query)
    saves: list[tuple[str, str | None]] = []
    write = files.write

    async def spy(*args: Any, **kwargs: Any) -> Any:
        saves.append((args[2], kwargs.get("if_match")))
        return await write(*args, **kwargs)

    monkeypatch.setattr(files, "write", spy)
    without_content = FakeFiles.get_many

    async def metadata_only(self: FakeFiles, workspace_id: UUID, paths: Any) -> Any:
        return [replace(f, content=None) for f in await without_content(self, workspace_id, paths)]

    monkeypatch.setattr(FakeFiles, "get_many", metadata_only)  # as the database adapter: no content
    previewed = {p: h for p, h in results.hashes.items() if p != "d.txt"}  # d.txt was not in the preview
    done = await files.replace(owner, workspace_id, query, "pin", expected=previewed)
    assert done.replaced == {"a.txt": 2, "b/c.py": 1} and done.count == 3 and done.stale == () and not done.failed
    assert saves == [("a.txt", previewed["a.txt"]), ("b/c.py", previewed["b/c.py"])]
    assert await text_of(files, owner, workspace_id, "a.txt") == "pin pin\n"
    assert await text_of(files, owner, workspace_id, "b/c.py") == "pin = 1\n"
    assert await text_of(files, owner, workspace_id, "d.txt") == "needle"


async def test_a_file_changed_after_the_preview_is_reported_stale_and_keeps_its_new_content(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    await put(files, owner, workspace_id, {"a.txt": "needle\n", "b.txt": "needle\n", "c.txt": "needle\n"})
    query = SearchQuery("needle")
    results = await files.search(owner, workspace_id, query)
    await files.write(owner, workspace_id, "b.txt", b"needle, changed in another tab\n")
    await files.delete(owner, workspace_id, "c.txt")
    done = await files.replace(owner, workspace_id, query, "pin", expected=results.hashes)
    assert done.replaced == {"a.txt": 1} and done.stale == ("b.txt", "c.txt")
    assert await text_of(files, owner, workspace_id, "a.txt") == "pin\n"
    assert await text_of(files, owner, workspace_id, "b.txt") == "needle, changed in another tab\n"
    with pytest.raises(NotFound):
        await files.read(owner, workspace_id, "c.txt")


async def test_an_invalid_replacement_saves_nothing_and_a_file_past_the_limit_is_reported(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store, clock: FrozenClock, gate: WorkspaceGate
) -> None:
    await put(files, owner, workspace_id, {"a.txt": "needle", "b.txt": "needle needle"})
    query = SearchQuery("(needle)", regex=True)
    results = await files.search(owner, workspace_id, query)
    with pytest.raises(InvalidInput, match="invalid group reference 2"):
        await files.replace(owner, workspace_id, query, r"\2", expected=results.hashes)
    assert await text_of(files, owner, workspace_id, "a.txt") == "needle"
    small = FileService(
        uow=lambda: FakeUnitOfWork(store),
        cache=FakeCache(),
        clock=clock,
        gate=gate,
        limits=FileLimits(max_text_bytes=20),
    )
    done = await small.replace(owner, workspace_id, query, r"\1-\1", expected=results.hashes)
    assert (
        done.replaced == {"a.txt": 1} and list(done.failed) == ["b.txt"] and "at most 20 bytes" in done.failed["b.txt"]
    )
    assert await text_of(files, owner, workspace_id, "a.txt") == "needle-needle"
    assert await text_of(files, owner, workspace_id, "b.txt") == "needle needle"
