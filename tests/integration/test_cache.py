"""Both cache adapters against the same contract; Redis is the real server at 127.0.0.1:6379."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain import cache_keys
from domain.cache_keys import CacheKey
from domain.errors import InvalidInput, Unavailable
from persistence import cache as cache_module
from persistence.cache import MemoryCache, RedisCache
from tests.conftest import REDIS_TEST_URL


class ManualTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryCache()
        return
    redis_cache = RedisCache(REDIS_TEST_URL, prefix=f"test:{uuid.uuid4().hex}:")
    yield redis_cache
    await redis_cache.close()


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
