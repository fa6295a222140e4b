"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from session_helpers import SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (CI has it there); fail loudly if it is missing."""
    assert SHARED_DATA.is_dir(), f"real test data expected at {SHARED_DATA} (../shared/data beside the checkout)"
    return SHARED_DATA
