"""The workbench a person left: kept per person and workspace, and never broken by what was stored."""

from __future__ import annotations

from uuid import uuid4

from ui.workbench.state import WorkbenchState, WorkbenchStates


def test_a_state_is_kept_per_person_and_workspace() -> None:
    store: dict[str, object] = {}
    states = WorkbenchStates(store)
    ann, bob, workspace = uuid4(), uuid4(), uuid4()
    mine = WorkbenchState(
        side_size=30,
        bottom_open=False,
        assistant_open=True,
        tabs=["a.py", "b.py"],
        active="b.py",
        cursors={"b.py": [3, 7]},
        bottom_tab="terminal",
        preview_open=True,
    )
    states.save(ann, workspace, mine)
    assert states.load(ann, workspace) == mine
    assert states.load(bob, workspace) == WorkbenchState()  # another person starts afresh
    assert states.load(ann, uuid4()) == WorkbenchState()


def test_what_is_malformed_is_dropped_not_fatal() -> None:
    stored = {
        "side_size": 250,
        "bottom_size": "68",
        "right_size": 40,
        "side_open": "yes",
        "assistant_open": 1,
        "tabs": ["a.py", 3, None, "b.py"],
        "active": 5,
        "cursors": {"a.py": [2, 1], "b.py": [0, 1], "gone.py": [1, 1], "c": "x"},
        "unknown": True,
        "bottom_tab": ["terminal"],
        "preview_open": "true",
    }
    state = WorkbenchState.from_dict(stored)
    assert state == WorkbenchState(right_size=40, tabs=["a.py", "b.py"], cursors={"a.py": [2, 1]})
    assert WorkbenchState.from_dict(None) == WorkbenchState()
    assert WorkbenchState.from_dict({"tabs": [f"f{i}.py" for i in range(500)]}).tabs == [f"f{i}.py" for i in range(50)]
