"""People's page state with several instances: one Redis key per entry, so two instances changing two
people's state at the same moment keep both (NiceGUI's one-value storage could lose one)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import REDIS_TEST_URL
from ui.preferences import Preferences
from ui.shared_state import PREFIX, RedisEntries
from ui.workbench.state import WorkbenchState, WorkbenchStates

pytestmark = pytest.mark.redis


@pytest.fixture
def url() -> Iterator[str]:
    yield REDIS_TEST_URL
    client = redis.Redis.from_url(REDIS_TEST_URL)
    for key in client.scan_iter(PREFIX + "*"):
        client.delete(key)
    client.close()


def test_two_instances_writing_at_once_lose_nothing(url: str) -> None:
    first, second = RedisEntries(url), RedisEntries(url)
    people = [uuid.uuid4() for _ in range(40)]
    workspace = uuid.uuid4()

    def save(entries: RedisEntries, chosen: list[uuid.UUID]) -> None:
        states = WorkbenchStates(entries)
        for person in chosen:
            states.save(person, workspace, WorkbenchState(side_size=30, tabs=[f"{person}.py"]))
            Preferences(entries).set_theme(person, "dark")

    threads = [threading.Thread(target=save, args=(e, people[i::2])) for i, e in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    reader = RedisEntries(url)  # a third instance
    for person in people:
        assert WorkbenchStates(reader).load(person, workspace).tabs == [f"{person}.py"]
        assert Preferences(reader).theme(person) == "dark"


def test_unreachable_redis_gives_defaults_instead_of_failing_the_page() -> None:
    entries = RedisEntries("redis://127.0.0.1:1/0")
    person = uuid.uuid4()
    assert Preferences(entries).theme(person) is None
    Preferences(entries).set_theme(person, "dark")  # not kept, but no error
