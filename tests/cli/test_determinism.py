"""The same command on the same input gives the same bytes (SOURCE_DATE_EPOCH fixes the recorded time)."""

import os
import subprocess
import sys
from pathlib import Path


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_ingest_twice_gives_identical_stores(shared_data, tmp_path):
    segy = shared_data / "segy" / "f3-segysak" / "f3-withdead.sgy"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    trees = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        command = [sys.executable, "-m", "seiscli", "ingest", str(segy), "v.mdio", "--chunks", "8,8,32"]
        subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
        trees.append(_tree(folder / "v.mdio"))
    assert len(trees[0]) > 20  # many chunks, not a trivial store
    assert trees[0] == trees[1]
    assert b"2023-11-14T22:13:20+00:00" in trees[0]["zarr.json"]
