"""The one translation of domain errors: HTTP status and kind for the API, a notification for pages."""

from __future__ import annotations

import inspect
import json
from unittest.mock import patch

import pytest

import domain.errors
from domain.errors import CodeloftError, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from domain.files import StaleFile
from ui import errors
from ui.errors import MalformedHeader, Translated, api_error_handler, notify_error, notify_errors, translate

README_STATUS = {
    "Unauthenticated": 401,
    "PermissionDenied": 403,
    "NotFound": 404,
    "Conflict": 409,
    "LimitExceeded": 413,
    "InvalidInput": 422,
    "QuotaExceeded": 429,
    "Unavailable": 503,
}
"""The README's REST API section, for every class in domain.errors but the base."""

DOMAIN_ERRORS = [
    cls
    for _, cls in inspect.getmembers(domain.errors, inspect.isclass)
    if issubclass(cls, CodeloftError) and cls is not CodeloftError
]


def test_every_domain_error_is_listed_in_the_readme_table() -> None:
    assert {cls.__name__ for cls in DOMAIN_ERRORS} == set(README_STATUS)


@pytest.mark.parametrize("cls", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_each_domain_error_answers_the_readme_status(cls: type[CodeloftError]) -> None:
    assert translate(cls("Why.")) == Translated(status=README_STATUS[cls.__name__], kind=cls.__name__, message="Why.")


def test_the_edge_errors_have_their_own_statuses() -> None:
    assert issubclass(StaleFile, domain.errors.Conflict)  # 412 by its own entry, not its parent's 409
    assert translate(StaleFile("a.py", "abc")).status == 412
    assert translate(StaleFile("a.py", "abc")).kind == "StaleFile"
    assert translate(MalformedHeader("Bad If-Match.")).status == 400


def test_a_subclass_takes_its_own_entry_before_its_parents() -> None:
    assert issubclass(Unauthenticated, PermissionDenied)
    assert translate(Unauthenticated("Sign in first.")).status == 401


def test_an_unlisted_subclass_takes_its_nearest_listed_ancestors_status() -> None:
    class Hidden(NotFound):
        pass

    class Expired(Unauthenticated):
        pass

    assert translate(Hidden("Gone.")) == Translated(status=404, kind="Hidden", message="Gone.")
    assert translate(Expired("Again.")).status == 401


def test_an_unlisted_codeloft_error_is_400() -> None:
    class Odd(CodeloftError):
        pass

    assert translate(Odd("Odd.")) == Translated(status=400, kind="Odd", message="Odd.")
    assert translate(CodeloftError("Plain.")).status == 400


def test_the_translation_is_frozen() -> None:
    answer = translate(InvalidInput("No."))
    with pytest.raises(AttributeError):
        answer.status = 500  # type: ignore[misc]


async def test_the_api_body_is_detail_and_error() -> None:
    response = await api_error_handler(None, StaleFile("a.py", "abc"))  # type: ignore[arg-type]
    assert response.status_code == 412
    assert json.loads(bytes(response.body)) == {"detail": StaleFile("a.py", "abc").message, "error": "StaleFile"}
    response = await api_error_handler(None, Unauthenticated("Sign in first."))  # type: ignore[arg-type]
    assert response.status_code == 401
    assert json.loads(bytes(response.body)) == {"detail": "Sign in first.", "error": "Unauthenticated"}


def test_an_expired_sign_in_goes_to_the_sign_in_page() -> None:
    with patch.object(errors.ui.navigate, "to") as to, patch.object(errors.ui, "notify") as notify:
        notify_error(Unauthenticated("Sign in first."))
    to.assert_called_once_with("/login?reason=session_ended")
    notify.assert_not_called()


def test_any_other_error_is_a_notification() -> None:
    with patch.object(errors.ui.navigate, "to") as to, patch.object(errors.ui, "notify") as notify:
        notify_error(PermissionDenied("Not yours."))
    notify.assert_called_once_with("Not yours.", type="negative", multi_line=True)
    to.assert_not_called()


async def test_the_wrapper_shows_what_the_handler_raised() -> None:
    @notify_errors
    async def handler(message: str) -> None:
        raise InvalidInput(message)

    with patch.object(errors.ui, "notify") as notify:
        await handler("Bad name.")
    notify.assert_called_once_with("Bad name.", type="negative", multi_line=True)


async def test_the_wrapper_lets_other_exceptions_through() -> None:
    @notify_errors
    async def handler() -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await handler()
