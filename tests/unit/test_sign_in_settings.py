"""The sign-in settings (a provider is on only with its client id and secret) and `next` (only a path of
this site)."""

from __future__ import annotations

import os

import pytest

from domain.errors import InvalidInput
from ui.oauth import safe_next
from ui.settings import load_settings


@pytest.fixture(autouse=True)
def no_codeloft_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("CODELOFT_")]:
        monkeypatch.delenv(name)


def test_a_provider_is_on_only_with_both_its_client_id_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().sign_in_providers == []
    monkeypatch.setenv("CODELOFT_GITHUB_CLIENT_ID", "id")
    monkeypatch.setenv("CODELOFT_GOOGLE_CLIENT_ID", "id")
    monkeypatch.setenv("CODELOFT_GOOGLE_CLIENT_SECRET", "  ")
    assert load_settings().sign_in_providers == []
    monkeypatch.setenv("CODELOFT_GITHUB_CLIENT_SECRET", "secret")
    monkeypatch.setenv("CODELOFT_GOOGLE_CLIENT_SECRET", "secret")
    assert load_settings().sign_in_providers == ["github", "google"]


def test_the_endpoints_default_to_the_real_ones_and_may_point_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.github_base_url, settings.github_api_url) == ("https://github.com", "https://api.github.com")
    assert settings.google_discovery_url == "https://accounts.google.com/.well-known/openid-configuration"
    monkeypatch.setenv("CODELOFT_GITHUB_BASE_URL", "https://github.example.com/")
    assert load_settings().github_base_url == "https://github.example.com"


def test_an_endpoint_that_is_not_http_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOFT_GITHUB_API_URL", "api.github.com")
    with pytest.raises(InvalidInput, match="CODELOFT_GITHUB_API_URL is not valid: it must be an http"):
        load_settings()


@pytest.mark.parametrize("target", ["/", "/account", "/w/1?tab=files", "/a%20b"])
def test_next_keeps_paths_of_this_site(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "account",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%5Cevil.example",
        "/%2F/evil.example",
        "/\tx",
        "/\nx",
    ],
)
def test_next_refuses_anything_that_could_leave_the_site(target: str | None) -> None:
    assert safe_next(target) is None
