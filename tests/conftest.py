"""Fixtures shared by every test package."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes seconds (generates or processes a large file)")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Two xdist workers on two cores, each with torch's default thread per core, oversubscribe the
        # CPU and their OpenMP threads spin against each other (model tests ran 5x slower).
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public data next to the repository, ``<repo>/../shared/data`` (never copied into it)."""
    folder = (REPO / ".." / "shared" / "data").resolve()
    if not folder.is_dir():
        pytest.skip(f"shared data not found at {folder}")
    return folder
