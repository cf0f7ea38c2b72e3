"""What the bubblewrap and docker sandbox tests share: small programs every sandbox must run alike,
the helpers to run them, and the tests both run as they are (each module imports them, and pytest
runs them there with that module's `executor`)."""

from __future__ import annotations

import pytest

from domain.runs import Executor, Outcome
from domain.sandbox import RunLimits

MARGIN_S = 1.5
"""How much longer than its limit a stopped program may take to be reported."""
FAST = RunLimits(cpu_seconds=1, wall_seconds=3)


async def python(executor: Executor, source: str, limits: RunLimits = FAST, stdin: str = "") -> Outcome:
    return await executor.run_files({"main.py": source.encode()}, "main.py", limits=limits, stdin=stdin)


def assert_within(outcome: Outcome, seconds: float) -> None:
    assert outcome.wall_ms is not None and outcome.wall_ms <= (seconds + MARGIN_S) * 1000, outcome


EACH_LANGUAGE = pytest.mark.parametrize(
    ("files", "main", "expected"),
    [
        ({"main.py": b"print(sum(range(10)))\n"}, "main.py", "45\n"),
        ({"index.js": b"console.log([1,2,3].map(x => x * 2).join(','))\n"}, "index.js", "2,4,6\n"),
        (
            {
                "main.cpp": b'#include "g.hpp"\n#include <cstdio>\nint main(){std::printf("%d\\n", g());}\n',
                "g.hpp": b"int g();\n",
                "g.cpp": b'#include "g.hpp"\nint g(){return 7;}\n',
            },
            "main.cpp",
            "7\n",
        ),
        (
            {
                "src/app/Main.java": b"package app;\npublic class Main { public static void main(String[] a) "
                b"{ System.out.println(Helper.twice(21)); } }\n",
                "src/app/Helper.java": b"package app;\nclass Helper { static int twice(int x) { return 2 * x; } }\n",
            },
            "src/app/Main.java",
            "42\n",
        ),
    ],
    ids=["python", "javascript", "cpp", "java"],
)
"""Parametrises a test with (files, main, expected stdout) for Python, JavaScript, C++ and Java."""


# --- tests every sandbox passes alike ----------------------------------------------------------


async def test_hello_and_stdin(executor: Executor) -> None:
    outcome = await python(executor, "print('hello', input())", stdin="sandbox\n")
    assert (outcome.status, outcome.reason, outcome.stdout) == ("success", "ok", "hello sandbox\n")
    assert outcome.memory_kb and outcome.time_ms is not None


@EACH_LANGUAGE
async def test_each_language_runs(executor: Executor, files: dict[str, bytes], main: str, expected: str) -> None:
    outcome = await executor.run_files(files, main, limits=RunLimits(wall_seconds=20))
    assert (outcome.status, outcome.stdout) == ("success", expected), outcome


async def test_sleeping_past_the_wall_limit(executor: Executor) -> None:
    outcome = await python(executor, "import time; time.sleep(60)", RunLimits(cpu_seconds=5, wall_seconds=1))
    assert (outcome.status, outcome.reason) == ("timeout", "wall_time_limit")
    assert_within(outcome, 1)


async def test_printing_gigabytes_stops_at_the_output_limit(executor: Executor) -> None:
    limits = RunLimits(output_bytes=100_000, cpu_seconds=5, wall_seconds=10)
    outcome = await python(executor, "while True: print('x' * 10000)", limits)
    assert (outcome.status, outcome.reason, outcome.truncated) == ("error", "output_limit", True)
    assert len(outcome.stdout) == 100_000
    assert_within(outcome, 2)
