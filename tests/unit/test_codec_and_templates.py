from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from domain.codec import from_json, to_json
from domain.entities import User, Workspace
from domain.errors import InvalidInput
from domain.templates import find_template, templates_for
from domain.values import Language, Tier
from tests.unit.fakes import FakeTemplateSource


def test_entities_survive_a_json_round_trip() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    user = User(
        email="a@b.c",
        oauth_provider="local",
        oauth_id="a@b.c",
        subscription_tier=Tier.PREMIUM,
        ai_quota_reset_date=date(2026, 1, 1),
        created_at=now,
        updated_at=now,
    )
    assert from_json(User, json.loads(json.dumps(to_json(user)))) == user
    workspace = Workspace(
        owner_id=user.id,
        name="w",
        language=Language.JAVA,
        settings={"tab": 4},
        last_accessed_at=now,
        created_at=now,
        updated_at=now,
    )
    assert from_json(Workspace, json.loads(json.dumps(to_json(workspace)))) == workspace


def test_templates_list_blank_first_and_refuse_unknown_names() -> None:
    catalog = FakeTemplateSource().catalog()
    assert [t.name for t in templates_for(catalog, Language.CPP)] == ["blank", "cpp"]
    with pytest.raises(InvalidInput, match="choose one of blank, cpp"):
        find_template(catalog, Language.CPP, "react")
