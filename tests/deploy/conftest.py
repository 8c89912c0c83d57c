"""The tiny ingested survey of the inference tests."""

from tests.inference.conftest import survey  # noqa: F401  (a fixture)
