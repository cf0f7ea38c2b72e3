"""The assistant's settings: which providers and models are offered (CODELOFT_AI_MODELS, the compatible
server's address), and what the composition root builds from them (whose keys count against the quota)."""

from __future__ import annotations

import os

import pytest

from domain.errors import InvalidInput
from ui.app import chat_backends
from ui.settings import load_settings


@pytest.fixture(autouse=True)
def no_codeloft_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("CODELOFT_")]:
        monkeypatch.delenv(name)


def test_openai_and_gemini_are_offered_by_default_people_bring_their_keys() -> None:
    settings = load_settings()
    assert settings.chat_models == {
        "openai": ["gpt-4o-mini", "gpt-4o"],
        "gemini": ["gemini-2.5-flash", "gemini-2.5-pro"],
    }
    backends = chat_backends(settings)
    assert [(b.name, b.shared, b.own_keys) for b in backends] == [("openai", False, True), ("gemini", False, True)]


def test_a_server_key_a_compatible_server_and_the_models_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOFT_OPENAI_API_KEY", "sk-server")
    monkeypatch.setenv("CODELOFT_GEMINI_API_KEY", " ")  # blank: none
    monkeypatch.setenv("CODELOFT_COMPATIBLE_BASE_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("CODELOFT_AI_MODELS", '{"compatible": ["llama3.2", "qwen2.5-coder"], "gemini": []}')
    monkeypatch.setenv("CODELOFT_AI_CONTEXT_TOKENS", "8192")

    settings = load_settings()
    backends = chat_backends(settings)

    assert settings.compatible_base_url == "http://127.0.0.1:11434/v1"
    assert settings.chat_models == {"openai": ["gpt-4o-mini", "gpt-4o"], "compatible": ["llama3.2", "qwen2.5-coder"]}
    assert [(b.name, b.shared, b.own_keys, b.context_tokens) for b in backends] == [
        ("openai", True, True, 8192),
        ("compatible", True, False, 8192),
    ]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CODELOFT_AI_MODELS", '{"anthropic": ["claude"]}', "there is no AI provider 'anthropic'"),
        ("CODELOFT_AI_MODELS", '{"openai": "gpt-4o"}', "openai must map to a list of model names"),
        ("CODELOFT_AI_MODELS", "gpt-4o", "it must be a JSON object"),
        ("CODELOFT_COMPATIBLE_BASE_URL", "localhost:11434", "http(s)://HOST"),
    ],
)
def test_a_bad_assistant_setting_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidInput) as refused:
        load_settings()
    assert refused.value.message.startswith(f"{variable} is not valid") and message in refused.value.message
