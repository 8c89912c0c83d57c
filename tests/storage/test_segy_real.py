"""Ingest and export on the real public SEG-Y files: geometry, amplitudes, round trip."""

from pathlib import Path

import numpy as np
import pytest
import segyio
import zarr

from seiscli.config.export import ExportConfig
from seiscli.config.ingest import IngestConfig
from seiscli.errors import DuplicateTraceError
from seiscli.stages.export import run_export
from seiscli.stages.ingest import run_ingest
from seiscli.storage.segy_format import decode_samples, read_layout

pytestmark = pytest.mark.real_data

MULTIFORMATS = sorted(Path(__file__).resolve().parents[2].parent.glob("shared/data/segy/f3/multiformats/*.sgy"))
EXACT_F3_FORMATS = {1, 2, 3, 4, 5, 6, 7, 9}  # decode to f3.sgy's values exactly (7: seis only)
SEGYIO_CANNOT = {7, 15}  # 3-byte integers: segyio falls back to IBM and returns garbage


def ingest(segy: Path, out: Path, **options) -> zarr.Group:
    run_ingest(IngestConfig(segy=segy, out=out, **options))
    return zarr.open_group(out, mode="r")


def segyio_traces(path: Path) -> np.ndarray:
    little = read_layout(path).byte_order == "<"
    with segyio.open(path, ignore_geometry=True, endian="little" if little else "big") as f:
        return f.trace.raw[:]


@pytest.fixture(scope="module")
def f3_reference(segy_dir) -> np.ndarray:
    return segyio.tools.cube(segy_dir / "f3" / "f3.sgy")


def test_f3_geometry_coordinates_and_amplitudes(segy_dir, tmp_path, f3_reference):
    store = ingest(segy_dir / "f3" / "f3.sgy", tmp_path / "f3.mdio")
    np.testing.assert_array_equal(store["inline"][:], np.arange(111, 134))
    np.testing.assert_array_equal(store["crossline"][:], np.arange(875, 893))
    np.testing.assert_array_equal(store["time"][:], np.arange(4, 304, 4))  # delay 4 ms, 4 ms steps
    assert store["inline"].dtype == np.int32
    np.testing.assert_array_equal(store["amplitude"][:], f3_reference)
    assert store["trace_mask"][:].all()
    # The coordinate scalar (-10) is applied: cdp_x = 6201972 / 10 at the first trace.
    assert store["cdp_x"][0, 0] == pytest.approx(620197.2)
    assert store["headers"][0, 0]["cdp_x"] == 6201972
    assert store.attrs["name"] == "PostStack3DTime"


@pytest.mark.parametrize("path", MULTIFORMATS, ids=lambda p: p.stem)
def test_every_sample_format_decodes_like_segyio(path, tmp_path, f3_reference):
    layout = read_layout(path)
    store = ingest(path, tmp_path / "v.mdio")
    amplitude = store["amplitude"][:]
    code = layout.sample_format.code
    assert (layout.byte_order == "<") == path.stem.endswith("lsb")
    if code in EXACT_F3_FORMATS:
        np.testing.assert_array_equal(amplitude, f3_reference)
    if code not in SEGYIO_CANNOT:
        np.testing.assert_array_equal(amplitude.reshape(-1, amplitude.shape[-1]), segyio_traces(path))


def test_three_byte_unsigned_matches_sixteen_bit_unsigned_pattern(segy_dir, tmp_path):
    # segyio cannot decode format 15; its values must equal the 2-byte unsigned file's, scaled by
    # nothing: both wrap f3's negative values the same way modulo their width.
    f3 = segyio.tools.cube(segy_dir / "f3" / "f3.sgy").astype(np.int64)
    store = ingest(segy_dir / "f3" / "multiformats" / "Format15msb.sgy", tmp_path / "v.mdio")
    np.testing.assert_array_equal(store["amplitude"][:].astype(np.int64), np.mod(f3, 1 << 24))


def test_sparse_survey_marks_missing_traces(segy_dir, tmp_path, f3_reference):
    store = ingest(segy_dir / "f3-segysak" / "f3-withdead.sgy", tmp_path / "dead.mdio")
    mask = store["trace_mask"][:]
    assert mask.shape == (23, 18)
    assert mask.sum() == 239
    amplitude = store["amplitude"][:]
    assert not amplitude[~mask].any()  # missing traces are filled with zeros
    np.testing.assert_array_equal(amplitude[mask], f3_reference[mask])


def test_inline_and_crossline_step_four(segy_dir, tmp_path):
    store = ingest(segy_dir / "volve" / "volve10-migvel-depth-sub3d.sgy", tmp_path / "vel.mdio", domain="depth")
    np.testing.assert_array_equal(store["inline"][:], np.arange(10087, 10156, 4))
    np.testing.assert_array_equal(store["crossline"][:], np.arange(2148, 2353, 4))
    assert store["trace_mask"][:].all()
    assert "depth" in store and store["depth"][1] - store["depth"][0] == 20
    assert store.attrs["name"] == "PostStack3DDepth"
    velocity = store["amplitude"][:]
    assert 1480 <= velocity.min() and velocity.max() <= 5313


def test_depth_domain_read_from_text_header(segy_dir, tmp_path):
    store = ingest(segy_dir / "volve" / "volve10r12-full-z-il10117sub.sgy", tmp_path / "z.mdio")
    assert store.attrs["name"] == "PostStack2DDepth"
    assert store["depth"][:3].tolist() == [4, 8, 12]  # sample interval stored x1000, 4 m


def test_2d_line_keyed_by_cdp(segy_dir, tmp_path):
    path = segy_dir / "volve" / "volve10r12-full-twt-arb.sgy"
    store = ingest(path, tmp_path / "arb.mdio")
    assert store["amplitude"].metadata.dimension_names == ("cdp", "time")
    np.testing.assert_array_equal(store["cdp"][:], np.arange(1, 226))
    np.testing.assert_array_equal(store["amplitude"][:], segyio_traces(path))


def test_2d_line_with_varying_inline_and_constant_crossline(segy_dir, tmp_path):
    path = segy_dir / "gundih-2d" / "2D_Xline_12680.sgy"
    store = ingest(path, tmp_path / "gundih.mdio")
    np.testing.assert_array_equal(store["cdp"][:], np.arange(4002, 4652))
    assert store.attrs["attributes"]["seis"]["segy"]["constantKeys"] == {"crossline": 12680}
    np.testing.assert_array_equal(store["amplitude"][:], segyio_traces(path))


def test_explicit_cdp_key_makes_a_2d_line(segy_dir, tmp_path):
    path = segy_dir / "volve" / "volve10r12-full-twt-arb.sgy"
    store = ingest(path, tmp_path / "arb.mdio", header={"cdp": "21"}, chunks=(64, 256))
    np.testing.assert_array_equal(store["cdp"][:], np.arange(1, 226))
    assert store["amplitude"].chunks == (64, 256)
    # On a 3D cube the same key repeats once per inline: seis refuses rather than guess.
    with pytest.raises(DuplicateTraceError, match="duplicate traces"):
        ingest(segy_dir / "f3" / "f3.sgy", tmp_path / "f3line.mdio", header={"cdp": "21"})


@pytest.mark.parametrize(
    "name",
    ["00001034.sgy_first_trace", "1.sgy_first_trace", "example.y_first_trace",
     "ld0042_file_00018.sgy_first_trace", "planes.segy_first_trace", "one_trace_year_11.sgy",
     "one_trace_year_99.sgy"],
)  # fmt: skip
def test_single_traces_match_reference_decoding(segy_dir, tmp_path, name):
    path = segy_dir / "single-traces" / name
    store = ingest(path, tmp_path / "one.mdio")
    reference = np.load(path.parent / (name + ".npy")).ravel()
    np.testing.assert_allclose(store["amplitude"][0], reference, rtol=1e-6)


def _round_trip_files() -> list[Path]:
    root = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "segy"
    files = sorted(root.rglob("*.sgy")) + sorted((root / "single-traces").glob("*_first_trace"))
    return files


@pytest.mark.parametrize("path", _round_trip_files(), ids=lambda p: p.name)
def test_ingest_then_export_gives_the_file_back(path, tmp_path):
    run_ingest(IngestConfig(segy=path, out=tmp_path / "v.mdio"))
    run_export(ExportConfig(source=tmp_path / "v.mdio", out=tmp_path / "back.sgy"))
    original, back = path.read_bytes(), (tmp_path / "back.sgy").read_bytes()
    layout = read_layout(path)
    if original == back:
        return
    # The one allowed difference: unnormalized IBM floats come back normalized (same values).
    assert layout.sample_format.code == 1 and len(original) == len(back)
    returned = read_layout(tmp_path / "back.sgy")
    with open(path, "rb") as a, open(tmp_path / "back.sgy", "rb") as b:
        first, second = layout.read_block(a, 0, layout.n_traces), returned.read_block(b, 0, layout.n_traces)
    assert first["header"].tobytes() == second["header"].tobytes()
    np.testing.assert_array_equal(decode_samples(first["samples"], layout), decode_samples(second["samples"], returned))
    assert original[:3600] == back[:3600]
