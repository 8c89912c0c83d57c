"""The chain a user runs, in one process through the real CLI: synth -> ingest -> preprocess ->
finetune (1 epoch, tiny_unet) -> infer -> export, and the command's errors and outputs."""

import json

import numpy as np
import pytest
import segyio
import zarr
from typer.testing import CliRunner

from seiscli.cli.main import app
from tests.inference.conftest import save_identity_checkpoint


def seis(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout.strip(), result.stderr.strip()


@pytest.mark.slow
def test_synth_to_segy_prediction(tmp_path):
    steps = [
        ("synth", "salt", tmp_path / "s", "--shape", "24,20,32", "--seed", "4", "--workers", "1"),
        ("ingest", tmp_path / "s" / "salt-0000.sgy", tmp_path / "v.mdio", "--chunks", "8,8,16"),
        ("preprocess", tmp_path / "v.mdio", tmp_path / "d.zarr", "--labels", tmp_path / "s" / "salt-0000.labels.zarr",
         "--patch", "16x16", "--stride", "8x8", "--split", "random:0.6,0.2,0.2"),
        ("finetune", tmp_path / "d.zarr", tmp_path / "run", "--task", "salt", "--model", "tiny_unet", "--epochs", "1",
         "--batch-size", "16", "--workers", "0"),
    ]  # fmt: skip
    for step in steps:
        code, _, err = seis(*step)
        assert code == 0, (step[0], err)
    model = tmp_path / "run" / "best.safetensors"
    code, out, err = seis("infer", model, tmp_path / "v.mdio", tmp_path / "p.zarr", "--tta", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["path"] == str((tmp_path / "p.zarr").absolute()) and report["remaining"] == 0
    assert report["chunks_done"] == report["chunks"] and report["windows_per_second"] > 0
    code, out, err = seis("export", tmp_path / "p.zarr", tmp_path / "salt.sgy")
    assert code == 0 and out == str(tmp_path / "salt.sgy"), err
    salt = zarr.open_group(tmp_path / "p.zarr", mode="r")["salt"][...]
    with segyio.open(tmp_path / "salt.sgy") as f:
        np.testing.assert_array_equal(segyio.tools.cube(f), salt)
    assert set(np.unique(salt)) <= {0, 1}


def test_errors_are_one_line_and_exit_1(survey, tmp_path):
    volume = survey[0]
    model = save_identity_checkpoint(tmp_path / "m.safetensors", size=(16, 12))
    code, out, err = seis("infer", model, volume, tmp_path / "p.zarr", "--part", "3/3")
    assert code == 1 and out == "" and "--part: part '3/3' must be i/n with 0 <= i < n" in err
    code, _, err = seis("infer", model, volume, tmp_path / "p.zarr", "--part", "0/2", "--overwrite")
    assert code == 1 and "cannot go with --resume or --part" in err
    code, _, err = seis("infer", model, volume)
    assert code == 1 and "give an output store OUT, or --into" in err
    code, out, _ = seis("infer", model, volume, tmp_path / "p.zarr", "--part", "0/2", "-q")
    assert code == 0 and out == str((tmp_path / "p.zarr").absolute())
    code, _, err = seis("export", tmp_path / "p.zarr", tmp_path / "p.sgy")
    assert code == 1 and "unfinished" in err and "Traceback" not in err
    code, _, err = seis("infer", model, volume, tmp_path / "p.zarr")
    assert code == 1 and err.splitlines()[0].startswith("error: output exists:")
