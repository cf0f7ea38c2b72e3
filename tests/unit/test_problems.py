"""Problems found in compiler output, tracebacks and stack traces, as the sandbox prints them: each
points at a file of the workspace (never at the toolchain's own files) by line and, where the tool
says it, column."""

from __future__ import annotations

from domain.problems import MAX_PROBLEMS, Problem, find_problems

FILES = {"main.cpp", "greeting.cpp", "greeting.hpp", "src/app/Main.java", "src/app/Greeting.java"}


def test_gcc_errors_and_warnings_with_line_and_column() -> None:
    output = (
        "In file included from ./main.cpp:2:\n"
        "./greeting.hpp:3:1: error: 'strin' does not name a type\n"
        "    3 | strin greeting();\n"
        "      | ^~~~~\n"
        "./main.cpp: In function 'int main()':\n"
        "./main.cpp:5:9: warning: unused variable 'x' [-Wunused-variable]\n"
        "./greeting.cpp:5:14: error: expected primary-expression before ';' token\n"
        "./greeting.cpp:5:14: note: something the compiler adds\n"
        "/usr/include/c++/12/bits/basic_string.h:99:3: error: inside the toolchain\n"
    )
    assert find_problems(output, FILES) == [
        Problem(path="greeting.hpp", line=3, column=1, message="'strin' does not name a type"),
        Problem(
            path="main.cpp", line=5, column=9, message="unused variable 'x' [-Wunused-variable]", severity="warning"
        ),
        Problem(path="greeting.cpp", line=5, column=14, message="expected primary-expression before ';' token"),
    ]


def test_gcc_fatal_error_and_a_path_without_dot_slash() -> None:
    output = "main.cpp:1:10: fatal error: missing.hpp: No such file or directory\ncompilation terminated.\n"
    assert find_problems(output, FILES) == [
        Problem(path="main.cpp", line=1, column=10, message="missing.hpp: No such file or directory")
    ]


def test_javac_errors_take_their_column_from_the_caret() -> None:
    output = (
        "./src/app/Main.java:5: error: ';' expected\n"
        '        System.out.println("hi")\n'
        "                                ^\n"
        "./src/app/Greeting.java:7: warning: [removal] something\n"
        "        old();\n"
        "        ^\n"
        "1 error\n"
        "1 warning\n"
    )
    assert find_problems(output, FILES) == [
        Problem(path="src/app/Main.java", line=5, column=33, message="';' expected"),
        Problem(path="src/app/Greeting.java", line=7, column=9, message="[removal] something", severity="warning"),
    ]


def test_a_python_traceback_links_its_workspace_frames_innermost_first() -> None:
    output = (
        "Traceback (most recent call last):\n"
        '  File "/work/main.py", line 4, in <module>\n'
        "    helper.divide()\n"
        '  File "/work/lib/helper.py", line 2, in divide\n'
        "    return 1 / 0\n"
        '  File "/usr/lib/python3.11/fractions.py", line 9, in nothing\n'
        "           ~~^~~\n"
        "ZeroDivisionError: division by zero\n"
    )
    assert find_problems(output, {"main.py", "lib/helper.py"}) == [
        Problem(path="lib/helper.py", line=2, message="ZeroDivisionError: division by zero"),
        Problem(path="main.py", line=4, message="ZeroDivisionError: division by zero"),
    ]


def test_the_main_script_is_named_with_dot_slash_inside_the_work_folder() -> None:
    output = 'Traceback (most recent call last):\n  File "/work/./main.py", line 1, in <module>\nEOFError: EOF\n'
    assert find_problems(output, {"main.py"}) == [Problem(path="main.py", line=1, message="EOFError: EOF")]


def test_a_python_syntax_error_and_a_relative_path() -> None:
    output = '  File "main.py", line 2\n    x = = 1\n        ^\nSyntaxError: invalid syntax\n'
    expected = Problem(path="main.py", line=2, message="SyntaxError: invalid syntax")
    assert find_problems(output, {"main.py"}) == [expected]


def test_the_local_runners_temporary_folder_maps_to_the_workspace_too() -> None:
    output = (
        'Traceback (most recent call last):\n  File "/tmp/codeloft-run-ab12cd/pkg/x.py", line 7, in f\nKeyError: 1\n'
    )
    assert find_problems(output, {"pkg/x.py"}) == [Problem(path="pkg/x.py", line=7, message="KeyError: 1")]


def test_a_node_stack_trace_and_its_header() -> None:
    output = (
        "/work/index.js:3\n"
        '    throw new Error("boom");\n'
        "    ^\n"
        "\n"
        "Error: boom\n"
        "    at inner (/work/lib/util.js:2:9)\n"
        "    at Object.<anonymous> (/work/index.js:3:11)\n"
        "    at /work/index.js:8:1\n"
        "    at Module._compile (node:internal/modules/cjs/loader:1105:14)\n"
        "    at file:///work/esm.mjs:4:2\n"
    )
    assert find_problems(output, {"index.js", "lib/util.js", "esm.mjs"}) == [
        Problem(path="index.js", line=3, column=11, message="Error: boom"),
        Problem(path="lib/util.js", line=2, column=9, message="Error: boom"),
        Problem(path="index.js", line=8, column=1, message="Error: boom"),
        Problem(path="esm.mjs", line=4, column=2, message="Error: boom"),
    ]


def test_a_node_syntax_error_names_the_line() -> None:
    output = (
        "/work/index.js:2\nlet = ;\n    ^\n\nSyntaxError: Unexpected token '='\n"
        "    at internalCompileFunction (node:internal/vm:76:18)\n"
    )
    assert find_problems(output, {"index.js"}) == [
        Problem(path="index.js", line=2, message="SyntaxError: Unexpected token '='")
    ]


def test_a_java_exception_links_the_source_of_its_class() -> None:
    output = (
        'Exception in thread "main" java.lang.IllegalStateException: nope\n'
        "\tat app.Greeting.of(Greeting.java:7)\n"
        "\tat app.Main.main(Main.java:5)\n"
        "\tat java.base/java.lang.Thread.run(Thread.java:833)\n"
    )
    message = 'Exception in thread "main" java.lang.IllegalStateException: nope'
    assert find_problems(output, FILES) == [
        Problem(path="src/app/Greeting.java", line=7, message=message),
        Problem(path="src/app/Main.java", line=5, message=message),
    ]


def test_paths_that_are_not_files_of_the_workspace_are_left_out() -> None:
    output = (
        "./other.cpp:1:1: error: not in the workspace\n"
        '  File "/work/gone.py", line 1, in <module>\n'
        "NameError: x\n"
        "    at f (/etc/passwd:1:1)\n"
        "../main.cpp:1:1: error: outside the work folder\n"
        "/work/../main.cpp:1:1: error: outside too\n"
    )
    assert find_problems(output, FILES) == []


def test_plain_output_has_no_problems() -> None:
    assert find_problems("Hello, Codeloft!\n12:30: lunch\nmain.cpp is great\n", FILES) == []


def test_a_flood_of_errors_is_cut_at_the_cap() -> None:
    output = "".join(f"./main.cpp:{n}:1: error: no\n" for n in range(1, 5000))
    found = find_problems(output, FILES)
    assert len(found) == MAX_PROBLEMS and found[-1].line == MAX_PROBLEMS
