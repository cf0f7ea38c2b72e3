"""What the IDE page does with the unsaved text a browser kept (drafts.py): put back only onto the
version it started from, offered otherwise, and what the page says after it lost its server."""

from __future__ import annotations

import pytest

from ui.components.code_editor import Draft, KeptDrafts
from ui.components.drafts import Decision, decide, reconnected_message, restored_message

DRAFT = Draft(path="main.py", base="h1", text="print('saved')\n# typed\n")


@pytest.mark.parametrize(
    ("current", "editable", "expected"),
    [
        (("h1", "print('saved')\n"), True, Decision.RESTORE),  # the file is as the draft started from
        (("h2", "print('theirs')\n"), True, Decision.OFFER),  # changed meanwhile: never applied
        (None, True, Decision.OFFER),  # deleted meanwhile
        (("h1", "print('saved')\n"), False, Decision.OFFER),  # no longer allowed to edit: offered to keep
        (("h2", DRAFT.text), True, Decision.DROP),  # someone saved exactly that text: nothing is lost
        (("h1", None), True, Decision.OFFER),  # it became a binary file
    ],
)
def test_a_draft_is_put_back_only_onto_the_version_it_started_from(
    current: tuple[str, str | None] | None, editable: bool, expected: Decision
) -> None:
    assert decide(DRAFT, current, editable=editable) is expected


def test_the_page_says_what_it_restored_and_that_it_reconnected() -> None:
    lost = KeptDrafts(drafts=[DRAFT], lost=True, lost_on="web1")
    reloaded = KeptDrafts(drafts=[DRAFT], lost=False, lost_on="")
    restored = "Restored unsaved changes to main.py from before"
    assert restored_message("main.py", lost) == f"{restored} the connection was lost"
    assert restored_message("main.py", reloaded) == f"{restored} the page was reloaded"
    assert (
        reconnected_message(lost, instance="web2", restored=True)
        == "Reconnected to another server: your unsaved changes were restored"
    )
    assert reconnected_message(lost, instance="web2", restored=False) == "Reconnected to another server"
    assert reconnected_message(lost, instance="web1", restored=False) == "Reconnected"  # the same one, restarted
    assert reconnected_message(reloaded, instance="web2", restored=True) is None  # nothing was lost
