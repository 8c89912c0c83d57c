from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def segy_dir() -> Path:
    """The public SEG-Y files next to the repository (never copied into it)."""
    folder = SHARED_DATA / "segy"
    if not folder.is_dir():
        pytest.skip(f"real seismic data not found at {folder}")
    return folder
