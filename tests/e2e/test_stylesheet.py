"""The pages' Tailwind CSS is made ahead of time (scripts/tailwind_css.py): it must hold the rules of
every class ui/'s sources use, or a page would lose styles without any error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "tailwind_css.py"


def test_the_committed_stylesheet_is_what_the_sources_need() -> None:
    checked = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120, check=False
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
