"""The real MDIO library opens what seis ingest writes and reads the same amplitudes and coordinates."""

import warnings

import numpy as np
import pytest
import segyio

from seiscli.config.ingest import IngestConfig
from seiscli.stages.ingest import run_ingest

mdio = pytest.importorskip("mdio")
pytestmark = pytest.mark.real_data


def open_with_mdio(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mdio.open_mdio(path)


def test_mdio_reads_a_3d_store(segy_dir, tmp_path):
    run_ingest(IngestConfig(segy=segy_dir / "f3" / "f3.sgy", out=tmp_path / "f3.mdio"))
    ds = open_with_mdio(tmp_path / "f3.mdio")
    assert dict(ds.sizes) == {"inline": 23, "crossline": 18, "time": 75}
    np.testing.assert_array_equal(ds["amplitude"].values, segyio.tools.cube(segy_dir / "f3" / "f3.sgy"))
    np.testing.assert_array_equal(ds["inline"].values, np.arange(111, 134))
    np.testing.assert_array_equal(ds["time"].values, np.arange(4, 304, 4))
    assert ds["cdp_x"].values[0, 0] == pytest.approx(620197.2)
    assert set(ds["amplitude"].coords) >= {"inline", "crossline", "time", "cdp_x", "cdp_y"}
    assert ds["headers"].values[3, 4]["crossline"] == 879
    assert ds.attrs["attributes"]["defaultVariableName"] == "amplitude"
    assert "segy_file_header" in ds and "textHeader" in ds["segy_file_header"].attrs


def test_mdio_reads_a_sparse_store(segy_dir, tmp_path):
    run_ingest(IngestConfig(segy=segy_dir / "f3-segysak" / "f3-withdead.sgy", out=tmp_path / "dead.mdio"))
    ds = open_with_mdio(tmp_path / "dead.mdio")
    assert int(ds["trace_mask"].values.sum()) == 239


def test_mdio_reads_a_2d_depth_store(segy_dir, tmp_path):
    path = segy_dir / "volve" / "volve10r12-full-z-il10117sub.sgy"
    run_ingest(IngestConfig(segy=path, out=tmp_path / "z.mdio"))
    ds = open_with_mdio(tmp_path / "z.mdio")
    assert dict(ds.sizes) == {"cdp": 202, "depth": 1125}
    with segyio.open(path, ignore_geometry=True) as f:
        np.testing.assert_array_equal(ds["amplitude"].values, f.trace.raw[:])


def test_mdio_reads_lossy_compressed_amplitudes_within_tolerance(segy_dir, tmp_path):
    path = segy_dir / "f3" / "f3.sgy"
    run_ingest(IngestConfig(segy=path, out=tmp_path / "zfp.mdio", compression="lossy:2.0"))
    ds = open_with_mdio(tmp_path / "zfp.mdio")
    error = np.abs(ds["amplitude"].values - segyio.tools.cube(path))
    assert 0 < error.max() <= 2.0
