"""The `user` fixture: Codeloft's pages under NiceGUI's user simulation (no browser, no server), each test
with its own data directory (`tests.pages.simulated.sign_in` makes the simulated person someone)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nicegui import app
from nicegui.persistence import FilePersistentDict
from nicegui.storage import Storage
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

from tests.pages.main import DATA_DIR_VARIABLE, in_thread, settings_for
from ui.app import prepare

MAIN_FILE = Path(__file__).with_name("main.py")


@pytest.fixture(scope="session")
def migrated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the database migrated and a key file, copied for each test: migrating takes
    longer than a page test."""
    data_dir = tmp_path_factory.mktemp("pages") / "data"
    in_thread(prepare, settings_for(data_dir))
    for path in data_dir.iterdir():  # as private as `prepare` leaves an existing directory, so it says nothing
        path.chmod(0o600 if path.is_file() else 0o700)
    return data_dir


@pytest.fixture
async def user(
    migrated_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[User]:
    """A person with a (simulated) browser on a fresh Codeloft; fails the test when the app logged an error."""
    data_dir = tmp_path / "data"
    shutil.copytree(migrated_data_dir, data_dir)
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(data_dir))
    # NiceGUI's general storage (the workbench's per person and workspace) and its clean-up in the test's
    # directory, not in `.nicegui` of wherever pytest was started.
    storage = tmp_path / "nicegui"
    monkeypatch.setattr(Storage, "path", storage)
    monkeypatch.setattr(app.storage, "_general", FilePersistentDict(storage / "storage-general.json", encoding="utf-8"))
    async with user_simulation(main_file=MAIN_FILE) as simulated:
        yield simulated
    errors = [record for record in caplog.get_records("call") if record.levelno >= logging.ERROR]
    if errors:
        pytest.fail(f"The app logged errors: {[record.getMessage() for record in errors]}", pytrace=False)
