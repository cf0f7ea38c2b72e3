from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.values import Email, Language, Tier, WorkspacePath, decode_path, parse_enum, require_text


@pytest.mark.parametrize(
    "path",
    [
        "main.py",
        "src/app/Main.java",
        "a b/ü.txt",
        ".gitignore",
        "/".join(["x" * 255] * 3 + ["x" * 254, "y"]),  # 1024 bytes, no name longer than a file system allows
        "x" * 255,
        "é" * 127 + "x",  # 255 bytes in UTF-8
    ],
)
def test_valid_paths(path: str) -> None:
    assert WorkspacePath(path).value == path


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("", "empty"),
        ("../x", r"'\.\.'"),
        ("a/../b", r"'\.\.'"),
        ("./a", r"'\.'"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        ("/etc/passwd", "relative"),
        ("a\\b", "backslash"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("x" * 1025, "1024 bytes"),
        ("é" * 513, "1024 bytes"),
        ("x" * 256, "at most 255 bytes per path segment"),
        ("src/" + "x" * 300 + ".py", "at most 255 bytes per path segment"),
        ("é" * 128, "at most 255 bytes per path segment"),  # 128 characters, 256 bytes
        ("d" * 256 + "/main.py", "at most 255 bytes per path segment"),
        ("invoice\u202etxt.exe", "bidirectional"),  # shows as invoiceexe.txt
        *(
            (f"a{chr(c)}b.py", "bidirectional")
            for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)
        ),
        ("src/\u2067x/main.py", "U\\+202A"),
        ("a\ud800b", "UTF-8"),  # a lone surrogate: no UTF-8 form, two names could not stay apart
    ],
)
def test_invalid_paths_name_the_rule(path: str, rule: str) -> None:
    with pytest.raises(InvalidInput, match=rule):
        WorkspacePath(path)


def test_path_parts() -> None:
    path = WorkspacePath("src/app/Main.java")
    assert (path.parent, path.name) == ("src/app", "Main.java")


def test_email_is_normalised_and_checked() -> None:
    assert Email("  Bob@Example.COM ").value == "bob@example.com"
    with pytest.raises(InvalidInput, match="not an e-mail address"):
        Email("bob")


def test_enums_list_allowed_values() -> None:
    assert parse_enum(Language, "Python", what="language") is Language.PYTHON
    with pytest.raises(InvalidInput, match="free, premium, enterprise"):
        parse_enum(Tier, "gold", what="tier")


def test_text_rules() -> None:
    assert require_text("  hi ", what="name", max_length=5) == "hi"
    with pytest.raises(InvalidInput, match="name cannot be empty"):
        require_text("   ", what="name", max_length=5)
    with pytest.raises(InvalidInput, match="at most 5"):
        require_text("abcdef", what="name", max_length=5)


def test_a_path_from_a_url_must_be_utf8() -> None:
    assert decode_path("src/ü.py".encode()) == "src/ü.py"
    for raw in (b"\xff.py", b"\xc0\xae.py", b"a\xed\xa0\x80"):  # invalid, overlong '.', a surrogate
        with pytest.raises(InvalidInput, match="UTF-8"):
            decode_path(raw)
