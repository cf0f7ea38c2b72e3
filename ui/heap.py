"""The cyclic garbage collector, set for a long-running server. CPython's defaults (a young-generation
collection every 700 allocations, older generations every 10 of those) suit short scripts; a server under
50 concurrent saves spent a fifth to a third of its CPU in them (py-spy samples landing in allocations,
bench/save_latency.py with and without this), mostly scanning again and again what startup built (NiceGUI,
the routes, SQLAlchemy's metadata), which lives as long as the process."""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 20, 20)
"""Allocations before a young collection, young collections before a middle one, middle before a full one.
Garbage cycles live a little longer (a few MB at most); reference counting frees everything else at once."""


def settle() -> None:
    """Once startup is done: collect, then leave everything alive now out of every later collection
    (`gc.freeze`), and collect less often from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def frozen_objects() -> int:
    """Objects the collector no longer scans (0 before `settle`)."""
    return gc.get_freeze_count()
