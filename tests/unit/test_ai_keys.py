"""People's own AI keys on fakes: checked with the provider before they are stored, stored only encrypted,
shown only masked, read through the cache and dropped from it by every change, one's own only, and all
re-encrypted under a new first secret key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain import cache_keys
from domain.access import ANONYMOUS, Actor
from domain.accounts import AccountService
from domain.ai_keys import AIKeyService, mask
from domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated, Unavailable
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, FakeKeyChecker, FakeSecretBox, FakeUnitOfWork, Store

OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789WXYZ"
OTHER_OPENAI_KEY = "sk-proj-zyxwvutsrqponmlkjihgfedcba9876543210QRST"
GEMINI_KEY = "AIzaSyA0123456789abcdefghijklmnopqrstuvw"


@pytest.fixture
def checker() -> FakeKeyChecker:
    return FakeKeyChecker(OPENAI_KEY, OTHER_OPENAI_KEY, GEMINI_KEY)


@pytest.fixture
def box() -> FakeSecretBox:
    return FakeSecretBox("k1")


def service_with(store: Store, cache: FakeCache, clock: FrozenClock, box: FakeSecretBox, checker: FakeKeyChecker):
    return AIKeyService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock, box=box, checker=checker)


@pytest.fixture
def keys(store: Store, cache: FakeCache, clock: FrozenClock, box: FakeSecretBox, checker: FakeKeyChecker):
    return service_with(store, cache, clock, box, checker)


@pytest.fixture
async def ada(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("ada@example.com")).id)


@pytest.fixture
async def bob(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("bob@example.com")).id)


def stored_text(store: Store) -> str:
    """Everything the 'database' holds about keys, as one text."""
    return repr(list(store.ai_keys.values()))


async def test_a_key_the_provider_takes_is_stored_encrypted_and_shown_masked(
    keys: AIKeyService, ada: Actor, store: Store, checker: FakeKeyChecker
) -> None:
    view = await keys.add(ada, provider="openai", name="Work", key=OPENAI_KEY)

    assert checker.checked == [("openai", OPENAI_KEY)]
    assert view.masked == "sk-proj-…WXYZ" and view.name == "Work" and view.is_active and not view.expired
    (row,) = store.ai_keys.values()
    assert row.user_id == ada.user_id and row.token_name == "Work" and row.provider == "openai"
    assert OPENAI_KEY not in stored_text(store) and OPENAI_KEY[8:-4] not in stored_text(store)
    listed = await keys.list(ada)
    assert [(v.id, v.masked, v.provider.value) for v in listed] == [(view.id, "sk-proj-…WXYZ", "openai")]
    assert all(OPENAI_KEY not in repr(v) for v in listed)


async def test_a_key_the_provider_refuses_is_not_stored(
    keys: AIKeyService, ada: Actor, store: Store, cache: FakeCache, checker: FakeKeyChecker
) -> None:
    wrong = "sk-proj-0000000000000000000000000000wrong"
    await keys.list(ada)
    commits = store.commits

    with pytest.raises(InvalidInput, match="refused this key"):
        await keys.add(ada, provider="openai", name="Work", key=wrong)

    assert checker.checked == [("openai", wrong)]
    assert store.ai_keys == {} and store.commits == commits
    assert await keys.list(ada) == []


async def test_a_provider_that_cannot_be_reached_stores_nothing(
    keys: AIKeyService, ada: Actor, store: Store, checker: FakeKeyChecker
) -> None:
    checker.down = True

    with pytest.raises(Unavailable, match="could not be reached"):
        await keys.add(ada, provider="gemini", name="Home", key=GEMINI_KEY)

    assert store.ai_keys == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"provider": "anthropic"}, "Unknown AI provider 'anthropic': choose one of openai, gemini"),
        ({"name": "   "}, "The key name cannot be empty"),
        ({"name": "x" * 101}, "The key name may be at most 100 characters long"),
        ({"name": "tab\there"}, "The key name cannot contain control characters"),
        ({"key": "sk-short"}, "An API key is 20 to 500 characters long; this one has 8"),
        ({"key": "sk-proj-abcdefghij klmnopqrstuvwxyz"}, "no spaces"),
        ({"key": OPENAI_KEY + "\n"}, "no spaces, line breaks"),
        ({"key": "sk-proj-abcdefghijklmnopqrstuvwxyzé"}, "printable ASCII"),
        ({"expires_at": datetime(1999, 12, 31, tzinfo=UTC)}, "in the years 2000 to 2999"),
    ],
)
async def test_bad_input_is_refused_before_the_provider_is_asked(
    keys: AIKeyService, ada: Actor, store: Store, checker: FakeKeyChecker, changes: dict, message: str
) -> None:
    arguments = {"provider": "openai", "name": "Work", "key": OPENAI_KEY, **changes}

    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        await keys.add(ada, **arguments)

    assert checker.checked == [] and store.ai_keys == {}


async def test_names_are_unique_per_person_and_provider(
    keys: AIKeyService, ada: Actor, bob: Actor, store: Store, checker: FakeKeyChecker
) -> None:
    await keys.add(ada, provider="openai", name="Work", key=OPENAI_KEY)

    with pytest.raises(Conflict, match="You have a OpenAI key named 'Work' already"):
        await keys.add(ada, provider="openai", name=" Work ", key=OTHER_OPENAI_KEY)

    assert len(checker.checked) == 1  # the provider was not asked again
    await keys.add(ada, provider="gemini", name="Work", key=GEMINI_KEY)
    await keys.add(bob, provider="openai", name="Work", key=OPENAI_KEY)
    assert len(store.ai_keys) == 3


async def test_nobody_signed_in_has_no_keys(keys: AIKeyService, store: Store) -> None:
    with pytest.raises(Unauthenticated):
        await keys.list(ANONYMOUS)
    with pytest.raises(Unauthenticated):
        await keys.add(ANONYMOUS, provider="openai", name="Work", key=OPENAI_KEY)
    assert store.ai_keys == {}


async def test_the_list_is_read_through_the_tokens_cache_and_every_change_drops_it(
    keys: AIKeyService, ada: Actor, cache: FakeCache
) -> None:
    entry = cache_keys.user_tokens(ada.user_id)  # type: ignore[arg-type]
    view = await keys.add(ada, provider="openai", name="Work", key=OPENAI_KEY)
    assert entry.name not in cache.entries

    await keys.list(ada)
    ttl, cached = cache.entries[entry.name]
    assert ttl == 30 * 60 and cached[0]["masked"] == "sk-proj-…WXYZ"
    assert OPENAI_KEY not in repr(cached) and "k1:" not in repr(cached)  # neither the key nor its ciphertext

    for change in (
        lambda: keys.update(ada, view.id, is_active=False),
        lambda: keys.update(ada, view.id, name="Old work"),
        lambda: keys.update(ada, view.id, expires_at=datetime(2026, 6, 1, tzinfo=UTC)),
        lambda: keys.delete(ada, view.id),
    ):
        await keys.list(ada)
        assert entry.name in cache.entries
        await change()
        assert entry.name not in cache.entries


async def test_a_cached_list_is_what_was_stored(keys: AIKeyService, ada: Actor, store: Store) -> None:
    await keys.add(ada, provider="openai", name="Work", key=OPENAI_KEY)
    first = await keys.list(ada)
    store.ai_keys.clear()  # behind the service's back: the cache answers

    assert await keys.list(ada) == first


async def test_switching_a_key_off_and_on_renaming_it_and_its_expiry(
    keys: AIKeyService, ada: Actor, clock: FrozenClock
) -> None:
    view = await keys.add(ada, provider="gemini", name="Home", key=GEMINI_KEY)

    off = await keys.update(ada, view.id, is_active=False)
    assert not off.is_active and not off.usable and off.masked == "AIza…tuvw"
    assert await keys.active_key(ada, "gemini") is None
    on = await keys.update(ada, view.id, is_active=True, name="  Laptop ")
    assert on.is_active and on.name == "Laptop"
    assert [v.name for v in await keys.list(ada)] == ["Laptop"]

    ends = clock.now + timedelta(days=1)
    dated = await keys.update(ada, view.id, expires_at=ends.astimezone(timezone(timedelta(hours=2))))
    assert dated.expires_at == ends and dated.expires_at.tzinfo == UTC and not dated.expired
    clock.advance(days=2)
    (listed,) = await keys.list(ada)
    assert listed.expired and not listed.usable  # the cached view learns the time when read
    assert await keys.active_key(ada, "gemini") is None
    cleared = await keys.update(ada, view.id, expires_at=None)
    assert cleared.expires_at is None and cleared.usable
    unchanged = await keys.update(ada, view.id)
    assert unchanged == cleared


async def test_a_time_without_a_zone_is_utc(keys: AIKeyService, ada: Actor) -> None:
    view = await keys.add(ada, provider="openai", name="Work", key=OPENAI_KEY, expires_at=datetime(2030, 1, 1, 12))
    assert view.expires_at == datetime(2030, 1, 1, 12, tzinfo=UTC)


async def test_renaming_onto_another_keys_name_is_refused(keys: AIKeyService, ada: Actor, store: Store) -> None:
    await keys.add(ada, provider="openai", name="Work", key=OPENAI_KEY)
    home = await keys.add(ada, provider="openai", name="Home", key=OTHER_OPENAI_KEY)

    with pytest.raises(Conflict, match="named 'Work' already"):
        await keys.update(ada, home.id, name="Work")

    assert store.ai_keys[home.id].token_name == "Home"
    assert (await keys.update(ada, home.id, name="Home")).name == "Home"  # its own name is no clash


async def test_nobody_else_can_see_change_or_delete_my_key(
    keys: AIKeyService, ada: Actor, bob: Actor, store: Store
) -> None:
    view = await keys.add(ada, provider="openai", name="Work", key=OPENAI_KEY)
    before = stored_text(store)

    assert await keys.list(bob) == []
    with pytest.raises(NotFound, match="No such AI key, or it is not yours"):
        await keys.update(bob, view.id, is_active=False, name="Mine now")
    with pytest.raises(NotFound):
        await keys.delete(bob, view.id)
    with pytest.raises(Unauthenticated):
        await keys.delete(ANONYMOUS, view.id)
    assert await keys.active_key(bob, "openai") is None

    assert stored_text(store) == before
    await keys.delete(ada, view.id)
    assert store.ai_keys == {}
    with pytest.raises(NotFound):
        await keys.delete(ada, view.id)


async def test_the_active_key_is_the_newest_usable_one_of_that_provider(
    keys: AIKeyService, ada: Actor, clock: FrozenClock
) -> None:
    assert await keys.active_key(ada, "openai") is None
    await keys.add(ada, provider="openai", name="Old", key=OPENAI_KEY)
    clock.advance(minutes=1)
    newer = await keys.add(ada, provider="openai", name="New", key=OTHER_OPENAI_KEY)
    await keys.add(ada, provider="gemini", name="Gemini", key=GEMINI_KEY)

    assert await keys.active_key(ada, "openai") == OTHER_OPENAI_KEY
    assert await keys.active_key(ada, "gemini") == GEMINI_KEY
    await keys.update(ada, newer.id, is_active=False)
    assert await keys.active_key(ada, "openai") == OPENAI_KEY
    await keys.update(ada, newer.id, is_active=True, expires_at=clock.now)
    assert await keys.active_key(ada, "openai") == OPENAI_KEY  # expired at this very moment


async def test_rotation_re_encrypts_every_key_under_the_first_secret_key(
    store: Store, cache: FakeCache, clock: FrozenClock, checker: FakeKeyChecker, ada: Actor, bob: Actor
) -> None:
    old = service_with(store, cache, clock, FakeSecretBox("old"), checker)
    await old.add(ada, provider="openai", name="Work", key=OPENAI_KEY)
    await old.add(ada, provider="gemini", name="Home", key=GEMINI_KEY)
    await old.add(bob, provider="openai", name="Work", key=OTHER_OPENAI_KEY)
    await old.list(ada)
    assert {k.encrypted_token.split(":")[0] for k in store.ai_keys.values()} == {"old"}

    both = service_with(store, cache, clock, FakeSecretBox("new", "old"), checker)
    assert await both.rotate_all() == 3

    assert {k.encrypted_token.split(":")[0] for k in store.ai_keys.values()} == {"new"}
    assert cache.entries == {}  # every owner's list is read afresh
    only_new = service_with(store, cache, clock, FakeSecretBox("new"), checker)
    assert await only_new.active_key(ada, "openai") == OPENAI_KEY
    assert await only_new.active_key(ada, "gemini") == GEMINI_KEY
    assert await only_new.active_key(bob, "openai") == OTHER_OPENAI_KEY
    assert [v.masked for v in await only_new.list(ada)] == ["sk-proj-…WXYZ", "AIza…" + GEMINI_KEY[-4:]]


async def test_rotation_without_the_old_key_changes_nothing(
    store: Store, cache: FakeCache, clock: FrozenClock, checker: FakeKeyChecker, ada: Actor
) -> None:
    old = service_with(store, cache, clock, FakeSecretBox("old"), checker)
    await old.add(ada, provider="openai", name="Work", key=OPENAI_KEY)
    await old.add(ada, provider="gemini", name="Home", key=GEMINI_KEY)
    before = stored_text(store)
    dropped_too_soon = service_with(store, cache, clock, FakeSecretBox("new"), checker)

    with pytest.raises(InvalidInput, match=r"2 of 2 stored secrets cannot be decrypted .* nothing was re-encrypted"):
        await dropped_too_soon.rotate_all()

    assert stored_text(store) == before
    assert [v.masked for v in await dropped_too_soon.list(ada)] == ["unreadable", "unreadable"]
    assert await service_with(store, cache, clock, FakeSecretBox("old"), checker).rotate_all() == 2


async def test_rotation_with_nothing_stored(keys: AIKeyService) -> None:
    assert await keys.rotate_all() == 0


@pytest.mark.parametrize(
    ("provider", "key", "masked"),
    [
        ("openai", "sk-proj-abcdefghijklmnopqrstuvwxyzabcd", "sk-proj-…abcd"),
        ("openai", "sk-abcdefghijklmnopqrstuvwxyzabcd", "sk-…abcd"),
        ("openai", "sk-svcacct-abcdefghijklmnopqrstuvwxyz1234", "sk-svcacct-…1234"),
        ("openai", "xx-abcdefghijklmnopqrstuvwxyz1234", "…1234"),
        ("gemini", "AIzaSyabcdefghijklmnopqrstuvwxyz9876", "AIza…9876"),
        ("gemini", "sk-abcdefghijklmnopqrstuvwxyz9876", "…9876"),
    ],
)
def test_the_masked_form_keeps_a_known_prefix_and_the_last_four(provider: str, key: str, masked: str) -> None:
    assert mask(provider, key) == masked
