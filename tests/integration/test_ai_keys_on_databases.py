"""AIKeyService on SQLite and PostgreSQL with the real Redis cache, the real Fernet box and the real key check
against the local fake providers: rows hold only ciphertext, the `user:<id>:tokens` entry is read through
(30 minutes, masked forms only) and dropped by each change, names are unique per person and provider, and
rotation re-encrypts every row."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from ai.key_check import ProviderKeyChecker
from domain import cache_keys
from domain.access import Actor
from domain.accounts import AccountService
from domain.ai_keys import AIKeyService
from domain.errors import Conflict, InvalidInput
from persistence.cache import RedisCache
from persistence.models import UserAITokenRow
from persistence.secrets import FernetSecretBox
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.ai_providers import GEMINI_KEY, OPENAI_KEY, FakeProviders, fake_providers
from tests.conftest import REDIS_TEST_URL, FrozenClock

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with fake_providers() as fake:
        yield fake


@pytest.fixture
async def redis() -> AsyncIterator[RedisCache]:
    cache = RedisCache(REDIS_TEST_URL, prefix=f"test:{uuid.uuid4().hex}:")
    yield cache
    await cache.close()


def service(
    uow: SqlUnitOfWorkFactory, cache: RedisCache, clock: FrozenClock, providers: FakeProviders, *keys: str
) -> AIKeyService:
    checker = ProviderKeyChecker(openai_base_url=providers.openai_url, gemini_base_url=providers.gemini_url)
    return AIKeyService(uow=uow, cache=cache, clock=clock, box=FernetSecretBox(list(keys)), checker=checker)


async def raw_tokens(uow: SqlUnitOfWorkFactory) -> list[str]:
    async with uow.engine.connect() as connection:
        return list((await connection.scalars(select(UserAITokenRow.encrypted_token))).all())


async def test_keys_on_the_database_with_the_redis_cache(
    uow_factory: SqlUnitOfWorkFactory, redis: RedisCache, clock: FrozenClock, providers: FakeProviders
) -> None:
    accounts = AccountService(uow=uow_factory, cache=redis, clock=clock)
    ada = Actor((await accounts.add_local_user("ada@example.com")).id)
    keys = service(uow_factory, redis, clock, providers, OLD)
    entry = cache_keys.user_tokens(ada.user_id)  # type: ignore[arg-type]

    work = await keys.add(ada, provider="openai", name="Work", key=OPENAI_KEY)
    clock.advance(seconds=1)
    await keys.add(ada, provider="gemini", name="Work", key=GEMINI_KEY)  # same name, other provider
    with pytest.raises(Conflict):
        await keys.add(ada, provider="openai", name="Work", key=OPENAI_KEY)
    with pytest.raises(InvalidInput, match="OpenAI refused this key"):
        await keys.add(ada, provider="openai", name="Other", key="sk-proj-refusedrefusedrefused0000")

    tokens = await raw_tokens(uow_factory)
    assert len(tokens) == 2 and not any(key in token for token in tokens for key in (OPENAI_KEY, GEMINI_KEY))
    assert [v.masked for v in await keys.list(ada)] == ["sk-proj-…abcd", "AIza…wxyz"]
    cached = await redis.get(entry)
    assert [item["masked"] for item in cached] == ["sk-proj-…abcd", "AIza…wxyz"]
    assert OPENAI_KEY not in str(cached) and not any(token in str(cached) for token in tokens)
    ttl = await redis._client.ttl(redis._name(entry))  # what Redis itself holds, beneath the port
    assert 0 < ttl <= 30 * 60

    await keys.update(ada, work.id, is_active=False)
    assert await redis.get(entry) is None
    assert [v.is_active for v in await keys.list(ada)] == [False, True]
    assert await keys.active_key(ada, "openai") is None and await keys.active_key(ada, "gemini") == GEMINI_KEY

    assert await service(uow_factory, redis, clock, providers, NEW, OLD).rotate_all() == 2
    assert await redis.get(entry) is None
    new_only = service(uow_factory, redis, clock, providers, NEW)
    await new_only.update(ada, work.id, is_active=True)
    assert await new_only.active_key(ada, "openai") == OPENAI_KEY
    assert await new_only.active_key(ada, "gemini") == GEMINI_KEY
    assert all(Fernet(NEW.encode()).decrypt(token.encode()) for token in await raw_tokens(uow_factory))

    await new_only.delete(ada, work.id)
    assert [v.provider.value for v in await new_only.list(ada)] == ["gemini"]
    assert len(await raw_tokens(uow_factory)) == 1
