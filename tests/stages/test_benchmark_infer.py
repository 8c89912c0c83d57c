"""``seis benchmark infer``: both contenders and the 4x memory run on a tiny volume, and its clear errors."""

import json
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from seiscli.config.benchmark import InferBenchmarkConfig
from seiscli.errors import ConfigError, InputNotFoundError
from seiscli.stages.benchmark_infer import (
    InferBenchmark,
    InferRow,
    _fresh_checkpoint,
    median_row,
    run_infer_benchmark,
)


def test_the_real_command_reports_both_contenders_and_the_memory_check(tmp_path):
    """seis, MONAI and seis on the 4x volume, each in its own process, through the command's --json."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEIS_")}
    command = [sys.executable, "-m", "seiscli", "benchmark", "infer", "--size", "6x16x48", "--model", "tiny_unet",
               "--patch", "16x16", "--batch-size", "4", "--repeats", "2", "--workdir", str(tmp_path), "--json",
               "-q"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = {row["name"]: row for row in report["rows"]}
    assert list(rows) == ["seis", "monai", "seis 4x"] and all(row["ok"] for row in rows.values())
    for row in rows.values():
        assert row["seconds"] > 0 and row["windows"] > 0 and row["windows_per_s"] > 0
        assert row["mb_per_s"] > 0 and row["peak_mb"] > 100  # a process that imported torch
    assert rows["seis 4x"]["shape"] == [12, 32, 48]
    runs = {name: row["runs"] for name, row in rows.items()}
    assert runs == {"seis": 2, "monai": 2, "seis 4x": 1}
    # 16 x 16 windows at half overlap over 16 x 48 sections: 5 per inline; one chunk, so no window runs twice
    assert rows["seis"]["windows"] == rows["monai"]["windows"] == 6 * 5
    assert report["ratio_seis_monai"] == pytest.approx(rows["seis"]["mb_per_s"] / rows["monai"]["mb_per_s"])
    assert report["memory_growth"] == pytest.approx(rows["seis 4x"]["peak_mb"] / rows["seis"]["peak_mb"])
    assert report["memory_bounded"] == (report["memory_growth"] <= 1.1)
    # each tiny volume is a single chunk, so the larger one's chunk is larger: the report says why memory grew
    assert report["warnings"] == [
        "seis predicts the first volume in 6x16x48 chunks, the 4x one in 12x32x48: the "
        "first is smaller than a full chunk, so memory grows until a volume fills one, "
        "then stays flat"
    ]
    assert report["machine"]["cores"] >= 1 and report["window"] == [16, 16]
    assert list(tmp_path.iterdir()) == []  # the generated files are gone


def test_missing_monai_is_an_error_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "monai", None)  # import monai now raises ImportError
    with pytest.raises(ConfigError) as error:
        run_infer_benchmark(InferBenchmarkConfig(model="tiny_unet", workdir=tmp_path))
    assert "MONAI is not installed" in error.value.message and "seis[bench]" in error.value.hint


def test_unknown_contender_is_refused():
    with pytest.raises(ValidationError, match=r"unknown contender\(s\) \['onnx'\]; choose from seis, monai"):
        InferBenchmarkConfig(contenders="seis,onnx")


def test_unknown_model_is_a_clear_error(tmp_path):
    with pytest.raises(InputNotFoundError, match="no_such_net: no such checkpoint, nor a registered model"):
        run_infer_benchmark(InferBenchmarkConfig(model="no_such_net", contenders="seis", workdir=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_monai_refuses_a_model_of_crossline_sections(tmp_path):
    """seis runs it along crosslines; the MONAI contender only stacks inline sections."""
    path, card = _fresh_checkpoint("tiny_unet", (16, 16), tmp_path / "m.safetensors")
    card["patch"]["axes"] = ["crossline"]
    from seiscli.models import create_model
    from seiscli.training.checkpoint import save_weights

    save_weights(tmp_path / "m.safetensors", create_model("tiny_unet").state_dict(), card)
    with pytest.raises(ConfigError, match="not a model of 2D inline sections"):
        run_infer_benchmark(InferBenchmarkConfig(model=path, workdir=tmp_path))


def test_missing_workdir_is_a_clear_error(tmp_path):
    with pytest.raises(InputNotFoundError, match="is not a folder"):
        run_infer_benchmark(InferBenchmarkConfig(contenders="seis", workdir=tmp_path / "nowhere"))


def _row(name, seconds, peak_mb):
    return InferRow(name, (4, 4, 4), seconds, 10, 10 / seconds, 1 / seconds, peak_mb, True)


def test_ratio_and_memory_bound_come_from_the_rows():
    rows = [_row("seis", 2.0, 500.0), _row("monai", 4.0, 900.0), _row("seis 4x", 8.0, 560.0)]
    result = InferBenchmark("m", (16, 16), 0.5, 4, (4, 4, 4), rows, {})
    assert result.ratio == pytest.approx(2.0)
    assert result.memory_growth == pytest.approx(1.12) and result.memory_bounded is False
    rows[2].peak_mb = 540.0
    assert result.memory_bounded is True
    rows[1].ok = False  # a failed contender has no ratio
    assert result.ratio is None


def test_a_contender_row_is_its_median_run_with_its_highest_peak():
    runs = [_row("seis", 3.0, 500.0), _row("seis", 1.0, 700.0), _row("seis", 2.0, 600.0)]
    row = median_row(runs)
    assert (row.seconds, row.peak_mb, row.runs) == (2.0, 700.0, 3)
    assert median_row(runs[:2]).seconds == 1.0  # an even count takes the faster of the middle two
    runs[1].ok = False
    assert median_row(runs).ok is False and median_row(runs).runs == 3


def test_a_given_volume_is_used_as_is_without_the_4x_run(tmp_path):
    from seiscli.progress import SilentProgress
    from seiscli.stages.benchmark_infer import _make_volume

    volume = _make_volume(tmp_path, (3, 16, 32), SilentProgress())
    cfg = InferBenchmarkConfig(volume=volume, model="tiny_unet", patch="16x16", contenders="seis", workdir=tmp_path,
                               repeats=1)  # fmt: skip
    result = run_infer_benchmark(cfg)
    rows = [(row.name, row.shape, row.ok) for row in result.rows]
    assert rows == [("seis", (3, 16, 32), True)]
    assert result.rows[0].windows == 3 * 3 and result.ratio is None and result.memory_growth is None
