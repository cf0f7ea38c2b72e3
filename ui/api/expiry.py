"""The API's expiry times: a JSON date-time string in the years 2000 to 2999 (a time without a zone is UTC);
each body field says what ends then (`Field(description=...)` beside the type)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, WithJsonSchema

from domain.ai_keys import EXPIRY_PATTERN

EXPIRY_RULE = "in the years 2000 to 2999; a time without a zone is UTC"

Expiry = Annotated[
    datetime,
    Field(strict=False),  # a JSON string, as the document says
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": EXPIRY_PATTERN, "description": EXPIRY_RULE}),
]
