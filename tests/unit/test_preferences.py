"""A person's theme: kept per person, unknown values never applied."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ui.preferences import Preferences


def test_a_theme_is_kept_per_person() -> None:
    store: dict[str, object] = {}
    preferences, ann, bob = Preferences(store), uuid4(), uuid4()
    assert preferences.theme(ann) is None  # never chosen: the page decides
    preferences.set_theme(ann, "dark")
    assert preferences.theme(ann) == "dark" and preferences.theme(bob) is None
    store[Preferences.key(bob)] = {"theme": "neon"}
    assert preferences.theme(bob) is None
    with pytest.raises(ValueError, match="unknown theme"):
        preferences.set_theme(bob, "neon")
