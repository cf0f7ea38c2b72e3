"""What the bubblewrap and docker sandbox tests share: small programs every sandbox must run alike,
and the helpers to run them."""

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
