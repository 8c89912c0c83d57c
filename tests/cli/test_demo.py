"""``seis demo``: the whole pipeline on a tiny synthetic survey, and a folder it must not touch."""

import json

import numpy as np
import pytest
import segyio
from typer.testing import CliRunner

from seiscli.cli.main import app
from seiscli.config.demo import DemoConfig
from seiscli.errors import OutputExistsError
from seiscli.stages.demo import run_demo, score_prediction
from seiscli.storage.labels import LabelVariable, write_label_store


def test_the_demo_runs_every_step_on_a_tiny_survey(tmp_path):
    cfg = DemoConfig(dir=tmp_path / "demo", shape=(64, 64, 64), patch=32, epochs=2, workers=0)
    result = run_demo(cfg)
    d = tmp_path / "demo"
    verbs = [step["step"].split()[0] for step in result.steps]
    assert verbs == ["synthesize", "ingest", "ingest", "cut", "fine-tune", "evaluate", "predict", "export", "score",
                     "plot", "plot"]  # fmt: skip
    for name in ("survey-train.mdio", "survey-heldout.mdio", "dataset.zarr", "run/best.safetensors",
                 "prediction.mdio", "prediction.png", "labels.png", "training.png"):  # fmt: skip
        assert (d / name).exists(), name
    with segyio.open(d / "prediction.sgy", ignore_geometry=True) as exported:
        assert exported.tracecount == 64 * 64 and len(exported.samples) == 64
        assert set(np.unique(exported.trace.raw[:])) <= {0.0, 1.0}  # class ids of salt / background
    assert 0.0 <= result.survey_metrics["miou"] <= 1.0 and "salt" in result.survey_metrics["iou"]
    summary = json.loads((d / "demo.json").read_text())
    assert summary["status"] == "done" and summary["heldout"]["miou"] == result.survey_metrics["miou"]


def test_overwrite_replaces_a_demo_folder_but_never_another(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "survey.sgy").write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="already exists"):
        run_demo(DemoConfig(dir=mine))
    with pytest.raises(OutputExistsError, match="not a seis demo folder: nothing was removed"):
        run_demo(DemoConfig(dir=mine, overwrite=True))
    assert (mine / "survey.sgy").read_bytes() == b"precious"


def test_score_compares_two_stores_on_one_grid(tmp_path):
    coords = {"inline": np.arange(3, dtype=np.int32), "crossline": np.arange(4, dtype=np.int32),
              "time": np.arange(5, dtype=np.int32)}  # fmt: skip
    truth = np.zeros((3, 4, 5), np.uint8)
    truth[:, :2] = 1  # 30 salt voxels of 60
    guess = np.zeros_like(truth)
    guess[:, :1] = 1  # 15 of them found, no false alarm
    for name, values in (("t.zarr", truth), ("p.zarr", guess)):
        write_label_store(tmp_path / name, coords, {"salt": LabelVariable(values, ["background", "salt"])}, {})
    metrics = score_prediction(tmp_path / "p.zarr", tmp_path / "t.zarr", "salt")
    assert metrics["iou"]["salt"] == pytest.approx(15 / 30)
    assert metrics["iou"]["background"] == pytest.approx(30 / 45)  # all 30 found among 45 called background


def test_the_command_prints_the_folder(tmp_path, monkeypatch):
    import seiscli.stages.demo as stage

    def fake(cfg, invocation, progress):
        return stage.DemoResult(cfg.dir, [], {}, {"miou": 0.5}, 1.0)

    monkeypatch.setattr(stage, "run_demo", fake)
    done = CliRunner().invoke(app, ["demo", str(tmp_path / "d"), "--task", "fault", "--epochs", "3"])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == str(tmp_path / "d")
