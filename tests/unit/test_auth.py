"""Sign-in links and sessions on fakes: single use, expiry, revocation, secrets stored only hashed."""

from __future__ import annotations

import pytest

from domain.accounts import AccountService
from domain.auth import AuthService, InvalidSignInLink, hash_secret
from domain.errors import Unauthenticated
from tests.conftest import FrozenClock
from tests.unit.fakes import Store


async def test_a_link_signs_in_once(auth: AuthService, accounts: AccountService, store: Store) -> None:
    user = await accounts.add_local_user("ann@example.com")
    secret = await auth.issue_sign_in_link(user.id)
    signed_in = await auth.redeem_sign_in_link(secret)
    assert signed_in.user.id == user.id
    session = await auth.authenticate(signed_in.session_token)
    assert session.user_id == user.id
    with pytest.raises(InvalidSignInLink, match="already been used") as error:
        await auth.redeem_sign_in_link(secret)
    assert error.value.reason == "used"
    assert len(store.sessions) == 1


async def test_secrets_are_stored_only_as_hashes(auth: AuthService, accounts: AccountService, store: Store) -> None:
    user = await accounts.add_local_user("ann@example.com")
    secret = await auth.issue_sign_in_link(user.id)
    signed_in = await auth.redeem_sign_in_link(secret)
    stored = repr(store.__dict__)
    assert secret not in stored and signed_in.session_token not in stored
    assert hash_secret(signed_in.session_token) in stored


async def test_a_link_expires_after_24_hours(auth: AuthService, accounts: AccountService, clock: FrozenClock) -> None:
    user = await accounts.add_local_user("ann@example.com")
    secret = await auth.issue_sign_in_link(user.id)
    clock.advance(hours=24)
    with pytest.raises(InvalidSignInLink, match="expired") as error:
        await auth.redeem_sign_in_link(secret)
    assert error.value.reason == "expired"


async def test_an_unknown_link_is_refused(auth: AuthService) -> None:
    with pytest.raises(InvalidSignInLink, match="not valid"):
        await auth.redeem_sign_in_link("nonsense")


async def test_signing_in_again_replaces_the_old_session(auth: AuthService, accounts: AccountService) -> None:
    user = await accounts.add_local_user("ann@example.com")
    first = await auth.redeem_sign_in_link(await auth.issue_sign_in_link(user.id))
    second = await auth.redeem_sign_in_link(await auth.issue_sign_in_link(user.id), replacing=first.session_token)
    assert second.session_id != first.session_id
    with pytest.raises(Unauthenticated):
        await auth.authenticate(first.session_token)
    await auth.authenticate(second.session_token)


async def test_sign_out_revokes_the_session(auth: AuthService, accounts: AccountService) -> None:
    user = await accounts.add_local_user("ann@example.com")
    signed_in = await auth.redeem_sign_in_link(await auth.issue_sign_in_link(user.id))
    await auth.sign_out(signed_in.session_token)
    with pytest.raises(Unauthenticated, match="sign in again"):
        await auth.authenticate(signed_in.session_token)


async def test_sessions_expire_and_are_touched(
    auth: AuthService, accounts: AccountService, clock: FrozenClock, store: Store
) -> None:
    user = await accounts.add_local_user("ann@example.com")
    signed_in = await auth.redeem_sign_in_link(await auth.issue_sign_in_link(user.id))
    clock.advance(days=1)
    await auth.authenticate(signed_in.session_token)
    assert store.sessions[signed_in.session_id].last_used_at == clock.now
    clock.advance(days=30)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(signed_in.session_token)


@pytest.mark.parametrize("token", [None, ""])
async def test_no_cookie_is_unauthenticated(auth: AuthService, token: str | None) -> None:
    with pytest.raises(Unauthenticated, match="Sign in"):
        await auth.authenticate(token)


async def test_peeking_at_a_link_names_its_account_and_uses_nothing(
    auth: AuthService, accounts: AccountService, store: Store, clock: FrozenClock
) -> None:
    user = await accounts.add_local_user("ann@example.com")
    secret = await auth.issue_sign_in_link(user.id)
    assert (await auth.peek_sign_in_link(secret)).email == "ann@example.com"
    assert (await auth.peek_sign_in_link(secret)).id == user.id  # still unused: a look never consumes
    assert not store.sessions
    await auth.redeem_sign_in_link(secret)
    with pytest.raises(InvalidSignInLink) as used:
        await auth.peek_sign_in_link(secret)
    assert used.value.reason == "used"
    late = await auth.issue_sign_in_link(user.id)
    clock.advance(hours=24)
    with pytest.raises(InvalidSignInLink) as expired:
        await auth.peek_sign_in_link(late)
    assert expired.value.reason == "expired"
    with pytest.raises(InvalidSignInLink) as forged:
        await auth.peek_sign_in_link("forged")
    assert forged.value.reason == "unknown"
