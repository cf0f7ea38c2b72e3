"""Both cache adapters against the same contract; Redis is the real server at 127.0.0.1:6379."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from domain import cache_keys
from domain.cache_keys import CacheKey
from domain.errors import InvalidInput, Unavailable
from persistence import cache as cache_module
from persistence import tracked_copies
from persistence.cache import MemoryCache, RedisCache
from tests.conftest import REDIS_TEST_URL


class ManualTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis", "redis-with-copies"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryCache()
        return
    copied = ("user:", "workspace:") if request.param == "redis-with-copies" else ()
    redis_cache = RedisCache(REDIS_TEST_URL, prefix=f"test:{uuid.uuid4().hex}:", copied=copied)
    yield redis_cache
    await redis_cache.close()


async def eventually(condition: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


async def copying(cache: RedisCache, key: CacheKey) -> None:
    """Read `key` until the cache's listener is up (the first tracked read starts it)."""

    async def listening() -> bool:
        await cache.get(key)
        return cache.copying

    await eventually(listening)


async def gets_served_by_redis(client: aioredis.Redis) -> int:
    return int((await client.info("commandstats")).get("cmdstat_get", {}).get("calls", 0))


async def test_set_get_delete(cache: Any) -> None:
    key = cache_keys.workspace(uuid.uuid4())
    assert await cache.get(key) is None
    await cache.set(key, {"name": "w", "tags": ["a"]})
    assert await cache.get(key) == {"name": "w", "tags": ["a"]}
    await cache.delete(key)
    assert await cache.get(key) is None
    await cache.ping()


async def test_values_are_copies(cache: Any) -> None:
    key = cache_keys.user_profile(uuid.uuid4())
    value = {"n": [1]}
    await cache.set(key, value)
    value["n"].append(2)
    assert await cache.get(key) == {"n": [1]}


async def test_a_fence_drops_its_entries_and_refuses_fenced_sets_while_it_stands(cache: Any) -> None:
    """What a save does to a workspace's cached tree: gone at once, and a reader that read the database
    before the save cannot put its copy back while the fence stands; other entries and plain sets can."""
    workspace = uuid.uuid4()
    tree, metadata = cache_keys.workspace_files(workspace), cache_keys.workspace(workspace)
    other = cache_keys.workspace_files(uuid.uuid4())
    await cache.set(tree, ["old"])
    await cache.set(metadata, {"name": "w"})
    assert await cache.get(tree) == ["old"]  # (with copies: kept in the process from here on)
    await cache.fence(tree, metadata)
    assert await cache.get(tree) is None and await cache.get(metadata) is None
    await cache.set(tree, ["old"], fenced=True)
    await cache.set(metadata, {"name": "w"}, fenced=True)
    assert await cache.get(tree) is None and await cache.get(metadata) is None
    await cache.set(other, ["another workspace"], fenced=True)
    await cache.set(metadata, {"name": "v"})  # a plain set is not refused
    assert await cache.get(other) == ["another workspace"] and await cache.get(metadata) == {"name": "v"}
    if isinstance(cache, RedisCache):
        assert 0 < await cache.ttl(cache_keys.fence_of(tree)) <= cache_keys.CHANGE_FENCE_SECONDS
    await cache.delete(cache_keys.fence_of(tree))  # run out
    await cache.set(tree, ["new"], fenced=True)
    assert await cache.get(tree) == ["new"]


async def test_each_entry_has_a_fence_of_its_own() -> None:
    """Dropping a workspace's metadata (a rename, a visit) leaves its tree cacheable."""
    cache, workspace = MemoryCache(), uuid.uuid4()
    tree, metadata = cache_keys.workspace_files(workspace), cache_keys.workspace(workspace)
    await cache.fence(metadata)
    await cache.set(tree, ["kept"], fenced=True)
    await cache.set(metadata, {"name": "w"}, fenced=True)
    assert await cache.get(tree) == ["kept"] and await cache.get(metadata) is None


async def test_a_fence_runs_out() -> None:
    time = ManualTime()
    cache = MemoryCache(monotonic=time)
    tree = CacheKey("tree", 60)
    await cache.fence(tree)
    time.now += cache_keys.CHANGE_FENCE_SECONDS - 0.1
    await cache.set(tree, 1, fenced=True)
    assert await cache.get(tree) is None
    time.now += 0.2
    await cache.set(tree, 1, fenced=True)
    assert await cache.get(tree) == 1


async def test_entries_expire() -> None:
    time = ManualTime()
    cache = MemoryCache(monotonic=time)
    key = CacheKey("short", 10)
    await cache.set(key, 1)
    time.now += 9.9
    assert await cache.get(key) == 1
    time.now += 0.2
    assert await cache.get(key) is None


async def test_memory_cache_is_bounded() -> None:
    cache = MemoryCache(max_entries=3)
    for n in range(10):
        await cache.set(CacheKey(f"k{n}", 60), n)
    assert await cache.get(CacheKey("k9", 60)) == 9
    assert sum([await cache.get(CacheKey(f"k{n}", 60)) is not None for n in range(10)]) <= 3


@pytest.mark.redis
async def test_redis_keys_carry_the_spec_names_and_ttls() -> None:
    redis_cache = RedisCache(REDIS_TEST_URL)
    some = uuid.uuid4()
    expected = {
        cache_keys.user_profile(some): (f"user:{some}:profile", 3600),
        cache_keys.user_tokens(some): (f"user:{some}:tokens", 1800),
        cache_keys.workspace(some): (f"workspace:{some}", 3600),
        cache_keys.workspace_files(some): (f"workspace:{some}:files", 1800),
        cache_keys.compilation("abc"): ("compilation:abc", 86400),
        cache_keys.ai_response("abc"): ("ai:response:abc", 3600),
        cache_keys.extension(some): (f"extension:{some}", 21600),
    }
    try:
        for key, (name, ttl) in expected.items():
            assert key.name == name
            await redis_cache.set(key, 1)
            assert ttl - 2 <= await redis_cache.ttl(key) <= ttl
    finally:
        await redis_cache.delete(*expected)
        await redis_cache.close()


async def test_unreachable_redis_is_reported_clearly() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0")
    with pytest.raises(Unavailable, match=re.escape("Cannot reach Redis at redis://127.0.0.1:1/0")):
        await asyncio.wait_for(cache.ping(), 10)
    await cache.close()


async def test_a_redis_that_never_answers_is_reported_after_the_command_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that takes the connection and then says nothing (hung, or a network that drops packets)."""

    async def silent(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(cache_module, "COMMAND_SECONDS", 0.3)
    cache = RedisCache(f"redis://127.0.0.1:{port}/0")
    try:
        for command in (
            cache.get(cache_keys.workspace(uuid.uuid4())),
            cache.delete(cache_keys.workspace(uuid.uuid4())),
        ):
            started = asyncio.get_running_loop().time()
            with pytest.raises(Unavailable, match=f"Cannot reach Redis at redis://127.0.0.1:{port}/0"):
                await asyncio.wait_for(command, 10)
            assert asyncio.get_running_loop().time() - started < 5
    finally:
        await cache.close()
        server.close()


def test_a_malformed_redis_url_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not a Redis URL"):
        RedisCache("http://example")


@pytest.fixture
async def two_instances() -> AsyncIterator[tuple[RedisCache, RedisCache, aioredis.Redis, str]]:
    """Two instances' caches keeping copies of `session:` keys (under a prefix of this test's own), and a
    plain client on the same database."""
    prefix = f"test:{uuid.uuid4().hex}:"
    first = RedisCache(REDIS_TEST_URL, prefix=prefix, copied=("session:",))
    second = RedisCache(REDIS_TEST_URL, prefix=prefix, copied=("session:",))
    plain = aioredis.Redis.from_url(REDIS_TEST_URL, decode_responses=True)
    yield first, second, plain, prefix
    for cache in (first, second):
        await cache.close()
    await plain.aclose()


@pytest.mark.redis
async def test_a_copied_entry_is_read_from_the_process_until_another_instance_changes_it(two_instances) -> None:
    first, second, plain, _ = two_instances
    key = cache_keys.session("a" * 64)
    await second.set(key, {"user": "ann", "version": 1})
    await copying(first, key)
    assert await first.get(key) == {"user": "ann", "version": 1}
    asked = await gets_served_by_redis(plain)
    for _ in range(20):
        assert await first.get(key) == {"user": "ann", "version": 1}
    assert await gets_served_by_redis(plain) - asked <= 1  # INFO's own count may include one racing GET

    await second.set(key, {"user": "ann", "version": 2})  # renewed on the other instance
    await eventually(lambda: _equals(first, key, {"user": "ann", "version": 2}))
    await second.delete(key)  # signed out on the other instance
    await eventually(lambda: _equals(first, key, None))


async def _equals(cache: RedisCache, key: CacheKey, expected: Any) -> bool:
    return await cache.get(key) == expected


@pytest.mark.redis
async def test_a_change_made_here_shows_here_at_once(two_instances) -> None:
    """Signing out on this instance must not wait for Redis's invalidation message to come back."""
    first, _, _, _ = two_instances
    key = cache_keys.session("b" * 64)
    await first.set(key, {"v": 1})
    await copying(first, key)
    await first.set(key, {"v": 2})
    assert await first.get(key) == {"v": 2}
    await first.delete(key)
    assert await first.get(key) is None


@pytest.mark.redis
async def test_a_fence_put_up_on_another_instance_drops_the_copies_here(two_instances) -> None:
    first, second, _, _ = two_instances
    key = cache_keys.session("d" * 64)
    await second.set(key, {"v": 1})
    await copying(first, key)
    await second.fence(key)
    await eventually(lambda: _equals(first, key, None))


@pytest.mark.redis
async def test_expiry_and_writes_by_any_client_reach_the_copies(two_instances) -> None:
    first, _, plain, prefix = two_instances
    key = cache_keys.session("c" * 64)
    await plain.set(prefix + key.name, json.dumps({"v": 1}))
    await copying(first, key)
    await plain.set(prefix + key.name, json.dumps({"v": 2}), px=200)  # edited by hand, then expires
    await eventually(lambda: _equals(first, key, {"v": 2}))
    await eventually(lambda: _equals(first, key, None))


@pytest.mark.redis
async def test_copies_are_dropped_while_the_listening_connection_is_lost(
    two_instances, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change made while the listener is disconnected reaches no one: every copy goes, reads go to Redis
    until the listener is back, and then copies are kept again."""
    monkeypatch.setattr(tracked_copies, "RETRY_SECONDS", 0.5)
    first, _, plain, prefix = two_instances
    key = cache_keys.session("d" * 64)
    await plain.set(prefix + key.name, json.dumps({"v": 1}))
    await copying(first, key)
    for client in await plain.client_list():  # as if Redis restarted, or a proxy dropped the connection
        if client["name"] == tracked_copies.CONNECTION_NAME:
            await plain.client_kill_filter(_id=client["id"])
    await eventually(lambda: _not_copying(first))
    await plain.set(prefix + key.name, json.dumps({"v": 2}))
    assert await first.get(key) == {"v": 2}
    await copying(first, key)
    assert await first.get(key) == {"v": 2}


async def _not_copying(cache: RedisCache) -> bool:
    return not cache.copying


@pytest.mark.redis
async def test_a_silent_listening_connection_counts_as_lost(two_instances, monkeypatch: pytest.MonkeyPatch) -> None:
    """A network that stops answering: no PING answer within two quiet spells drops the copies."""
    monkeypatch.setattr(tracked_copies, "QUIET_SECONDS", 0.2)
    monkeypatch.setattr(tracked_copies, "RETRY_SECONDS", 30)
    first, _, plain, _ = two_instances
    key = cache_keys.session("e" * 64)
    await first.set(key, {"v": 1})
    await copying(first, key)
    await plain.execute_command("CLIENT", "PAUSE", "1500", "ALL")  # answers nothing (PING included) for 1.5 s
    await eventually(lambda: _not_copying(first), seconds=1.4)
