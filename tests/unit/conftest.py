"""Fixtures of the unit tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kafkalab.lab import state


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """kafkalab's records in a directory of this test's own, and no KAFKALAB_* variable set."""
    monkeypatch.setattr(state, "_found", [tmp_path])
    for name in [k for k in os.environ if k.startswith("KAFKALAB_")]:
        monkeypatch.delenv(name)
    return tmp_path
