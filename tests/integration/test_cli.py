"""The `codeloft` command as a user types it: clear one-line errors, nothing stored is touched."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.serving import clean_env, codeloft, link_in, start_server


def no_traceback(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(CODELOFT_DATA_DIR=str(tmp_path / "data"))


def test_help_documents_every_command_and_setting(env: dict[str, str]) -> None:
    result = codeloft("--help", env=env)
    assert result.returncode == 0
    for word in [
        "serve",
        "migrate",
        "user",
        *(
            f"CODELOFT_{s}"
            for s in (
                "DATA_DIR",
                "DATABASE_URL",
                "REDIS_URL",
                "HOST",
                "PORT",
                "RUNNER",
                "SECRET_KEYS",
                "PUBLIC_URL",
                "PUBLIC_DOCS",
                "RUN_LIMITS",
            )
        ),
    ]:
        assert word in result.stdout
    users = codeloft("user", "--help", env=env)
    assert "add" in users.stdout and "link" in users.stdout
    add = codeloft("user", "add", "--help", env=env)
    assert "--name" in add.stdout and "--tier" in add.stdout


def test_an_unknown_option_is_one_clear_error(env: dict[str, str]) -> None:
    result = codeloft("serve", "--bogus", env=env)
    assert result.returncode == 2 and "No such option: --bogus" in result.stderr
    no_traceback(result)


def test_user_add_and_link(env: dict[str, str], tmp_path: Path) -> None:
    created = codeloft("user", "add", "Ann@Example.com", "--name", "Ann", "--tier", "premium", env=env)
    assert created.returncode == 0, created.stderr
    assert "/login/token/" in link_in(created.stdout)
    assert (tmp_path / "data" / "codeloft.db").exists()
    key = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = codeloft("user", "add", "ann@example.com", env=env)
    assert again.returncode == 2 and again.stderr.strip() == (
        "error: A user with the e-mail address ann@example.com exists already."
    )
    linked = codeloft("user", "link", "ann@example.com", env=env)
    assert linked.returncode == 0 and link_in(linked.stdout) != link_in(created.stdout)
    unknown = codeloft("user", "link", "nobody@example.com", env=env)
    assert unknown.returncode == 2 and "No user has the e-mail address nobody@example.com" in unknown.stderr
    for args, message in [
        (("user", "add", "not-an-address"), "is not an e-mail address"),
        (("user", "add", "x@y.z", "--tier", "gold"), "Invalid value for '--tier'"),
    ]:
        result = codeloft(*args, env=env)
        assert result.returncode == 2 and message in result.stderr
        no_traceback(result)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("CODELOFT_DATABASE_URL", "not a url at all", "is not a database URL"),
        ("CODELOFT_DATABASE_URL", "mysql://root@127.0.0.1/test", "does not support"),
        ("CODELOFT_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/x", "Cannot reach PostgreSQL at 127.0.0.1:1/x"),
        ("CODELOFT_REDIS_URL", "redis://127.0.0.1:1/0", "Cannot reach Redis at redis://127.0.0.1:1/0"),
        ("CODELOFT_REDIS_URL", "http://127.0.0.1", "not a Redis URL"),
        ("CODELOFT_PORT", "eighty", "CODELOFT_PORT is not valid"),
        ("CODELOFT_RUNNER", "chroot", "CODELOFT_RUNNER is not valid"),
        ("CODELOFT_SECRET_KEYS", "short", "not a Fernet key"),
        ("CODELOFT_RUN_LIMITS", '{"memory": 64}', "CODELOFT_RUN_LIMITS is not valid: there is no run limit 'memory'"),
    ],
)
@pytest.mark.parametrize("command", [("migrate",), ("serve",)])
def test_bad_settings_give_one_line_and_touch_nothing(
    env: dict[str, str], setting: str, value: str, message: str, command: tuple[str, ...]
) -> None:
    assert codeloft("user", "add", "keep@example.com", env=env).returncode == 0
    database = Path(env["CODELOFT_DATA_DIR"]) / "codeloft.db"
    before = digest(database)
    result = codeloft(*command, env={**env, setting: value}, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    no_traceback(result)
    assert digest(database) == before


async def test_migrate_on_postgresql() -> None:
    url = await create_postgres_database()
    try:
        env = clean_env(CODELOFT_DATABASE_URL=url.render_as_string(hide_password=False))
        result = codeloft("migrate", env=env)
        assert result.returncode == 0 and "Migrations applied" in result.stdout
        assert codeloft("migrate", env=env).returncode == 0  # idempotent
    finally:
        await drop_postgres_database(url)


def test_serve_creates_everything_in_an_empty_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "nested"
    server = start_server(data_dir)
    try:
        assert (data_dir / "codeloft.db").exists()
        assert stat.S_IMODE((data_dir / "secret.key").stat().st_mode) == 0o600
        assert server.link.startswith(server.base_url + "/login/token/")
        assert "Codeloft is running at" in "".join(server.output)
    finally:
        server.stop()
    restarted = start_server(data_dir)  # a restart keeps the data and prints a new link
    try:
        assert restarted.link != server.link
    finally:
        restarted.stop()


def test_the_local_runner_is_refused_once_several_people_can_sign_in(env: dict[str, str]) -> None:
    assert codeloft("user", "add", "second@example.com", env=env).returncode == 0  # the owner makes two
    result = codeloft("serve", env={**env, "CODELOFT_RUNNER": "local"}, timeout=60)
    assert result.returncode == 2
    assert "local runner does not isolate user code" in result.stderr
    no_traceback(result)
