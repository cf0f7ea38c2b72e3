"""Small programs every sandbox must run alike (shared by the bubblewrap and docker tests)."""

from __future__ import annotations

import pytest

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
