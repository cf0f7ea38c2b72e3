"""Sessions on fakes with a fake clock: what each browser's session records, token rotation and its grace,
a replaced token used after the grace, idle and absolute timeouts, and signing sessions out."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.auth import REUSED, AuthService, SessionReused, SignedIn, hash_secret
from domain.entities import User
from domain.errors import NotFound, Unauthenticated
from domain.sessions import ClientInfo, SessionPolicy, browser_name
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, FakeUnitOfWork, Store

CHROMIUM = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/131.0 Chrome/131.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
POLICY = SessionPolicy(
    idle=timedelta(hours=2), lifetime=timedelta(days=1), rotate_every=timedelta(minutes=5), grace=timedelta(seconds=30)
)


@pytest.fixture
def auth(store: Store, cache: FakeCache, clock: FrozenClock) -> AuthService:
    return AuthService(uow=lambda: FakeUnitOfWork(store), clock=clock, cache=cache, policy=POLICY)


async def signed_in(auth: AuthService, user: User, client: ClientInfo | None = None) -> SignedIn:
    return await auth.redeem_sign_in_link(await auth.issue_sign_in_link(user.id), client=client)


async def test_a_session_records_its_browser_and_never_its_token(
    auth: AuthService, accounts: AccountService, store: Store
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    session = await signed_in(auth, ann, ClientInfo(user_agent=CHROMIUM, address="203.0.113.7"))
    [view] = await auth.sessions(Actor(user_id=ann.id), current_id=session.session_id)
    assert (view.browser, view.address, view.current) == ("Chromium on Linux", "203.0.113.7", True)
    assert session.session_token not in repr(store.__dict__)
    assert store.sessions[session.session_id].refresh_token_hash == hash_secret(session.session_token)


async def test_a_token_is_renewed_after_rotate_every_and_the_old_one_works_for_the_grace(
    auth: AuthService, accounts: AccountService, store: Store, clock: FrozenClock
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    old = (await signed_in(auth, ann)).session_token
    clock.advance(minutes=4)
    assert (await auth.resume(old)).new_token is None  # not due yet
    clock.advance(minutes=1)
    renewed = await auth.resume(old, client=ClientInfo(user_agent=FIREFOX, address="198.51.100.2"))
    assert renewed.new_token is not None and renewed.new_token != old
    stored = store.sessions[renewed.session.id]
    assert stored.refresh_token_hash == hash_secret(renewed.new_token)
    assert stored.previous_token_hash == hash_secret(old)
    assert (stored.user_agent, stored.address) == (FIREFOX, "198.51.100.2")
    assert renewed.new_token not in repr(store.__dict__)
    clock.advance(seconds=30)  # a request already in flight with the old token: still accepted, not renewed
    again = await auth.resume(old)
    assert again.session.id == renewed.session.id and again.new_token is None
    assert (await auth.authenticate(renewed.new_token)).id == renewed.session.id


async def test_a_replaced_token_after_the_grace_ends_the_whole_session(
    auth: AuthService, accounts: AccountService, store: Store, clock: FrozenClock
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    old = (await signed_in(auth, ann)).session_token
    clock.advance(minutes=5)
    new = (await auth.resume(old)).new_token
    assert new is not None
    clock.advance(seconds=31)
    with pytest.raises(SessionReused) as error:
        await auth.authenticate(old)
    assert error.value.message == REUSED
    assert store.sessions == {}
    with pytest.raises(Unauthenticated):  # the new token is refused too: the session is gone
        await auth.resume(new)


async def test_a_page_keeps_its_session_by_id_through_rotations(
    auth: AuthService, accounts: AccountService, clock: FrozenClock
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    session = await signed_in(auth, ann)
    token = session.session_token
    for _ in range(3):
        clock.advance(minutes=6)
        token = (await auth.resume(token)).new_token or token
    assert (await auth.check(session.session_id)).user_id == ann.id


async def test_a_session_unused_for_the_idle_timeout_ends(
    auth: AuthService, accounts: AccountService, store: Store, clock: FrozenClock
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    session = await signed_in(auth, ann)
    clock.advance(hours=1, minutes=59)
    await auth.authenticate(session.session_token)  # used: the idle time starts again
    clock.advance(hours=1, minutes=59)
    await auth.check(session.session_id)
    clock.advance(minutes=1)
    with pytest.raises(Unauthenticated, match="ended"):
        await auth.check(session.session_id)
    with pytest.raises(Unauthenticated, match="ended"):
        await auth.authenticate(session.session_token)
    assert store.sessions == {}


async def test_a_session_ends_at_its_absolute_timeout_however_much_it_is_used(
    auth: AuthService, accounts: AccountService, clock: FrozenClock
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    token = (await signed_in(auth, ann)).session_token
    for _ in range(23):
        clock.advance(hours=1)
        token = (await auth.resume(token)).new_token or token
    clock.advance(hours=1)
    with pytest.raises(Unauthenticated):
        await auth.resume(token)


async def test_sign_out_everywhere_else_keeps_only_this_one(
    auth: AuthService, accounts: AccountService, store: Store
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    bob = await accounts.add_local_user("bob@example.com")
    here = await signed_in(auth, ann, ClientInfo(user_agent=CHROMIUM))
    elsewhere = [await signed_in(auth, ann, ClientInfo(user_agent=FIREFOX)) for _ in range(2)]
    bobs = await signed_in(auth, bob)
    assert await auth.end_other_sessions(Actor(user_id=ann.id), keep=here.session_id) == 2
    assert [view.id for view in await auth.sessions(Actor(user_id=ann.id))] == [here.session_id]
    for gone in elsewhere:
        with pytest.raises(Unauthenticated):
            await auth.authenticate(gone.session_token)
        with pytest.raises(Unauthenticated):
            await auth.check(gone.session_id)
    assert (await auth.authenticate(bobs.session_token)).user_id == bob.id  # nobody else's


async def test_the_list_puts_this_session_first_then_the_most_recently_active(
    auth: AuthService, accounts: AccountService, clock: FrozenClock
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    first = await signed_in(auth, ann)
    clock.advance(minutes=1)
    second = await signed_in(auth, ann)
    clock.advance(minutes=1)
    third = await signed_in(auth, ann)
    views = await auth.sessions(Actor(user_id=ann.id), current_id=first.session_id)
    assert [view.id for view in views] == [first.session_id, third.session_id, second.session_id]
    assert [view.current for view in views] == [True, False, False]


async def test_ending_a_session_signs_it_out_at_once(auth: AuthService, accounts: AccountService) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    here = await signed_in(auth, ann)
    there = await signed_in(auth, ann)
    await auth.end_session(Actor(user_id=ann.id), there.session_id)
    with pytest.raises(Unauthenticated):
        await auth.check(there.session_id)
    await auth.check(here.session_id)


async def test_another_persons_session_is_not_found_and_stays(
    auth: AuthService, accounts: AccountService, store: Store
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    bob = await accounts.add_local_user("bob@example.com")
    bobs = await signed_in(auth, bob)
    mine = await signed_in(auth, ann)
    for attempt in (
        auth.end_session(Actor(user_id=ann.id), bobs.session_id),
        auth.end_session(Actor(user_id=ann.id), uuid4()),
        auth.end_other_sessions(Actor(user_id=ann.id), keep=bobs.session_id),
    ):
        with pytest.raises(NotFound, match="No such session, or it is not yours"):
            await attempt
    assert set(store.sessions) == {bobs.session_id, mine.session_id}
    assert [view.id for view in await auth.sessions(Actor(user_id=ann.id))] == [mine.session_id]


async def test_nobody_signed_in_may_list_or_end_sessions(auth: AuthService, accounts: AccountService) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    session = await signed_in(auth, ann)
    with pytest.raises(Unauthenticated):
        await auth.sessions(Actor(user_id=None))
    with pytest.raises(Unauthenticated):
        await auth.end_session(Actor(user_id=None), session.session_id)
    await auth.check(session.session_id)


async def test_two_requests_renewing_at_once_leave_one_new_token(
    auth: AuthService, accounts: AccountService, store: Store, clock: FrozenClock
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    old = (await signed_in(auth, ann)).session_token
    clock.advance(minutes=5)
    first = await auth.resume(old)
    second = await auth.resume(old)  # came in with the old token just after: the grace, no second renewal
    assert first.new_token is not None and second.new_token is None
    assert len(store.sessions) == 1


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        (CHROMIUM, "Chromium on Linux"),
        (FIREFOX, "Firefox on Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge on macOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 "
            "Safari/537.36",
            "Headless Chrome on Linux",
        ),
        ("python-httpx/0.28.1", "Python"),
        ("curl/8.5.0", "curl"),
        (None, "Unknown browser"),
    ],
)
def test_a_browser_gets_a_short_name(agent: str | None, name: str) -> None:
    assert browser_name(agent) == name


def test_client_info_is_trimmed_to_what_the_table_holds() -> None:
    info = ClientInfo(user_agent="x" * 2000, address="  ")
    assert info.user_agent is not None and len(info.user_agent) == 512
    assert info.address is None


async def test_a_live_session_is_resumed_from_the_cache_and_every_ending_reaches_it(
    auth: AuthService, accounts: AccountService, store: Store, cache: FakeCache
) -> None:
    """Each way a session ends refuses its token at once, though the session was cached just before."""
    ann = await accounts.add_local_user("ann@example.com")
    actor = Actor(user_id=ann.id)
    signed_out, ended_here, ended_elsewhere, page_signed_out, kept = [await signed_in(auth, ann) for _ in range(5)]
    for session in (signed_out, ended_here, ended_elsewhere, page_signed_out, kept):
        await auth.resume(session.session_token)
    store.sessions[kept.session_id].user_agent = "changed in the database only"
    assert (await auth.resume(kept.session_token)).session.user_agent is None  # served from the cache

    await auth.sign_out(signed_out.session_token)
    await auth.end_session(actor, ended_here.session_id)
    await auth.sign_out_session(page_signed_out.session_id)
    for gone in (signed_out, ended_here, page_signed_out):
        with pytest.raises(Unauthenticated):
            await auth.resume(gone.session_token)
    assert await auth.end_other_sessions(actor, keep=kept.session_id) == 1
    with pytest.raises(Unauthenticated):
        await auth.resume(ended_elsewhere.session_token)
    assert (await auth.resume(kept.session_token)).session.id == kept.session_id
    assert [name for name in cache.entries if name.startswith("session:")] == [
        f"session:{hash_secret(kept.session_token)}"
    ]
    assert kept.session_token not in repr(cache.entries)  # the key is the token's hash, never the token


async def test_a_cached_session_is_still_touched_renewed_and_timed_out(
    auth: AuthService, accounts: AccountService, store: Store, clock: FrozenClock
) -> None:
    ann = await accounts.add_local_user("ann@example.com")
    session = await signed_in(auth, ann)
    token = session.session_token
    await auth.authenticate(token)
    clock.advance(minutes=5)
    await auth.authenticate(token)  # no renewal here (it cannot set a cookie), but the touch is due
    assert store.sessions[session.session_id].last_used_at == clock()
    renewed = await auth.resume(token)  # renewal is due: the cached entry does not hide it
    assert renewed.new_token is not None
    clock.advance(seconds=31)
    with pytest.raises(SessionReused):  # the old token, cached before, is refused after the grace
        await auth.resume(token)
    again = await signed_in(auth, ann)
    await auth.resume(again.session_token)
    clock.advance(hours=2)  # POLICY's idle timeout
    with pytest.raises(Unauthenticated, match="ended"):
        await auth.resume(again.session_token)
    assert again.session_id not in store.sessions
