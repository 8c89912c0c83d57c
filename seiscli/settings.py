"""The one place seis reads its environment: ``SEIS_*`` variables."""

import os
from datetime import UTC, datetime

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings from ``SEIS_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SEIS_", extra="ignore")

    debug: bool = False

    @field_validator("debug", mode="before")
    @classmethod
    def _empty_is_false(cls, value: object) -> object:
        return False if value == "" else value


def reproducible_time() -> datetime | None:
    """The time to record in artifacts when ``SOURCE_DATE_EPOCH`` asks for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None or not epoch.strip().isdigit():
        return None
    return datetime.fromtimestamp(int(epoch), UTC)


def command_env(command: str, fields: list[str]) -> dict[str, str]:
    """Option values a user set as ``SEIS_<COMMAND>_<OPTION>``, e.g. ``SEIS_INGEST_CHUNKS=64,64,64``."""
    prefix = f"SEIS_{command.upper()}_"
    found = {}
    for field in fields:
        value = os.environ.get(prefix + field.upper())
        if value is not None:
            found[field] = value
    return found
