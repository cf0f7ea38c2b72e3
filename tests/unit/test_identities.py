"""Provider sign-in on fakes: identity by (provider, id) never by e-mail, first sign-in creates a free
account, refusals store nothing, connect and disconnect keep at least one way in."""

from __future__ import annotations

import pytest

from domain.accounts import AccountService
from domain.auth import AuthService, hash_secret
from domain.errors import Conflict, NotFound
from domain.identities import IdentityService, ProviderProfile, SignInRefused
from domain.values import Tier
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeCache, FakeUnitOfWork, Store

GITHUB = ProviderProfile(provider="github", provider_id="101", email="ada@example.com", display_name="Ada")
GOOGLE = ProviderProfile(provider="google", provider_id="g-7", email="ada@example.com", display_name="Ada L.")


@pytest.fixture
def identities(store: Store, clock: FrozenClock, auth: AuthService, cache: FakeCache) -> IdentityService:
    return IdentityService(uow=lambda: FakeUnitOfWork(store), clock=clock, auth=auth, cache=cache)


async def test_a_first_sign_in_creates_a_free_account_and_opens_a_session(
    identities: IdentityService, auth: AuthService, store: Store
) -> None:
    signed_in = await identities.sign_in(GITHUB)

    assert signed_in.user.email == "ada@example.com" and signed_in.user.display_name == "Ada"
    assert signed_in.user.subscription_tier is Tier.FREE
    assert (signed_in.user.oauth_provider, signed_in.user.oauth_id) == ("github", "101")
    assert [(i.provider, i.provider_id) for i in store.identities.values()] == [("github", "101")]
    assert (await auth.authenticate(signed_in.session_token)).user_id == signed_in.user.id


async def test_the_account_is_found_by_the_providers_id_not_by_the_email(
    identities: IdentityService, store: Store
) -> None:
    first = await identities.sign_in(GITHUB)
    changed = ProviderProfile(provider="github", provider_id="101", email="ada@new.example")

    again = await identities.sign_in(changed)

    assert again.user.id == first.user.id and len(store.users) == 1


async def test_every_sign_in_opens_a_new_session_and_ends_the_one_it_replaces(
    identities: IdentityService, store: Store
) -> None:
    first = await identities.sign_in(GITHUB)
    second = await identities.sign_in(GITHUB, replacing=first.session_token)

    assert second.session_token != first.session_token and second.session_id != first.session_id
    assert [s.refresh_token_hash for s in store.sessions.values()] == [hash_secret(second.session_token)]


@pytest.mark.parametrize("email", [None, ""])
async def test_no_verified_email_is_refused_and_creates_nothing(
    identities: IdentityService, store: Store, email: str | None
) -> None:
    with pytest.raises(SignInRefused, match="no verified e-mail address") as error:
        await identities.sign_in(ProviderProfile(provider="github", provider_id="5", email=email))

    assert error.value.reason == "no_verified_email"
    assert not store.users and not store.sessions and not store.identities


async def test_an_email_of_an_account_without_this_provider_is_refused_with_how_to_connect(
    identities: IdentityService, accounts: AccountService, store: Store
) -> None:
    await accounts.add_local_user("ada@example.com")
    users_before = dict(store.users)

    with pytest.raises(SignInRefused, match="connect GitHub under Account → Sign-in methods") as error:
        await identities.sign_in(GITHUB)

    assert error.value.reason == "email_taken"
    assert store.users == users_before and not store.sessions
    assert [i.provider for i in store.identities.values()] == ["local"]


async def test_a_connected_provider_signs_in_to_the_same_account(
    identities: IdentityService, accounts: AccountService, store: Store
) -> None:
    local = await accounts.add_local_user("ada@example.com")
    await identities.connect(local.id, GITHUB)

    signed_in = await identities.sign_in(GITHUB)

    assert signed_in.user.id == local.id and len(store.users) == 1
    assert [i.provider for i in await identities.methods(local.id)] == ["local", "github"]


async def test_connecting_an_identity_of_another_account_is_refused(
    identities: IdentityService, accounts: AccountService, store: Store
) -> None:
    await identities.sign_in(GITHUB)
    other = await accounts.add_local_user("bob@example.com")

    with pytest.raises(SignInRefused, match="already signs in to another Codeloft account") as error:
        await identities.connect(other.id, GITHUB)

    assert error.value.reason == "connected_elsewhere"
    assert [i.provider for i in await identities.methods(other.id)] == ["local"]


async def test_a_second_account_of_the_same_provider_is_refused(
    identities: IdentityService, accounts: AccountService
) -> None:
    user = await accounts.add_local_user("ada@example.com")
    await identities.connect(user.id, GITHUB)

    with pytest.raises(SignInRefused, match="already has a GitHub account connected"):
        await identities.connect(user.id, ProviderProfile(provider="github", provider_id="999", email="a@b.example"))


async def test_connecting_needs_a_verified_email(identities: IdentityService, accounts: AccountService) -> None:
    user = await accounts.add_local_user("ada@example.com")

    with pytest.raises(SignInRefused, match="no verified e-mail"):
        await identities.connect(user.id, ProviderProfile(provider="google", provider_id="g", email=None))

    assert [i.provider for i in await identities.methods(user.id)] == ["local"]


async def test_the_last_way_in_cannot_be_disconnected(identities: IdentityService, store: Store) -> None:
    signed_in = await identities.sign_in(GITHUB)

    with pytest.raises(Conflict, match="only way to sign in"):
        await identities.disconnect(signed_in.user.id, "github")

    assert len(store.identities) == 1


async def test_disconnecting_the_first_way_in_makes_the_next_one_the_accounts_own(
    identities: IdentityService, store: Store, clock: FrozenClock, cache: FakeCache
) -> None:
    user = (await identities.sign_in(GITHUB)).user
    clock.advance(minutes=1)
    await identities.connect(user.id, GOOGLE)

    await identities.disconnect(user.id, "github")

    assert [i.provider for i in await identities.methods(user.id)] == ["google"]
    assert (store.users[user.id].oauth_provider, store.users[user.id].oauth_id) == ("google", "g-7")
    assert (await identities.sign_in(GOOGLE)).user.id == user.id
    with pytest.raises(SignInRefused, match="does not sign in with GitHub yet"):
        await identities.sign_in(GITHUB)


async def test_the_printed_link_of_a_local_account_cannot_be_disconnected(
    identities: IdentityService, accounts: AccountService
) -> None:
    user = await accounts.add_local_user("ada@example.com")
    await identities.connect(user.id, GITHUB)

    with pytest.raises(Conflict, match="printed sign-in link"):
        await identities.disconnect(user.id, "local")
    await identities.disconnect(user.id, "github")

    assert [i.provider for i in await identities.methods(user.id)] == ["local"]


async def test_disconnecting_a_provider_that_is_not_connected_says_so(
    identities: IdentityService, accounts: AccountService
) -> None:
    user = await accounts.add_local_user("ada@example.com")

    with pytest.raises(NotFound, match="Google is not connected"):
        await identities.disconnect(user.id, "google")
