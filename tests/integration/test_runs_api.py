"""Runs over HTTP against the real `codeloft serve` and the real bubblewrap sandbox: every starter
template runs, stdin and another file, compile errors and the compile cache, limits, the history,
refusals, who may run, and the job rows the runs leave in the server's SQLite database."""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_client import NOWHERE, User, refused, sign_in
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.serving import Server, start_server

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

HELLO = "Hello, Codeloft!\n"
RUN_FIELDS = {
    "id",
    "path",
    "language",
    "status",
    "reason",
    "exit_code",
    "signal",
    "stdout",
    "stderr",
    "compile_output",
    "compiled",
    "compile_cached",
    "truncated",
    "time_ms",
    "wall_ms",
    "memory_kb",
    "stdin",
    "created_at",
    "completed_at",
}


# --- helpers ---------------------------------------------------------------------------------


def runs_url(ws: str) -> str:
    return f"/api/v1/workspaces/{ws}/runs"


def start(user: User, ws: str, **body: Any) -> httpx.Response:
    return user.post(runs_url(ws), json=body, timeout=120)


def run(user: User, ws: str, **body: Any) -> dict[str, Any]:
    response = start(user, ws, **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def history(user: User, ws: str) -> list[dict[str, Any]]:
    response = user.client.get(runs_url(ws))
    assert response.status_code == 200, response.text
    return list(response.json())


def python_workspace(user: User, source: bytes = b"print('hi')\n", name: str = "Runs") -> str:
    ws = user.create(name, language="python")
    user.write(ws, "main.py", source)
    return ws


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def database(server: Server) -> sqlite3.Connection:
    connection = sqlite3.connect(Path(server.env["CODELOFT_DATA_DIR"]) / "codeloft.db")
    connection.row_factory = sqlite3.Row
    return connection


def row(server: Server, sql: str, run_id: str) -> sqlite3.Row | None:
    """A row selected by a run id, whichever way the database spells UUIDs."""
    connection = database(server)
    try:
        found: sqlite3.Row | None = connection.execute(sql, (uuid.UUID(run_id).hex, run_id)).fetchone()
        return found
    finally:
        connection.close()


def count_runs(server: Server, ws: str) -> int:
    connection = database(server)
    try:
        (count,) = connection.execute(
            "SELECT count(*) FROM execution_jobs e JOIN compilation_jobs c ON e.compilation_job_id = c.id "
            "WHERE c.workspace_id IN (?, ?)",
            (uuid.UUID(ws).hex, ws),
        ).fetchone()
    finally:
        connection.close()
    return int(count)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("runs-api"), CODELOFT_RUNNER="bubblewrap")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ann(server: Server) -> Iterator[User]:
    user = sign_in(server, "ann.runs@example.com")
    yield user
    user.client.close()


@pytest.fixture(scope="module")
def bob(server: Server) -> Iterator[User]:
    user = sign_in(server, "bob.runs@example.com")
    yield user
    user.client.close()


# --- every template runs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "path", "compiled"),
    [
        ("python", "main.py", False),
        ("javascript", "index.js", False),
        ("cpp", "main.cpp", True),
        ("java", "src/app/Main.java", True),
    ],
)
def test_each_template_runs_and_says_hello(ann: User, language: str, path: str, compiled: bool) -> None:
    ws = ann.create(f"{language} hello", language=language, template=language)
    result = run(ann, ws)
    assert set(result) == RUN_FIELDS
    assert (result["status"], result["reason"], result["exit_code"]) == ("success", "ok", 0), result
    assert result["stdout"] == HELLO and result["stderr"] == ""
    assert (result["path"], result["language"], result["compiled"]) == (path, language, compiled)
    assert result["time_ms"] is not None and result["time_ms"] >= 0
    assert result["wall_ms"] is not None and result["wall_ms"] > 0
    assert result["memory_kb"] is not None and result["memory_kb"] > 0
    assert result["signal"] is None and result["truncated"] is False
    assert result["completed_at"] is not None
    assert moment(result["completed_at"]) >= moment(result["created_at"])


@pytest.mark.parametrize(
    ("language", "other", "entry"),
    [("cpp", "greeting.cpp", "main.cpp"), ("java", "src/app/Greeting.java", "src/app/Main.java")],
)
def test_a_template_runs_its_program_whatever_file_is_asked(ann: User, language: str, other: str, entry: str) -> None:
    ws = ann.create(f"{language} project", language=language, template=language)
    assert ann.workspace(ws)["settings"]["run"] == {"entry": entry}  # from the template
    result = run(ann, ws, path=other)  # the file open in the editor, which has no main
    assert (result["status"], result["stdout"], result["path"]) == ("success", HELLO, entry), result


def test_stdin_reaches_the_program_and_is_kept(ann: User) -> None:
    ws = python_workspace(ann, b"name = input()\nprint(f'Hello, {name}!')\nprint(input())\n")
    result = run(ann, ws, stdin="stdin\nsecond line\n")
    assert (result["status"], result["stdout"]) == ("success", "Hello, stdin!\nsecond line\n")
    assert result["stdin"] == "stdin\nsecond line\n"
    assert history(ann, ws)[0]["stdin"] == "stdin\nsecond line\n"


def test_stdin_past_the_plans_cap_is_refused_and_nothing_is_stored(server: Server, ann: User) -> None:
    ws = python_workspace(ann, b"import sys\nprint(len(sys.stdin.read()))\n", name="Big stdin")
    response = start(ann, ws, stdin="x" * (1024 * 1024 + 1))
    refused(response, 413, "input (stdin) is larger than 1 MB")
    assert count_runs(server, ws) == 0 and history(ann, ws) == []
    result = run(ann, ws, stdin="x" * (1024 * 1024))
    assert (result["status"], result["stdout"]) == ("success", "1048576\n"), result


def test_a_path_runs_another_file(ann: User) -> None:
    ws = python_workspace(ann)
    ann.write(ws, "tools/other.py", b"import sys\nprint('other', file=sys.stderr)\nraise SystemExit(3)\n")
    result = run(ann, ws, path="tools/other.py")
    assert result["path"] == "tools/other.py"
    assert (result["status"], result["reason"], result["exit_code"]) == ("error", "runtime_error", 3)
    assert result["stderr"] == "other\n" and result["stdout"] == ""


def test_nul_bytes_in_stdin_and_output_round_trip(ann: User) -> None:
    ws = python_workspace(ann, b"import sys\ndata = sys.stdin.read()\nprint(repr(data))\nprint('a\\0b')\n")
    result = run(ann, ws, stdin="x\u0000y")
    assert (result["status"], result["stdout"]) == ("success", "'x\\x00y'\na\x00b\n"), result
    (entry,) = history(ann, ws)
    # kept as U+FFFD: PostgreSQL's text cannot hold NUL, and both databases store the same
    assert (entry["stdin"], entry["stdout"]) == ("x\ufffdy", "'x\\x00y'\na\ufffdb\n")


@pytest.mark.parametrize(
    ("language", "name", "source"),
    [
        ("python", "-v.py", b"print('hello')\n"),
        ("javascript", "--version.js", b"console.log('hello')\n"),
    ],
    ids=["python", "javascript"],
)
def test_a_file_named_like_an_option_still_runs(ann: User, language: str, name: str, source: bytes) -> None:
    ws = ann.create(f"dash {language}", language=language)
    ann.write(ws, name, source)
    result = run(ann, ws, path=name)
    assert (result["status"], result["stdout"]) == ("success", "hello\n"), result


def test_a_cpp_source_named_like_an_option_does_not_break_the_build(ann: User) -> None:
    ws = ann.create("dash cpp", language="cpp")
    ann.write(ws, "main.cpp", f'#include <cstdio>\n// {uuid.uuid4().hex}\nint main() {{ std::puts("hi"); }}\n'.encode())
    ann.write(ws, "-v.cpp", b"int unused() { return 1; }\n")
    result = run(ann, ws)
    assert (result["status"], result["stdout"]) == ("success", "hi\n"), result


# --- compiling ------------------------------------------------------------------------------


def test_a_compile_error_answers_201_with_the_compiler_output(ann: User) -> None:
    ws = ann.create("Broken C++", language="cpp")
    marker = uuid.uuid4().hex  # never seen by the compile cache
    ann.write(ws, "main.cpp", f"// {marker}\nint main() {{\n  return undefined_name;\n}}\n".encode())
    result = run(ann, ws, stdin="unused\n")
    assert (result["status"], result["reason"], result["compiled"]) == ("error", "compile_error", True), result
    assert "main.cpp:3:" in result["compile_output"] and "undefined_name" in result["compile_output"]
    assert result["stdout"] == "" and result["compile_cached"] is False
    again = run(ann, ws)
    assert (again["reason"], again["compile_cached"]) == ("compile_error", True)
    assert "main.cpp:3:" in again["compile_output"]


def test_a_second_identical_cpp_run_uses_the_cached_build(ann: User) -> None:
    ws = ann.create("Cached C++", language="cpp", template="cpp")
    marker = uuid.uuid4().hex
    ann.write(ws, "main.cpp", f'#include <cstdio>\n// {marker}\nint main() {{ std::puts("built"); }}\n'.encode())
    first = run(ann, ws)
    second = run(ann, ws)
    assert (first["stdout"], first["compiled"], first["compile_cached"]) == ("built\n", True, False), first
    assert (second["stdout"], second["compiled"], second["compile_cached"]) == ("built\n", True, True), second
    ann.write(ws, "greeting.hpp", ann.content(ws, "greeting.hpp") + b"// a changed header\n")
    third = run(ann, ws)
    assert (third["stdout"], third["compile_cached"]) == ("built\n", False)


def test_a_compile_is_held_to_the_plans_memory_and_its_failure_is_cached(ann: User) -> None:
    """`#include "/dev/zero"` once took 1 GB while compiling (free plan: 256 MB), again on every run."""
    ws = ann.create("Zero include", language="cpp")
    ann.write(ws, "main.cpp", f'// {uuid.uuid4().hex}\n#include "/dev/zero"\nint main() {{}}\n'.encode())
    first = run(ann, ws)
    assert (first["status"], first["reason"], first["compiled"], first["compile_cached"]) == (
        "error",
        "memory_limit",
        True,
        False,
    ), first
    assert "needed more than 256 MB of memory" in first["compile_output"]
    assert first["memory_kb"] is not None and first["memory_kb"] <= 257 * 1024, first["memory_kb"]
    again = run(ann, ws)
    assert (again["reason"], again["compile_cached"]) == ("memory_limit", True), again
    assert "needed more than 256 MB of memory" in again["compile_output"]


# --- limits ---------------------------------------------------------------------------------


def test_a_cpu_loop_hits_the_asked_cpu_limit(ann: User) -> None:
    ws = python_workspace(ann, b"while True: pass\n")
    result = run(ann, ws, limits={"cpu_seconds": 1})
    assert (result["status"], result["reason"]) == ("timeout", "time_limit"), result
    # CPU accounting is tick-based: a run stopped at 1 s may report a little less.
    assert 500 <= result["time_ms"] <= 3000 and result["wall_ms"] < 5000


@pytest.mark.parametrize(
    ("limits", "status", "message"),
    [  # each limit's ceiling and floor: tests/unit/test_runs.py; here what only the API's schema refuses
        ({"cpu_seconds": 999}, 403, "cpu_seconds may be at most 5"),  # well-formed, but not on this plan
        ({"memory_mb": "64"}, 422, "memory_mb"),
        ({"bogus": 1}, 422, "bogus"),
    ],
)
def test_limits_past_the_plan_or_unknown_are_refused(
    server: Server, ann: User, limits: dict[str, Any], status: int, message: str
) -> None:
    ws = python_workspace(ann)
    refused(start(ann, ws, limits=limits), status, message)
    assert history(ann, ws) == [] and count_runs(server, ws) == 0


def test_an_unknown_body_field_is_refused(ann: User) -> None:
    ws = python_workspace(ann)
    refused(start(ann, ws, entry="main.py"), 422, "entry")


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("runs-limited"),
        CODELOFT_RUNNER="bubblewrap",
        CODELOFT_RUN_LIMITS='{"cpu_seconds": 1, "wall_seconds": 4, "memory_mb": 64}',
    )
    yield running
    running.stop()


def test_the_servers_run_limits_setting_is_every_runs_default(limited_server: Server) -> None:
    carl = sign_in(limited_server, "carl.limits@example.com")
    try:
        loop = python_workspace(carl, b"while True: pass\n", name="Loop")
        result = run(carl, loop)
        assert (result["status"], result["reason"]) == ("timeout", "time_limit"), result
        assert result["time_ms"] <= 2500
        hog = python_workspace(carl, b"x = bytearray(128 * 1024 * 1024)\nprint('allocated')\n", name="Hog")
        assert run(carl, hog)["reason"] == "memory_limit"
        # a run may still ask for other limits, up to its plan's ceiling
        assert run(carl, loop, limits={"cpu_seconds": 0.5})["time_ms"] < 1000
        refused(start(carl, loop, limits={"cpu_seconds": 6}), 403, "cpu_seconds may be at most 5")
    finally:
        carl.client.close()


# --- the entry point -------------------------------------------------------------------------


def set_entry(user: User, ws: str, entry: str) -> httpx.Response:
    return user.client.patch(f"/api/v1/workspaces/{ws}", json={"entry": entry}, headers=user.headers)


def test_a_run_without_a_path_runs_the_workspaces_entry_point(ann: User) -> None:
    ws = python_workspace(ann, b"print('main')\n")
    ann.write(ws, "tools/job.py", b"print('job')\n")
    assert run(ann, ws)["stdout"] == "main\n"
    response = set_entry(ann, ws, "tools/job.py")
    assert response.status_code == 200 and response.json()["settings"]["run"] == {"entry": "tools/job.py"}
    result = run(ann, ws)
    assert (result["path"], result["stdout"]) == ("tools/job.py", "job\n")
    assert run(ann, ws, path="main.py")["stdout"] == "main\n"  # a named path still wins
    assert set_entry(ann, ws, "").status_code == 200
    assert run(ann, ws)["stdout"] == "main\n"


@pytest.mark.parametrize(
    ("entry", "status", "message"),
    [
        ("missing.py", 409, "There is no file missing.py to make the entry point"),
        ("notes.txt", 422, "Codeloft does not know how to run notes.txt"),
    ],  # every rule of an entry point: tests/unit/test_run_settings.py
)
def test_a_bad_entry_point_is_refused_and_nothing_changes(ann: User, entry: str, status: int, message: str) -> None:
    ws = python_workspace(ann)
    ann.write(ws, "notes.txt", b"hello")
    before = ann.workspace(ws)["settings"]
    refused(set_entry(ann, ws, entry), status, message)
    assert ann.workspace(ws)["settings"] == before


def test_a_deleted_entry_point_is_a_clear_error(server: Server, ann: User) -> None:
    ws = python_workspace(ann)
    ann.write(ws, "job.py", b"print('job')\n")
    assert set_entry(ann, ws, "job.py").status_code == 200
    deleted = ann.client.delete(f"/api/v1/workspaces/{ws}/files/job.py", headers=ann.headers)
    assert deleted.status_code == 204, deleted.text
    refused(start(ann, ws), 404, "The entry point job.py (workspace settings) is not in the workspace any more")
    assert count_runs(server, ws) == 0


def test_only_the_owner_chooses_the_entry_point(ann: User, bob: User) -> None:
    ws = python_workspace(ann)
    refused(set_entry(bob, ws, "main.py"), 404, "")


# --- history ----------------------------------------------------------------------------------


def test_the_history_holds_the_last_twenty_runs_newest_first(ann: User) -> None:
    ws = python_workspace(ann, b"print(input())\n")
    made = [run(ann, ws, stdin=f"{number}\n")["id"] for number in range(22)]
    listed = history(ann, ws)
    assert len(listed) == 20
    assert [entry["id"] for entry in listed] == made[::-1][:20]
    assert [entry["stdout"] for entry in listed] == [f"{n}\n" for n in range(21, 1, -1)]
    for entry in listed:
        assert set(entry) == RUN_FIELDS
        assert (entry["status"], entry["reason"], entry["path"], entry["language"]) == (
            "success",
            "ok",
            "main.py",
            "python",
        )
        assert entry["completed_at"] is not None and entry["memory_kb"] and entry["wall_ms"]
    created = [moment(entry["created_at"]) for entry in listed]
    assert created == sorted(created, reverse=True)


def test_the_history_of_a_new_workspace_is_empty(ann: User) -> None:
    assert history(ann, python_workspace(ann)) == []


# --- refusals -------------------------------------------------------------------------------


def test_a_missing_path_is_not_found(server: Server, ann: User) -> None:
    ws = python_workspace(ann)
    refused(start(ann, ws, path="nope.py"), 404, "There is no file nope.py")  # a folder too: tests/unit
    assert count_runs(server, ws) == 0


def test_a_text_file_cannot_run(server: Server, ann: User) -> None:
    ws = python_workspace(ann)
    ann.write(ws, "notes.txt", b"hello")
    response = start(ann, ws, path="notes.txt")
    refused(response, 422, "notes.txt")
    assert ".py" in response.json()["detail"] and ".java" in response.json()["detail"]
    assert count_runs(server, ws) == 0


def test_a_workspace_with_nothing_to_run_says_so(ann: User) -> None:
    ws = ann.create("Nothing", language="python")
    ann.write(ws, "README.md", b"# nothing\n")
    refused(start(ann, ws), 409, "no python file to run")


def test_another_user_cannot_run_or_list_and_learns_nothing(server: Server, ann: User, bob: User) -> None:
    ws = python_workspace(ann)
    run(ann, ws)
    missing_post = start(bob, NOWHERE)
    missing_get = bob.client.get(runs_url(NOWHERE))
    for response, missing in ((start(bob, ws), missing_post), (bob.client.get(runs_url(ws)), missing_get)):
        assert response.status_code == missing.status_code == 404, response.text
        assert response.json() == missing.json()
    assert len(history(ann, ws)) == 1 and count_runs(server, ws) == 1


def test_without_the_csrf_header_nothing_runs(server: Server, ann: User) -> None:
    ws = python_workspace(ann)
    response = ann.client.post(runs_url(ws), json={})
    refused(response, 403, "X-CSRF-Token")
    response = ann.client.post(runs_url(ws), json={}, headers={"X-CSRF-Token": "forged"})
    refused(response, 403, "X-CSRF-Token")
    assert history(ann, ws) == [] and count_runs(server, ws) == 0


def test_signed_out_callers_are_refused(server: Server, ann: User) -> None:
    ws = python_workspace(ann)
    with httpx.Client(base_url=server.base_url) as anonymous:
        assert anonymous.post(runs_url(ws), json={}).status_code == 401
        assert anonymous.get(runs_url(ws)).status_code == 401
    assert count_runs(server, ws) == 0


# --- the rows in the database -----------------------------------------------------------------


def test_each_run_leaves_a_compilation_and_an_execution_row(server: Server, ann: User) -> None:
    source = b"print(input().upper())\n"
    ws = python_workspace(ann, source)
    result = run(ann, ws, stdin="shout\n")
    execution = row(server, "SELECT * FROM execution_jobs WHERE id IN (?, ?)", result["id"])
    assert execution is not None
    assert execution["stdin"] == "shout\n" and execution["stdout"] == "SHOUT\n"
    assert (execution["status"], execution["reason"], execution["exit_code"]) == ("success", "ok", 0)
    assert execution["path"] == "main.py" and execution["completed_at"] is not None
    assert execution["memory_used_kb"] == result["memory_kb"] and execution["wall_time_ms"] == result["wall_ms"]
    compilation = row(
        server,
        "SELECT c.* FROM compilation_jobs c JOIN execution_jobs e ON e.compilation_job_id = c.id WHERE e.id IN (?, ?)",
        result["id"],
    )
    assert compilation is not None
    assert str(uuid.UUID(compilation["workspace_id"])) == ws
    assert (compilation["language"], compilation["status"]) == ("python", "success")
    assert json.loads(compilation["source_files"]) == [{"path": "main.py", "content": source.decode()}]
    assert compilation["completed_at"] is not None


def test_a_cpp_run_records_its_sources_and_compile_options(server: Server, ann: User) -> None:
    ws = ann.create("Recorded C++", language="cpp", template="cpp")
    result = run(ann, ws, stdin="")
    compilation = row(
        server,
        "SELECT c.* FROM compilation_jobs c JOIN execution_jobs e ON e.compilation_job_id = c.id WHERE e.id IN (?, ?)",
        result["id"],
    )
    assert compilation is not None and (compilation["language"], compilation["status"]) == ("cpp", "success")
    sources = json.loads(compilation["source_files"])
    assert {entry["path"] for entry in sources} == {"main.cpp", "greeting.cpp", "greeting.hpp"}
    assert all(set(entry) == {"path", "content"} for entry in sources)
    main = next(entry for entry in sources if entry["path"] == "main.cpp")
    assert main["content"] == ann.content(ws, "main.cpp").decode()
    options = json.loads(compilation["compiler_options"])
    assert options["path"] == "main.cpp" and options["argv"][0] == "g++" and "./main.cpp" in options["argv"]
    execution = row(server, "SELECT * FROM execution_jobs WHERE id IN (?, ?)", result["id"])
    assert execution is not None and execution["status"] == "success" and execution["completed_at"] is not None


def test_a_compile_error_is_recorded_in_both_rows(server: Server, ann: User) -> None:
    ws = ann.create("Broken rows", language="cpp")
    ann.write(ws, "main.cpp", f"// {uuid.uuid4().hex}\nint main() {{ nope(); }}\n".encode())
    result = run(ann, ws, stdin="kept\n")
    execution = row(server, "SELECT * FROM execution_jobs WHERE id IN (?, ?)", result["id"])
    assert execution is not None
    assert (execution["status"], execution["reason"], execution["stdin"]) == ("error", "compile_error", "kept\n")
    assert execution["completed_at"] is not None
    compilation = row(
        server,
        "SELECT c.* FROM compilation_jobs c JOIN execution_jobs e ON e.compilation_job_id = c.id WHERE e.id IN (?, ?)",
        result["id"],
    )
    assert compilation is not None and compilation["status"] == "error"
    assert "main.cpp:2:" in compilation["stderr"]


# --- on PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def pg_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    url = await create_postgres_database()
    running = None
    try:
        running = start_server(
            tmp_path_factory.mktemp("runs-api-pg"),
            CODELOFT_DATABASE_URL=url.render_as_string(hide_password=False),
            CODELOFT_RUNNER="bubblewrap",
        )
        yield running
    finally:
        if running is not None:
            running.stop()
        await drop_postgres_database(url)


@pytest.fixture(scope="module")
def pg_ann(pg_server: Server) -> Iterator[User]:
    user = sign_in(pg_server, "ann.pg.runs@example.com")
    yield user
    user.client.close()


@pytest.mark.postgres
def test_a_run_on_postgresql(pg_ann: User) -> None:
    ws = python_workspace(pg_ann, b"print(input())\n")
    result = run(pg_ann, ws, stdin="on pg\n")
    assert (result["status"], result["stdout"]) == ("success", "on pg\n")
    (entry,) = history(pg_ann, ws)
    assert (entry["id"], entry["status"], entry["stdin"]) == (result["id"], "success", "on pg\n")


@pytest.mark.postgres
def test_nul_bytes_in_output_on_postgresql(pg_ann: User) -> None:
    ws = python_workspace(pg_ann, b"print('a\\0b')\n")
    response = start(pg_ann, ws)
    assert response.status_code == 201, response.text
    assert response.json()["stdout"] == "a\x00b\n"
    (entry,) = history(pg_ann, ws)
    assert entry["status"] == "success" and entry["completed_at"] is not None


@pytest.mark.postgres
def test_nul_bytes_in_stdin_on_postgresql(pg_ann: User) -> None:
    ws = python_workspace(pg_ann, b"print(len(input()))\n")
    response = start(pg_ann, ws, stdin="x\u0000y\n")
    assert response.status_code == 201, response.text
    assert response.json()["stdout"] == "3\n"


def test_a_sh_file_runs_over_rest_with_the_shipped_shell_extension_installed(server: Server) -> None:
    """Without the extension Codeloft does not run .sh files; with the shipped Shell language installed
    POST runs runs one with bash in the sandbox, and the history keeps the language's id."""
    cat = sign_in(server, "cat.shell@example.com")
    try:
        ws = cat.create("Shell", language="python")
        cat.write(ws, "hello.sh", b'echo "hello from $BASH"\n')
        refused(start(cat, ws, path="hello.sh"), 422, "does not know how to run hello.sh")
        assert cat.post("/api/v1/extensions/shell-language/install").status_code == 200
        done = run(cat, ws, path="hello.sh")
        assert (done["status"], done["language"]) == ("success", "shell"), done
        assert done["stdout"].startswith("hello from /") and done["stdout"].endswith("/bash\n")
        assert history(cat, ws)[0]["language"] == "shell"
    finally:
        cat.client.close()
