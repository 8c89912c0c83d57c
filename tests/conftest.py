"""Fixtures shared by every test package."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes seconds (generates or processes a large file)")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public data next to the repository, ``<repo>/../shared/data`` (never copied into it)."""
    folder = (REPO / ".." / "shared" / "data").resolve()
    if not folder.is_dir():
        pytest.skip(f"shared data not found at {folder}")
    return folder
