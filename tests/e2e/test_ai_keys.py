"""A person adds their own OpenAI key on the account page in Chromium: the provider (a local stand-in) is
asked, and from then on the page shows only the masked key, also after a reload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.ai_providers import OPENAI_KEY, FakeProviders, fake_providers
from tests.e2e.conftest import open_sign_in_link
from tests.serving import Server, start_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with fake_providers() as fake:
        yield fake


@pytest.fixture(scope="module")
def keys_server(tmp_path_factory: pytest.TempPathFactory, providers: FakeProviders) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("e2e-keys")), **providers.settings())
    yield running
    running.stop()


def test_adding_a_key_on_the_account_page_shows_only_its_masked_form(
    page: Page, keys_server: Server, providers: FakeProviders
) -> None:
    open_sign_in_link(page, keys_server.link)
    page.goto(keys_server.base_url + "/account")
    section = page.get_by_test_id("account-ai-keys")
    expect(section.get_by_test_id("ai-keys-empty")).to_be_visible()

    section.get_by_test_id("ai-key-new-name").fill("Work")
    secret = section.get_by_test_id("ai-key-secret")
    secret.fill(OPENAI_KEY)
    expect(secret).to_have_attribute("type", "password")
    section.get_by_test_id("ai-key-add").click()

    expect(section.get_by_test_id("ai-key-masked")).to_have_text("sk-proj-…abcd")
    expect(section.get_by_test_id("ai-key-name")).to_have_text("Work")
    expect(section.get_by_test_id("ai-key-state")).to_have_text("Active")
    expect(secret).to_have_value("")
    assert providers.keys_sent() == [OPENAI_KEY]
    assert OPENAI_KEY not in page.content()

    page.reload()
    expect(section.get_by_test_id("ai-key-masked")).to_have_text("sk-proj-…abcd")
    assert OPENAI_KEY not in page.content()
