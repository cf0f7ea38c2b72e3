"""Runs on fakes: how a sandbox result is classified, the job rows a run leaves, the compile cache,
limits by tier, the Java and Node command lines, choosing the file to run, who may run, the history."""

from __future__ import annotations

import hashlib
import re
import signal
from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.access import ANONYMOUS, Actor
from domain.accounts import AccountService
from domain.entities import RunResult
from domain.errors import (
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from domain.files import FileService
from domain.plans import plan_for
from domain.runs import (
    HISTORY_LENGTH,
    Executor,
    RunService,
    classify,
    default_entry,
    output_cut_notice,
)
from domain.sandbox import COMPILE_LIMITS, Cancellation, RunLimits, SandboxResult, Stop
from domain.values import Language, PermissionLevel, Reason, RunStatus, Tier
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.builders import share
from tests.unit.fakes import BUILD_ARCHIVE, FakeArtifacts, FakeQueue, FakeRunner, Store, sandbox_result
from ui.components.run_panel import MAX_LINE_CHARS, OutputLines, summary

CPP_COMPILE = ["g++", "-O2", "-std=c++20", "-pipe", "-o", ".build/main", "./greeting.cpp", "./main.cpp"]
JAVA_MAIN = (
    b'package app;\n\npublic class Main {\n    public static void main(String[] a) { System.out.println("hi"); }\n}\n'
)
RUNNABLE_EXTENSIONS = ".py, .js, .mjs, .cjs, .cpp, .cc, .cxx, .java"


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
async def stranger(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("stranger@example.com")).id)


@pytest.fixture
async def python_ws(workspaces: WorkspaceService, files: FileService, owner: Actor) -> UUID:
    ws = (await workspaces.create(owner, name="py", language="python")).id
    await files.write(owner, ws, "main.py", b"print(input())\n")
    return ws


@pytest.fixture
async def cpp_ws(workspaces: WorkspaceService, owner: Actor) -> UUID:
    """The fake template: main.cpp, greeting.cpp, greeting.hpp."""
    return (await workspaces.create(owner, name="cpp", language="cpp", template="cpp")).id


@pytest.fixture
async def java_ws(workspaces: WorkspaceService, files: FileService, owner: Actor) -> UUID:
    ws = (await workspaces.create(owner, name="java", language="java", template="java")).id
    await files.write(owner, ws, "src/app/Main.java", JAVA_MAIN)
    return ws


def nothing_recorded(store: Store, runner: FakeRunner) -> None:
    assert store.compilations == {} and store.runs == {}
    assert runner.requests == []


# --- classify ---------------------------------------------------------------------------------

LIMITS = RunLimits(cpu_seconds=2)
CLASSIFY_TABLE = [
    ("stopped cpu", sandbox_result(exit_code=None, stopped=Stop.CPU), RunStatus.TIMEOUT, Reason.TIME_LIMIT),
    ("stopped wall", sandbox_result(exit_code=None, stopped=Stop.WALL), RunStatus.TIMEOUT, Reason.WALL_TIME_LIMIT),
    ("stopped memory", sandbox_result(exit_code=None, stopped=Stop.MEMORY), RunStatus.ERROR, Reason.MEMORY_LIMIT),
    ("stopped output", sandbox_result(exit_code=None, stopped=Stop.OUTPUT), RunStatus.ERROR, Reason.OUTPUT_LIMIT),
    ("stopped cancelled", sandbox_result(exit_code=None, stopped=Stop.CANCELLED), RunStatus.STOPPED, Reason.STOPPED),
    (
        "stopped wins over a clean exit",
        sandbox_result(exit_code=0, stopped=Stop.WALL),
        RunStatus.TIMEOUT,
        Reason.WALL_TIME_LIMIT,
    ),
    ("SIGXCPU", sandbox_result(exit_code=None, signal=signal.SIGXCPU, cpu_ms=5), RunStatus.TIMEOUT, Reason.TIME_LIMIT),
    (
        "SIGKILL with the CPU time at the limit",
        sandbox_result(exit_code=None, signal=signal.SIGKILL, cpu_ms=2000),
        RunStatus.TIMEOUT,
        Reason.TIME_LIMIT,
    ),
    (
        "SIGKILL with the CPU time past the limit",
        sandbox_result(exit_code=None, signal=signal.SIGKILL, cpu_ms=2400),
        RunStatus.TIMEOUT,
        Reason.TIME_LIMIT,
    ),
    (
        "SIGKILL below the CPU limit",
        sandbox_result(exit_code=None, signal=signal.SIGKILL, cpu_ms=1999),
        RunStatus.ERROR,
        Reason.SIGNAL,
    ),
    ("SIGXFSZ", sandbox_result(exit_code=None, signal=signal.SIGXFSZ), RunStatus.ERROR, Reason.OUTPUT_LIMIT),
    ("SIGSEGV", sandbox_result(exit_code=None, signal=signal.SIGSEGV), RunStatus.ERROR, Reason.SIGNAL),
    ("SIGABRT", sandbox_result(exit_code=None, signal=signal.SIGABRT), RunStatus.ERROR, Reason.SIGNAL),
    ("exit 0", sandbox_result(exit_code=0), RunStatus.SUCCESS, Reason.OK),
    ("exit 1", sandbox_result(exit_code=1), RunStatus.ERROR, Reason.RUNTIME_ERROR),
    ("exit 137 (no signal)", sandbox_result(exit_code=137), RunStatus.ERROR, Reason.RUNTIME_ERROR),
    (
        "internal error",
        sandbox_result(exit_code=None, internal_error="bwrap: cannot mount"),
        RunStatus.ERROR,
        Reason.INTERNAL_ERROR,
    ),
    (
        "internal error wins over everything",
        sandbox_result(exit_code=0, stopped=Stop.CPU, internal_error="boom"),
        RunStatus.ERROR,
        Reason.INTERNAL_ERROR,
    ),
]


@pytest.mark.parametrize(
    ("result", "status", "reason"), [row[1:] for row in CLASSIFY_TABLE], ids=[row[0] for row in CLASSIFY_TABLE]
)
def test_classify(result: SandboxResult, status: RunStatus, reason: Reason) -> None:
    assert classify(result, LIMITS) == (status, reason)


def test_the_classify_table_covers_every_stop() -> None:
    covered = {row[1].stopped for row in CLASSIFY_TABLE if row[1].stopped is not None}
    assert covered == set(Stop)


# --- a Python run and the rows it leaves ------------------------------------------------------


async def test_a_python_run_records_its_compilation_and_run_rows(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, python_ws: UUID
) -> None:
    runner.runs.append(sandbox_result(stdout=b"hello\n", stderr=b"warn\n", cpu_ms=42, wall_ms=55, memory_kb=2048))
    run = await runs.run(owner, python_ws, stdin="hello\n")

    (request,) = runner.requests
    assert request.argv == ["python3", "-u", "./main.py"]
    assert request.stdin == b"hello\n" and request.limits == RunLimits()
    assert request.collect is None and request.extra_archive is None
    assert request.files == {"main.py": b"print(input())\n"}

    assert (run.status, run.reason, run.exit_code, run.signal) == (RunStatus.SUCCESS, Reason.OK, 0, None)
    assert (run.stdout, run.stderr, run.stdin) == ("hello\n", "warn\n", "hello\n")
    assert (run.time_ms, run.wall_ms, run.memory_kb) == (42, 55, 2048)
    assert (run.path, run.language, run.compiled, run.compile_cached) == ("main.py", Language.PYTHON, False, False)
    assert run.completed_at is not None

    (compilation,) = store.compilations.values()
    assert compilation.status is RunStatus.SUCCESS
    assert compilation.source_files == [{"path": "main.py", "content": "print(input())\n"}]
    assert compilation.user_id == owner.user_id and compilation.workspace_id == python_ws
    assert compilation.language is Language.PYTHON and compilation.compiler_options == {"path": "main.py"}

    (stored,) = store.runs.values()
    assert stored == run
    assert stored.compilation_job_id == compilation.id
    assert (stored.status, stored.reason, stored.stdout, stored.stdin) == (
        RunStatus.SUCCESS,
        Reason.OK,
        "hello\n",
        "hello\n",
    )


async def test_a_failing_program_is_recorded_as_a_runtime_error(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, python_ws: UUID
) -> None:
    runner.runs.append(sandbox_result(exit_code=3, stderr=b"Traceback: boom\n"))
    run = await runs.run(owner, python_ws)
    assert (run.status, run.reason, run.exit_code, run.stderr) == (
        RunStatus.ERROR,
        Reason.RUNTIME_ERROR,
        3,
        "Traceback: boom\n",
    )
    assert store.runs[run.id].reason is Reason.RUNTIME_ERROR


async def test_the_run_is_marked_running_while_the_program_runs(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, python_ws: UUID
) -> None:
    seen: list[tuple[RunStatus, object]] = []
    runner.during = lambda _request: seen.extend((r.status, r.completed_at) for r in store.runs.values())
    await runs.run(owner, python_ws)
    assert seen == [(RunStatus.RUNNING, None)]


async def test_output_sink_and_cancellation_reach_the_sandbox(
    runs: RunService, runner: FakeRunner, owner: Actor, python_ws: UUID
) -> None:
    async def sink(stream: str, text: str) -> None:
        return None

    cancel = Cancellation()
    await runs.run(owner, python_ws, on_output=sink, cancel=cancel)
    assert runner.sinks == [sink] and runner.cancels == [cancel]


async def test_an_internal_sandbox_error_is_recorded_with_its_message(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, python_ws: UUID
) -> None:
    runner.runs.append(sandbox_result(exit_code=None, internal_error="bwrap failed"))
    run = await runs.run(owner, python_ws)
    assert (run.status, run.reason) == (RunStatus.ERROR, Reason.INTERNAL_ERROR)
    assert "bwrap failed" in run.stderr and store.runs[run.id].reason is Reason.INTERNAL_ERROR


async def test_sources_past_one_megabyte_are_recorded_by_hash(
    runs: RunService, files: FileService, store: Store, owner: Actor, python_ws: UUID
) -> None:
    big = b"#" * (1024 * 1024 + 1)
    await files.write(owner, python_ws, "big.py", big)
    await files.write(owner, python_ws, "notes.txt", b"not a source")
    await runs.run(owner, python_ws)
    (compilation,) = store.compilations.values()
    assert compilation.source_files == [  # every file the program could read, text in full while it fits
        {"path": "big.py", "content_hash": hashlib.sha256(big).hexdigest()},
        {"path": "main.py", "content": "print(input())\n"},
        {"path": "notes.txt", "content": "not a source"},
    ]


# --- C++: compile once, reuse the build -------------------------------------------------------


async def test_a_cpp_run_compiles_every_source_then_runs_the_binary(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, cpp_ws: UUID, artifacts: FakeArtifacts
) -> None:
    runner.runs.append(sandbox_result(stdout=b"Hello\n"))
    run = await runs.run(owner, cpp_ws)

    compile_request, run_request = runner.requests
    assert compile_request.collect == ".build"
    assert compile_request.argv == CPP_COMPILE
    # the free plan's memory and twice its run time, within COMPILE_LIMITS
    assert compile_request.limits == COMPILE_LIMITS.with_changes(memory_mb=256, cpu_seconds=10, wall_seconds=20)
    assert set(compile_request.files) == {"main.cpp", "greeting.cpp", "greeting.hpp"}
    assert run_request.argv == ["./.build/main"]
    assert run_request.extra_archive == BUILD_ARCHIVE and run_request.collect is None
    assert runner.version_calls == [["g++", "--version"]]
    assert list(artifacts.stored.values()) == [BUILD_ARCHIVE]

    assert (run.status, run.reason, run.stdout) == (RunStatus.SUCCESS, Reason.OK, "Hello\n")
    assert run.compiled and not run.compile_cached and run.path == "main.cpp"
    (compilation,) = store.compilations.values()
    assert compilation.status is RunStatus.SUCCESS and compilation.language is Language.CPP
    assert compilation.compiler_options["argv"] == CPP_COMPILE
    assert compilation.compiler_options["cached"] is False
    assert [entry["path"] for entry in compilation.source_files] == ["greeting.cpp", "greeting.hpp", "main.cpp"]


async def test_a_second_identical_cpp_run_reuses_the_build(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, cpp_ws: UUID
) -> None:
    first = await runs.run(owner, cpp_ws)
    second = await runs.run(owner, cpp_ws, stdin="different stdin does not matter\n")

    assert len(runner.compile_requests) == 1
    assert len(runner.run_requests) == 2
    assert runner.run_requests[1].extra_archive == BUILD_ARCHIVE
    assert not first.compile_cached and second.compile_cached and second.compiled
    assert (second.status, second.reason) == (RunStatus.SUCCESS, Reason.OK)
    assert runner.version_calls == [["g++", "--version"]]  # asked once per executor
    cached_job = store.compilations[second.compilation_job_id]
    assert cached_job.compiler_options["cached"] is True
    assert (
        cached_job.compiler_options["cache_key"]
        == store.compilations[first.compilation_job_id].compiler_options["cache_key"]
    )


async def test_a_changed_header_invalidates_the_build(
    runs: RunService, runner: FakeRunner, files: FileService, owner: Actor, cpp_ws: UUID
) -> None:
    await runs.run(owner, cpp_ws)
    await files.write(owner, cpp_ws, "greeting.hpp", b"#pragma once\n// changed\n")
    again = await runs.run(owner, cpp_ws)
    assert len(runner.compile_requests) == 2
    assert runner.compile_requests[1].files["greeting.hpp"] == b"#pragma once\n// changed\n"
    assert not again.compile_cached


async def test_a_lost_artifact_means_compiling_again(
    runs: RunService, runner: FakeRunner, artifacts: FakeArtifacts, owner: Actor, cpp_ws: UUID
) -> None:
    await runs.run(owner, cpp_ws)
    artifacts.stored.clear()
    again = await runs.run(owner, cpp_ws)
    assert len(runner.compile_requests) == 2 and not again.compile_cached
    assert runner.run_requests[1].extra_archive == BUILD_ARCHIVE


COMPILER_SAYS = b"main.cpp:4:5: error: 'nope' was not declared in this scope\n"


async def test_a_compile_failure_runs_nothing_and_is_recorded(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, cpp_ws: UUID
) -> None:
    runner.compiles.append(sandbox_result(exit_code=1, stderr=COMPILER_SAYS))
    run = await runs.run(owner, cpp_ws, stdin="kept\n")

    assert runner.run_requests == []
    assert (run.status, run.reason, run.exit_code) == (RunStatus.ERROR, Reason.COMPILE_ERROR, 1)
    assert "main.cpp:4:5: error" in run.compile_output and "main.cpp:4:5: error" in run.stderr
    assert run.compiled and not run.compile_cached and run.stdout == "" and run.completed_at is not None

    (compilation,) = store.compilations.values()
    assert compilation.status is RunStatus.ERROR and compilation.exit_code == 1
    assert "main.cpp:4:5: error" in compilation.stderr
    (stored,) = store.runs.values()
    assert (stored.status, stored.reason, stored.stdin) == (RunStatus.ERROR, Reason.COMPILE_ERROR, "kept\n")
    assert stored.compile_output == run.compile_output


async def test_a_compile_failure_is_cached_too(
    runs: RunService, runner: FakeRunner, owner: Actor, cpp_ws: UUID
) -> None:
    runner.compiles.append(sandbox_result(exit_code=1, stderr=COMPILER_SAYS))
    await runs.run(owner, cpp_ws)
    again = await runs.run(owner, cpp_ws)
    assert len(runner.compile_requests) == 1 and runner.run_requests == []
    assert (again.status, again.reason, again.compile_cached) == (RunStatus.ERROR, Reason.COMPILE_ERROR, True)
    assert "main.cpp:4:5: error" in again.compile_output


@pytest.mark.parametrize(
    "failure",
    [
        sandbox_result(exit_code=None, signal=signal.SIGKILL, stopped=Stop.CANCELLED),
        sandbox_result(exit_code=None, internal_error="the sandbox could not start"),
    ],
    ids=["compile cancelled", "sandbox failure"],
)
async def test_a_compile_cut_short_is_not_cached(
    runs: RunService, runner: FakeRunner, owner: Actor, cpp_ws: UUID, failure: SandboxResult
) -> None:
    runner.compiles.append(failure)
    first = await runs.run(owner, cpp_ws)
    assert first.reason is Reason.COMPILE_ERROR
    assert "[codeloft]" in first.compile_output
    second = await runs.run(owner, cpp_ws)
    assert len(runner.compile_requests) == 2
    assert (second.status, second.reason, second.compile_cached) == (RunStatus.SUCCESS, Reason.OK, False)


@pytest.mark.parametrize(
    ("stopped", "status", "reason", "says"),
    [
        (Stop.MEMORY, RunStatus.ERROR, Reason.MEMORY_LIMIT, "needed more than 256 MB of memory"),
        (Stop.CPU, RunStatus.TIMEOUT, Reason.TIME_LIMIT, "more than 10 s of CPU time"),
        (Stop.WALL, RunStatus.TIMEOUT, Reason.WALL_TIME_LIMIT, "longer than 20 s"),
    ],
)
async def test_a_compile_stopped_at_the_plans_limit_says_so_and_is_cached(
    runs: RunService,
    runner: FakeRunner,
    owner: Actor,
    cpp_ws: UUID,
    stopped: Stop,
    status: RunStatus,
    reason: Reason,
    says: str,
) -> None:
    """`#include "/dev/zero"`: the compiler runs out of the plan's memory; the same source fails again at
    once, from the compile cache, without compiling."""
    runner.compiles.append(sandbox_result(exit_code=None, signal=signal.SIGKILL, stopped=stopped, memory_kb=262144))
    first = await runs.run(owner, cpp_ws)
    assert (first.status, first.reason, first.compiled, first.compile_cached) == (status, reason, True, False)
    assert says in first.compile_output and runner.run_requests == []
    second = await runs.run(owner, cpp_ws)
    assert len(runner.compile_requests) == 1
    assert (second.status, second.reason, second.compile_cached) == (status, reason, True)
    assert says in second.compile_output


async def test_a_higher_plan_compiles_with_its_own_memory_and_its_own_cache_entry(
    runs: RunService,
    runner: FakeRunner,
    store: Store,
    accounts: AccountService,
    workspaces: WorkspaceService,
    owner: Actor,
    cpp_ws: UUID,
) -> None:
    runner.compiles.append(sandbox_result(exit_code=None, signal=signal.SIGKILL, stopped=Stop.MEMORY))
    await runs.run(owner, cpp_ws)
    premium = Actor((await accounts.add_local_user("compile.premium@example.com", tier=Tier.PREMIUM)).id)
    ws = (await workspaces.create(premium, name="cpp", language="cpp", template="cpp")).id
    run = await runs.run(premium, ws)  # the same sources: the free plan's failure is not reused
    assert run.reason is Reason.OK and not run.compile_cached
    assert [r.limits.memory_mb for r in runner.compile_requests] == [256, 1024]


# --- limits -----------------------------------------------------------------------------------


async def test_limits_within_the_tier_reach_the_sandbox(
    runs: RunService, runner: FakeRunner, owner: Actor, python_ws: UUID
) -> None:
    await runs.run(owner, python_ws, limits={"cpu_seconds": 5, "memory_mb": 128, "wall_seconds": 2.5})
    assert runner.requests[0].limits == RunLimits(cpu_seconds=5, memory_mb=128, wall_seconds=2.5)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"cpu_seconds": 6}, "cpu_seconds may be at most 5"),
        ({"wall_seconds": 11}, "wall_seconds may be at most 10"),
        ({"memory_mb": 257}, "memory_mb may be at most 256"),
        ({"processes": 65}, "processes may be at most 64"),
        ({"output_bytes": 1024 * 1024 + 1}, "output_bytes may be at most"),
        ({"file_size_mb": 11}, "file_size_mb may be at most 10"),
        ({"cpu_seconds": 0}, "cpu_seconds must be above zero"),
        ({"memory_mb": -1}, "memory_mb must be above zero"),
        ({"wall_seconds": -0.5}, "wall_seconds must be above zero"),
    ],
)
async def test_limits_above_the_free_ceiling_or_not_positive_are_refused(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, python_ws: UUID, limits: dict, message: str
) -> None:
    with pytest.raises((InvalidInput, PermissionDenied), match=message):
        await runs.run(owner, python_ws, limits=limits)
    nothing_recorded(store, runner)


async def test_the_ceiling_is_the_workspace_owners_tier(
    runs: RunService,
    runner: FakeRunner,
    store: Store,
    accounts: AccountService,
    workspaces: WorkspaceService,
    files: FileService,
) -> None:
    premium = Actor((await accounts.add_local_user("premium@example.com", tier=Tier.PREMIUM)).id)
    ws = (await workspaces.create(premium, name="p", language="python")).id
    await files.write(premium, ws, "main.py", b"pass\n")
    ceiling = plan_for(Tier.PREMIUM).run_ceiling
    await runs.run(premium, ws, limits={"cpu_seconds": ceiling.cpu_seconds, "memory_mb": ceiling.memory_mb})
    assert runner.requests[0].limits.cpu_seconds == 20 and runner.requests[0].limits.memory_mb == 1024
    with pytest.raises(PermissionDenied, match="cpu_seconds may be at most 20"):
        await runs.run(premium, ws, limits={"cpu_seconds": 21})
    assert len(store.runs) == 1


async def test_a_writer_runs_under_the_owners_ceiling_not_their_own(
    runs: RunService,
    runner: FakeRunner,
    store: Store,
    accounts: AccountService,
    owner: Actor,
    python_ws: UUID,
) -> None:
    rich = Actor((await accounts.add_local_user("rich@example.com", tier=Tier.ENTERPRISE)).id)
    share(store, python_ws, owner, rich, PermissionLevel.WRITE)
    with pytest.raises(PermissionDenied, match="cpu_seconds may be at most 5"):
        await runs.run(rich, python_ws, limits={"cpu_seconds": 30})
    run = await runs.run(rich, python_ws)
    assert store.compilations[run.compilation_job_id].user_id == rich.user_id


async def test_stdin_past_the_free_cap_is_refused_naming_it_and_nothing_is_stored(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, python_ws: UUID
) -> None:
    cap = plan_for(Tier.FREE).stdin_bytes
    assert cap == 1024 * 1024
    with pytest.raises(LimitExceeded, match=r"input \(stdin\) is larger than 1 MB"):
        await runs.run(owner, python_ws, stdin="x" * (cap + 1))
    with pytest.raises(LimitExceeded, match="1 MB"):
        await runs.run(owner, python_ws, stdin="é" * (cap // 2 + 1))  # counted in UTF-8 bytes
    nothing_recorded(store, runner)
    run = await runs.run(owner, python_ws, stdin="x" * cap)
    assert run.status is RunStatus.SUCCESS and len(run.stdin) == cap


async def test_a_higher_plan_takes_more_stdin(
    runs: RunService, runner: FakeRunner, accounts: AccountService, workspaces: WorkspaceService, files: FileService
) -> None:
    assert plan_for(Tier.FREE).stdin_bytes < plan_for(Tier.PREMIUM).stdin_bytes < plan_for(Tier.ENTERPRISE).stdin_bytes
    premium = Actor((await accounts.add_local_user("stdin.premium@example.com", tier=Tier.PREMIUM)).id)
    ws = (await workspaces.create(premium, name="p", language="python")).id
    await files.write(premium, ws, "main.py", b"pass\n")
    cap = plan_for(Tier.PREMIUM).stdin_bytes
    await runs.run(premium, ws, stdin="x" * cap)
    assert runner.requests[-1].stdin == b"x" * cap
    with pytest.raises(LimitExceeded, match="4 MB"):
        await runs.run(premium, ws, stdin="x" * (cap + 1))


# --- command lines: Java and Node -------------------------------------------------------------


async def test_the_java_run_uses_the_package_main_class_and_three_quarters_of_memory(
    runs: RunService, runner: FakeRunner, owner: Actor, java_ws: UUID
) -> None:
    run = await runs.run(owner, java_ws, limits={"memory_mb": 200})
    compile_request, run_request = runner.requests
    assert compile_request.argv == [
        "javac",
        "-J-Xshare:auto",
        "-encoding",
        "UTF-8",
        "-d",
        ".build",
        "./src/app/Main.java",
    ]
    assert run_request.argv == [
        "java",
        "-Xmx150m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        ".build",
        "app.Main",
    ]
    assert run.path == "src/app/Main.java" and run.language is Language.JAVA


async def test_the_java_heap_follows_the_default_memory_limit(
    runs: RunService, runner: FakeRunner, owner: Actor, java_ws: UUID
) -> None:
    await runs.run(owner, java_ws)
    assert "-Xmx192m" in runner.run_requests[0].argv  # 3/4 of 256 MB


async def test_a_java_file_without_a_package_runs_its_bare_class(
    runs: RunService, runner: FakeRunner, files: FileService, owner: Actor, java_ws: UUID
) -> None:
    await files.write(owner, java_ws, "Tool.java", b"public class Tool { public static void main(String[] a) {} }\n")
    await runs.run(owner, java_ws, path="Tool.java")
    assert runner.run_requests[0].argv[-1] == "Tool"


async def test_node_gets_three_quarters_of_memory_as_heap(
    runs: RunService, runner: FakeRunner, workspaces: WorkspaceService, files: FileService, owner: Actor
) -> None:
    ws = (await workspaces.create(owner, name="js", language="javascript")).id
    await files.write(owner, ws, "index.js", b"console.log(1)\n")
    await runs.run(owner, ws, limits={"memory_mb": 100})
    assert runner.requests[0].argv == ["node", "--max-old-space-size=75", "./index.js"]


# --- which file runs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "paths", "expected"),
    [
        (Language.PYTHON, ["app.py", "lib/util.py", "main.py", "zeta.py"], "main.py"),
        (Language.PYTHON, ["b.py", "a/a.py", "README.md"], "b.py"),
        (Language.PYTHON, ["main.cpp", "tool.py"], "tool.py"),
        (Language.JAVASCRIPT, ["server.js", "index.js", "lib/a.js"], "index.js"),
        (Language.CPP, ["greeting.cpp", "greeting.hpp", "main.cpp"], "main.cpp"),
        (Language.JAVA, ["src/app/Greeting.java", "src/app/Main.java"], "src/app/Main.java"),
    ],
)
def test_default_entry_prefers_the_usual_main_file(language: Language, paths: list[str], expected: str) -> None:
    assert default_entry(paths, language) == expected


@pytest.mark.parametrize("language", list(Language))
def test_default_entry_refuses_a_workspace_with_nothing_to_run(language: Language) -> None:
    with pytest.raises(Conflict, match=f"This workspace has no {language.value} file to run"):
        default_entry(["README.md", "notes.txt", "data/"], language)


async def test_running_a_workspace_without_a_runnable_file_is_refused(
    runs: RunService,
    runner: FakeRunner,
    store: Store,
    workspaces: WorkspaceService,
    files: FileService,
    owner: Actor,
) -> None:
    ws = (await workspaces.create(owner, name="empty", language="python")).id
    await files.write(owner, ws, "README.md", b"# nothing to run\n")
    with pytest.raises(Conflict, match="no python file to run: open one and press Run"):
        await runs.run(owner, ws)
    nothing_recorded(store, runner)


async def test_another_file_runs_when_asked(
    runs: RunService, runner: FakeRunner, files: FileService, owner: Actor, python_ws: UUID
) -> None:
    await files.write(owner, python_ws, "tools/other.py", b"print(2)\n")
    run = await runs.run(owner, python_ws, path="tools/other.py")
    assert runner.requests[0].argv == ["python3", "-u", "./tools/other.py"] and run.path == "tools/other.py"


@pytest.mark.parametrize("path", ["missing.py", "src", "MAIN.py"])
async def test_a_path_that_is_not_a_file_is_not_found(
    runs: RunService, runner: FakeRunner, store: Store, files: FileService, owner: Actor, python_ws: UUID, path: str
) -> None:
    await files.create_folder(owner, python_ws, "src")
    with pytest.raises(NotFound, match=re.escape(f"There is no file {path} to run")):
        await runs.run(owner, python_ws, path=path)
    nothing_recorded(store, runner)


async def test_an_unknown_extension_names_the_runnable_ones(
    runs: RunService, runner: FakeRunner, store: Store, files: FileService, owner: Actor, python_ws: UUID
) -> None:
    await files.write(owner, python_ws, "notes.txt", b"hello")
    with pytest.raises(InvalidInput) as error:
        await runs.run(owner, python_ws, path="notes.txt")
    assert "notes.txt" in error.value.message and RUNNABLE_EXTENSIONS in error.value.message
    nothing_recorded(store, runner)


# --- who may run ------------------------------------------------------------------------------


async def test_a_visitor_of_a_public_workspace_cannot_run_it(
    runs: RunService,
    runner: FakeRunner,
    store: Store,
    accounts: AccountService,
    python_ws: UUID,
) -> None:
    visitor = Actor((await accounts.add_local_user("visitor@example.com")).id)
    store.workspaces[python_ws].is_public = True
    with pytest.raises(PermissionDenied, match="'public link'"):
        await runs.run(visitor, python_ws)
    nothing_recorded(store, runner)
    assert await runs.history(visitor, python_ws) == []  # but may see the history


async def test_a_read_share_can_run(
    runs: RunService, store: Store, accounts: AccountService, owner: Actor, python_ws: UUID
) -> None:
    reader = Actor((await accounts.add_local_user("reader@example.com")).id)
    share(store, python_ws, owner, reader, PermissionLevel.READ)
    run = await runs.run(reader, python_ws)
    assert run.status is RunStatus.SUCCESS


async def test_a_write_share_can_run(
    runs: RunService, store: Store, accounts: AccountService, owner: Actor, python_ws: UUID
) -> None:
    writer = Actor((await accounts.add_local_user("writer@example.com")).id)
    share(store, python_ws, owner, writer, PermissionLevel.WRITE)
    run = await runs.run(writer, python_ws)
    assert run.status is RunStatus.SUCCESS and len(await runs.history(owner, python_ws)) == 1


async def test_a_stranger_gets_not_found(
    runs: RunService, runner: FakeRunner, store: Store, stranger: Actor, owner: Actor, python_ws: UUID
) -> None:
    await runs.run(owner, python_ws)
    runner.requests.clear()
    before = dict(store.runs)
    with pytest.raises(NotFound, match="No such workspace"):
        await runs.run(stranger, python_ws)
    with pytest.raises(NotFound, match="No such workspace"):
        await runs.history(stranger, python_ws)
    assert runner.requests == [] and store.runs == before


async def test_a_missing_workspace_is_not_found(runs: RunService, owner: Actor) -> None:
    nowhere = UUID(int=0)
    with pytest.raises(NotFound, match="No such workspace"):
        await runs.run(owner, nowhere)
    with pytest.raises(NotFound, match="No such workspace"):
        await runs.history(owner, nowhere)


async def test_anonymous_must_sign_in(runs: RunService, runner: FakeRunner, store: Store, python_ws: UUID) -> None:
    with pytest.raises(Unauthenticated):
        await runs.run(ANONYMOUS, python_ws)
    with pytest.raises(NotFound):
        await runs.history(ANONYMOUS, python_ws)
    nothing_recorded(store, runner)


# --- history ----------------------------------------------------------------------------------


async def test_history_holds_the_newest_twenty_runs_newest_first(
    runs: RunService, runner: FakeRunner, clock: FrozenClock, owner: Actor, python_ws: UUID, cpp_ws: UUID
) -> None:
    made = []
    for number in range(HISTORY_LENGTH + 5):
        runner.runs.append(sandbox_result(stdout=f"{number}\n".encode()))
        made.append(await runs.run(owner, python_ws, stdin=f"{number}\n"))
        clock.advance(seconds=1)
    await runs.run(owner, cpp_ws)  # another workspace's run stays out

    history = await runs.history(owner, python_ws)
    assert HISTORY_LENGTH == 20
    assert [r.id for r in history] == [r.id for r in reversed(made)][:20]
    assert [r.stdout for r in history] == [f"{n}\n" for n in range(24, 4, -1)]
    assert all(r.status is RunStatus.SUCCESS and r.completed_at is not None for r in history)
    assert len(await runs.history(owner, cpp_ws)) == 1


async def test_history_keeps_compile_failures(runs: RunService, runner: FakeRunner, owner: Actor, cpp_ws: UUID) -> None:
    runner.compiles.append(sandbox_result(exit_code=1, stderr=COMPILER_SAYS))
    failed = await runs.run(owner, cpp_ws)
    (entry,) = await runs.history(owner, cpp_ws)
    assert entry.id == failed.id and entry.reason is Reason.COMPILE_ERROR


# --- the executor alone, and cancellation -----------------------------------------------------


async def test_run_files_runs_loose_files_and_refuses_a_missing_one(executor: Executor, runner: FakeRunner) -> None:
    runner.runs.append(sandbox_result(stdout=b"loose\n"))
    outcome = await executor.run_files({"a.py": b"print('loose')"}, "a.py", limits=RunLimits())
    assert (outcome.status, outcome.reason, outcome.stdout) == (RunStatus.SUCCESS, Reason.OK, "loose\n")
    with pytest.raises(NotFound, match=re.escape("There is no file b.py to run")):
        await executor.run_files({"a.py": b""}, "b.py", limits=RunLimits())
    with pytest.raises(InvalidInput, match="choose one of python, javascript, cpp, java"):
        await executor.run_files({"a.py": b""}, "a.py", limits=RunLimits(), language="cobol")


async def test_every_sandbox_call_holds_a_queue_slot(
    runs: RunService, job_queue: FakeQueue, runner: FakeRunner, owner: Actor, cpp_ws: UUID
) -> None:
    held: list[int] = []
    runner.during = lambda _request: held.append(job_queue.held)
    await runs.run(owner, cpp_ws)
    assert held == [1, 1] and job_queue.taken == 2 and job_queue.held == 0


def test_cancellation_calls_callbacks_registered_before_and_after_cancel() -> None:
    cancel = Cancellation()
    calls: list[str] = []
    cancel.on_cancel(lambda: calls.append("before"))
    assert not cancel.requested and calls == []
    cancel.cancel()
    assert cancel.requested and calls == ["before"]
    cancel.on_cancel(lambda: calls.append("after"))
    assert calls == ["before", "after"]


# --- Run runs the program: the template's entry point, the file with main -------------------------


async def test_a_workspace_from_a_template_has_the_templates_entry_point(
    workspaces: WorkspaceService, owner: Actor
) -> None:
    made = await workspaces.create(owner, name="cpp", language="cpp", template="cpp")
    assert workspaces.run_entry(made) == "main.cpp"
    blank = await workspaces.create(owner, name="blank", language="cpp")
    assert workspaces.run_entry(blank) is None
    assert workspaces.run_entry(await workspaces.get(owner, made.id)) == "main.cpp"  # stored, not only returned


async def test_the_template_entry_point_runs_whatever_is_open(
    runs: RunService, runner: FakeRunner, owner: Actor, cpp_ws: UUID
) -> None:
    run = await runs.run(owner, cpp_ws)  # what the run panel asks when an entry point is set
    assert run.path == "main.cpp" and runner.requests[0].argv == CPP_COMPILE


async def test_a_cpp_source_without_main_runs_the_program_it_belongs_to(
    runs: RunService, runner: FakeRunner, workspaces: WorkspaceService, files: FileService, owner: Actor
) -> None:
    ws = (await workspaces.create(owner, name="loose", language="cpp")).id
    await files.write(owner, ws, "app.cpp", b'#include "util.hpp"\nint main() { return util(); }\n')
    await files.write(owner, ws, "util.cpp", b"int util() { return 0; }\n")
    run = await runs.run(owner, ws, path="util.cpp")
    assert run.path == "app.cpp"  # the result names what ran: the program with main, built from every source
    assert runner.requests[0].argv[-2:] == ["./app.cpp", "./util.cpp"]


async def test_a_java_class_without_main_runs_the_class_with_main(
    runs: RunService, runner: FakeRunner, workspaces: WorkspaceService, files: FileService, owner: Actor
) -> None:
    ws = (await workspaces.create(owner, name="classes", language="java")).id
    await files.write(owner, ws, "src/app/Main.java", JAVA_MAIN)
    await files.write(owner, ws, "src/app/Greeting.java", b"package app;\nfinal class Greeting { }\n")
    run = await runs.run(owner, ws, path="src/app/Greeting.java")
    assert run.path == "src/app/Main.java" and runner.run_requests[0].argv[-1] == "app.Main"


async def test_with_several_mains_the_asked_file_runs_as_it_is(
    runs: RunService, runner: FakeRunner, workspaces: WorkspaceService, files: FileService, owner: Actor
) -> None:
    ws = (await workspaces.create(owner, name="two", language="java")).id
    await files.write(owner, ws, "A.java", b"class A { public static void main(String[] a) {} }\n")
    await files.write(owner, ws, "B.java", b"class B { public static void main(String[] a) {} }\n")
    await files.write(owner, ws, "C.java", b"class C { }\n")
    assert (await runs.run(owner, ws, path="B.java")).path == "B.java"
    assert (await runs.run(owner, ws, path="C.java")).path == "C.java"  # no single program to choose: as asked


@pytest.mark.parametrize(
    ("limit", "notice"),
    [
        (1 << 20, "[output cut at 1 MB]"),
        (4 << 20, "[output cut at 4 MB]"),
        (1536 * 1024, "[output cut at 1.5 MB]"),
        (100_000, "[output cut at 97.7 KB]"),
        (512, "[output cut at 512 bytes]"),
    ],
)
def test_the_cut_notice_names_the_actual_limit(limit: int, notice: str) -> None:
    assert output_cut_notice(limit) == notice


# --- the run panel's output lines ---------------------------------------------------------------


def test_output_lines_keep_the_order_written_across_streams() -> None:
    lines = OutputLines()
    lines.feed("stdout", "Your name: ")  # an input() prompt: no newline
    lines.feed("stderr", "Traceback (most recent call last):\n  File")
    lines.feed("stderr", ' "/work/main.py"\nEOFError\n')
    lines.feed("stdout", "a\r\nb")
    lines.end()
    assert lines.take() == [
        ("stdout", "Your name: "),
        ("stderr", "Traceback (most recent call last):"),
        ("stderr", '  File "/work/main.py"'),
        ("stderr", "EOFError"),
        ("stdout", "a"),
        ("stdout", "b"),
    ]


def test_output_lines_come_in_bounded_batches_and_keep_the_last_lines() -> None:
    lines = OutputLines(keep=1000)
    lines.feed("stdout", "".join(f"{n}\n" for n in range(20_000)))
    first = lines.take(lines=200)
    assert first[0] == ("muted", "… 19,000 lines not shown here (the page keeps the last 1,000)")
    assert first[1:] == [("stdout", str(n)) for n in range(19_000, 19_199)]
    rest = [line for batch in iter(lines.take, []) for line in batch]
    assert rest[-1] == ("stdout", "19999") and len(rest) == 801


def test_a_long_line_shows_as_several_and_a_batch_is_bounded_in_characters() -> None:
    lines = OutputLines()
    lines.feed("stdout", "x" * (MAX_LINE_CHARS * 3 + 5))  # no newline yet: the long part shows anyway
    assert [len(text) for _, text in lines.take(chars=MAX_LINE_CHARS * 2)] == [MAX_LINE_CHARS] * 2
    lines.end()
    assert [len(text) for _, text in lines.take()] == [MAX_LINE_CHARS, 5]


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        (Reason.SIGNAL, "main.py was killed by a signal · signal 9 · CPU 5 ms"),
        (Reason.OUTPUT_LIMIT, "main.py wrote too much output · CPU 5 ms"),  # the kill is the sandbox's own
        (Reason.WALL_TIME_LIMIT, "main.py ran out of wall-clock time · CPU 5 ms"),
    ],
)
def test_the_result_line_names_a_signal_only_when_the_program_got_one(reason: Reason, shown: str) -> None:
    run = RunResult(
        compilation_job_id=UUID(int=1), workspace_id=UUID(int=2), path="main.py", language=Language.PYTHON,
        stdin="", created_at=datetime(2026, 1, 1, tzinfo=UTC), status=RunStatus.ERROR, reason=reason,
        signal=9, time_ms=5,
    )  # fmt: skip
    assert summary(run) == shown


async def test_a_draining_service_refuses_new_runs_and_records_nothing(
    runs: RunService, runner: FakeRunner, store: Store, owner: Actor, python_ws: UUID
) -> None:
    assert await runs.drain(0) == 0  # nothing was running
    with pytest.raises(Unavailable, match="shutting down"):
        await runs.run(owner, python_ws)
    nothing_recorded(store, runner)


def test_every_way_a_run_ends_has_its_words() -> None:
    from domain.values import REASON_WORDS, Reason

    assert set(REASON_WORDS) == set(Reason)
