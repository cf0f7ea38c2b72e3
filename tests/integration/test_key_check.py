"""The key check through the real openai and google-genai clients against the local fake providers: what
each provider is sent, what a refusal and an unreachable provider become, and that no message holds the key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ai.key_check import ProviderKeyChecker
from domain.errors import InvalidInput, Unavailable
from tests.ai_providers import GEMINI_KEY, OPENAI_KEY, FakeProviders, fake_providers
from tests.serving import free_port


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with fake_providers() as fake:
        yield fake


@pytest.fixture
def checker(providers: FakeProviders) -> ProviderKeyChecker:
    providers.requests.clear()
    return ProviderKeyChecker(openai_base_url=providers.openai_url, gemini_base_url=providers.gemini_url)


async def test_openai_is_asked_for_its_models_with_the_key_as_bearer_token(
    checker: ProviderKeyChecker, providers: FakeProviders
) -> None:
    await checker.check("openai", OPENAI_KEY)

    (seen,) = providers.requests
    assert (seen.method, seen.path) == ("GET", "/openai/v1/models")
    assert seen.headers["authorization"] == f"Bearer {OPENAI_KEY}"


async def test_gemini_is_asked_on_v1_with_the_key_in_its_header(
    checker: ProviderKeyChecker, providers: FakeProviders
) -> None:
    await checker.check("gemini", GEMINI_KEY)

    (seen,) = providers.requests
    assert (seen.method, seen.path) == ("GET", "/gemini/v1/models")
    assert seen.headers["x-goog-api-key"] == GEMINI_KEY and "authorization" not in seen.headers


@pytest.mark.parametrize(
    ("provider", "key", "message"),
    [
        ("openai", "sk-proj-refusedrefusedrefused0000", "OpenAI refused this key (401 invalid_api_key)"),
        ("gemini", "AIzaRefusedRefusedRefused00000000", "Gemini refused this key (400 API_KEY_INVALID)"),
    ],
)
async def test_a_refused_key_is_invalid_input_asked_once(
    checker: ProviderKeyChecker, providers: FakeProviders, provider: str, key: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await checker.check(provider, key)

    assert refused.value.message.startswith(message) and key not in refused.value.message
    assert len(providers.requests) == 1  # no retries of a refusal


@pytest.mark.parametrize(("provider", "name"), [("openai", "OpenAI"), ("gemini", "Gemini")])
async def test_a_provider_that_cannot_be_reached_is_unavailable(provider: str, name: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    checker = ProviderKeyChecker(openai_base_url=nowhere + "/v1", gemini_base_url=nowhere)
    key = OPENAI_KEY if provider == "openai" else GEMINI_KEY

    with pytest.raises(Unavailable) as down:
        await checker.check(provider, key)

    assert down.value.message.startswith(f"{name} could not be asked whether it takes this key (no connection).")
    assert "Nothing was stored" in down.value.message and key not in down.value.message
