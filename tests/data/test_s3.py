"""Stores in object storage: a local S3 server (moto) stands in for the cloud."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from seiscli.config.ingest import IngestConfig
from seiscli.config.preprocess import PreprocessConfig
from seiscli.stages.ingest import run_ingest
from seiscli.stages.preprocess import run_preprocess
from seiscli.storage.dataset import open_dataset

pytest.importorskip("moto")
s3fs = pytest.importorskip("s3fs")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on 127.0.0.1 and the environment that points fsspec at it."""
    port = _free_port()
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        filesystem = s3fs.S3FileSystem(skip_instance_cache=True)
        filesystem.mkdir("seis-test")
        yield filesystem
    finally:
        process.terminate()
        process.wait(10)
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


def test_preprocess_reads_a_volume_from_s3(s3, shared_data, tmp_path):
    local = tmp_path / "f3.mdio"
    run_ingest(IngestConfig(segy=shared_data / "segy" / "f3" / "f3.sgy", out=local))
    s3.put(str(local), "seis-test/f3.mdio", recursive=True)
    remote = run_preprocess(PreprocessConfig(inputs=["s3://seis-test/f3.mdio"], out=tmp_path / "r.zarr",
                                             patch=(16, 8), gap=1))  # fmt: skip
    direct = run_preprocess(PreprocessConfig(inputs=[str(local)], out=tmp_path / "l.zarr", patch=(16, 8), gap=1))
    assert remote.samples == direct.samples > 0
    np.testing.assert_array_equal(
        zarr.open_group(tmp_path / "r.zarr")["x"][:], zarr.open_group(tmp_path / "l.zarr")["x"][:]
    )
    provenance = zarr.open_group(tmp_path / "r.zarr").attrs["seis"]["provenance"]
    assert provenance["inputs"][0]["path"] == "s3://seis-test/f3.mdio"


def test_dataset_store_opens_from_s3(s3, shared_data, tmp_path):
    local = tmp_path / "f3.mdio"
    run_ingest(IngestConfig(segy=shared_data / "segy" / "f3" / "f3.sgy", out=local))
    run_preprocess(PreprocessConfig(inputs=[str(local)], out=tmp_path / "d.zarr", patch=(16, 8), gap=1))
    s3.put(str(tmp_path / "d.zarr"), "seis-test/d.zarr", recursive=True)
    store = open_dataset("s3://seis-test/d.zarr")
    assert len(store) == len(open_dataset(tmp_path / "d.zarr"))
    np.testing.assert_array_equal(store.x[3], zarr.open_group(tmp_path / "d.zarr")["x"][3])


def test_loader_streams_a_dataset_store_from_s3(s3, shared_data, tmp_path):
    from seiscli.data.loader import make_loader

    local = tmp_path / "f3.mdio"
    run_ingest(IngestConfig(segy=shared_data / "segy" / "f3" / "f3.sgy", out=local))
    run_preprocess(PreprocessConfig(inputs=[str(local)], out=tmp_path / "d.zarr", patch=(16, 8), gap=1))
    s3.put(str(tmp_path / "d.zarr"), "seis-test/stream.zarr", recursive=True)
    remote = [x for x in make_loader("s3://seis-test/stream.zarr", "train", 8, workers=0, cache_mb=0)]
    local_batches = [x for x in make_loader(tmp_path / "d.zarr", "train", 8, workers=0, cache_mb=0)]
    assert len(remote) == len(local_batches) > 1
    for a, b in zip(remote, local_batches):
        a, b = (a[0], b[0]) if isinstance(a, (list, tuple)) else (a, b)
        assert torch_equal(a, b)


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))
