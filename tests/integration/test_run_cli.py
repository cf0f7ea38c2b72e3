"""`codeloft run FILE...` as a user types it: the program runs in the real bubblewrap sandbox (or the
local runner when asked), `--json` prints one object with every result field, limits come from the
options or from CODELOFT_RUN_LIMITS, and bad input is one line with exit status 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.serving import clean_env, codeloft

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

RESULT_FIELDS = {
    "status", "reason", "exit_code", "signal", "stdout", "stderr", "compile_output", "compiled", "compile_cached",
    "truncated", "time_ms", "wall_ms", "memory_kb",
}  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(CODELOFT_DATA_DIR=str(tmp_path / "data"), CODELOFT_RUNNER="bubblewrap")


def write(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return str(folder / name)


def run_json(*args: str, env: dict[str, str], status: int) -> dict[str, Any]:
    result = codeloft("run", *args, "--json", env=env)
    assert result.returncode == status, result.stdout + result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout)
    assert set(outcome) == RESULT_FIELDS
    return outcome


def test_a_python_file_runs_and_prints_one_json_object(tmp_path: Path, env: dict[str, str]) -> None:
    main = write(tmp_path, "main.py", "import os\nprint('hi', input(), sorted(os.listdir('.')))\n")
    stdin = write(tmp_path, "in.txt", "there\n")
    outcome = run_json(main, "--stdin-file", stdin, env=env, status=0)
    assert (outcome["status"], outcome["reason"], outcome["exit_code"]) == ("success", "ok", 0)
    assert outcome["stdout"] == "hi there ['main.py']\n"  # only the files named, nothing of the host
    assert outcome["wall_ms"] > 0 and (outcome["memory_kb"] is None or outcome["memory_kb"] > 0)


def test_several_cpp_files_compile_together_and_the_first_runs(tmp_path: Path, env: dict[str, str]) -> None:
    main = write(tmp_path, "main.cpp", '#include "greet.hpp"\nint main() { greet(); }\n')
    write(tmp_path, "greet.hpp", "void greet();\n")
    write(tmp_path, "greet.cpp", '#include <cstdio>\n#include "greet.hpp"\nvoid greet() { std::puts("hello"); }\n')
    outcome = run_json(main, str(tmp_path / "greet.cpp"), str(tmp_path / "greet.hpp"), env=env, status=0)
    assert outcome["stdout"] == "hello\n" and outcome["compiled"] is True


def test_a_compile_error_is_exit_status_one_with_the_compiler_output(tmp_path: Path, env: dict[str, str]) -> None:
    main = write(tmp_path, "main.cpp", "int main() { return nope; }\n")
    outcome = run_json(main, env=env, status=1)
    assert outcome["reason"] == "compile_error" and "main.cpp:1" in outcome["compile_output"]


def test_the_time_limit_option_stops_a_cpu_loop(tmp_path: Path, env: dict[str, str]) -> None:
    main = write(tmp_path, "loop.py", "while True: pass\n")
    outcome = run_json(main, "--time-limit", "1", env=env, status=1)
    assert (outcome["status"], outcome["reason"]) == ("timeout", "time_limit")
    assert outcome["time_ms"] <= 2500


def test_run_limits_from_the_setting_apply_when_no_option_is_given(tmp_path: Path, env: dict[str, str]) -> None:
    hog = write(tmp_path, "hog.py", "x = bytearray(200 * 1024 * 1024)\nprint('allocated')\n")
    assert run_json(hog, env=env, status=0)["stdout"] == "allocated\n"  # 256 MB by default
    limited = {**env, "CODELOFT_RUN_LIMITS": '{"memory_mb": 64, "cpu_seconds": 1}'}
    outcome = run_json(hog, env=limited, status=1)
    assert outcome["reason"] == "memory_limit" and outcome["stdout"] == ""
    loop = write(tmp_path, "loop.py", "while True: pass\n")
    assert run_json(loop, env=limited, status=1)["reason"] == "time_limit"


def test_the_language_option_runs_a_file_without_a_known_extension(tmp_path: Path, env: dict[str, str]) -> None:
    script = write(tmp_path, "script", "console.log(6 * 7)\n")
    assert run_json(script, "--language", "javascript", env=env, status=0)["stdout"] == "42\n"


def test_the_local_runner_is_chosen_by_option(tmp_path: Path, env: dict[str, str]) -> None:
    main = write(tmp_path, "main.py", "print('local')\n")
    assert run_json(main, "--runner", "local", env=env, status=0)["stdout"] == "local\n"


@pytest.mark.parametrize(
    ("args", "settings", "message"),
    [
        (("--language", "cobol"), {}, "Codeloft cannot run 'cobol'"),
        (("--runner", "chroot"), {}, "CODELOFT_RUNNER"),
        ((), {"CODELOFT_RUN_LIMITS": '{"cpu": 1}'}, "CODELOFT_RUN_LIMITS is not valid: there is no run limit 'cpu'"),
        ((), {"CODELOFT_RUN_LIMITS": '{"memory_mb": -5}'}, "memory_mb must be a number above zero"),
        ((), {"CODELOFT_RUN_LIMITS": "not json"}, "CODELOFT_RUN_LIMITS is not valid"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_two(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], settings: dict[str, str], message: str
) -> None:
    main = write(tmp_path, "main.py", "print('never')\n")
    result = codeloft("run", main, *args, "--json", env={**env, **settings})
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_a_file_that_is_not_there_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    result = codeloft("run", str(tmp_path / "missing.py"), env=env)
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
