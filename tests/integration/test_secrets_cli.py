"""`codeloft secrets rotate` as an operator types it (the rotation of stored keys itself: test_ai_keys_api)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serving import clean_env, codeloft


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(CODELOFT_DATA_DIR=str(tmp_path / "data"))


def test_secrets_rotate_is_documented(env: dict[str, str]) -> None:
    assert "secrets" in codeloft("--help", env=env).stdout
    assert "rotate" in codeloft("secrets", "--help", env=env).stdout
    rotate = codeloft("secrets", "rotate", "--help", env=env)
    assert rotate.returncode == 0
    assert "put the new key first and keep the old ones after it" in " ".join(rotate.stdout.split())


def test_rotating_with_nothing_stored_says_so(env: dict[str, str], tmp_path: Path) -> None:
    result = codeloft("secrets", "rotate", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Re-encrypted 0 stored secrets under the first secret key")
    assert (tmp_path / "data" / "secret.key").exists()


def test_a_value_that_is_no_key_is_one_clear_error(env: dict[str, str]) -> None:
    result = codeloft("secrets", "rotate", env={**env, "CODELOFT_SECRET_KEYS": "not-a-key"})

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: CODELOFT_SECRET_KEYS holds a value that is not a Fernet key")
