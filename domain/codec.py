"""Turn entities into JSON-ready dicts and back, for the cache."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

T = TypeVar("T")
JSONValue = Any


def to_json(entity: object) -> dict[str, JSONValue]:
    assert dataclasses.is_dataclass(entity) and not isinstance(entity, type)
    return {f.name: _encode(getattr(entity, f.name)) for f in dataclasses.fields(entity)}


def from_json(kind: type[T], data: dict[str, JSONValue]) -> T:
    hints = _hints(kind)  # type: ignore[arg-type]  # a class is hashable
    values = {name: _decode(hints[name], value) for name, value in data.items() if name in hints}
    return kind(**values)


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    """The field types of a dataclass (resolving them costs more than decoding a cached entity)."""
    return typing.get_type_hints(kind)


def _encode(value: object) -> JSONValue:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode(hint: Any, value: JSONValue) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode(inner[0], value)
    if origin is not None:
        return value
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, UUID | Enum):
        return hint(value)
    return value
