"""What every artifact records about how it was made."""

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from seiscli import __version__
from seiscli.storage.location import is_remote, read_member

_EDGE = 1 << 20  # fingerprint the first and last MiB: fast on files of hundreds of GB


def fingerprint(path: str | Path) -> str:
    """A content fingerprint of a file (size + sha256 of its first and last MiB) or a folder's files;
    of a remote store, its root metadata."""
    if is_remote(path):
        return "sha256-zarr-json:" + hashlib.sha256((read_member(path, "zarr.json") or "").encode()).hexdigest()
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        size = file.stat().st_size
        digest.update(f"{file.relative_to(path) if path.is_dir() else ''}:{size}".encode())
        with open(file, "rb") as stream:
            digest.update(stream.read(_EDGE))
            if size > 2 * _EDGE:
                stream.seek(size - _EDGE)
                digest.update(stream.read(_EDGE))
    return "sha256-edges:" + digest.hexdigest()


@dataclass(frozen=True)
class Invocation:
    """Who asked: the command line, and the time to record (fixed by SOURCE_DATE_EPOCH for
    reproducible artifacts)."""

    command: str
    created_on: datetime | None = None

    def timestamp(self) -> str:
        return (self.created_on or datetime.now(UTC)).isoformat(timespec="seconds")


def make_provenance(
    invocation: Invocation, config: BaseModel, inputs: list[Path], seed: int | None = None
) -> dict[str, Any]:
    """The provenance block stored in an artifact's attributes."""
    return {
        "seisVersion": __version__,
        "command": invocation.command,
        "config": config.model_dump(mode="json"),
        "seed": seed,
        "inputs": [
            {"path": str(p) if is_remote(p) else os.path.abspath(p), "fingerprint": fingerprint(p)} for p in inputs
        ],
        "createdOn": invocation.timestamp(),
    }
