"""seis benchmark --plot: each suite's result becomes panels of the numbers it measured, drawn to a PNG."""

from pathlib import Path

import pytest

from seiscli.stages.benchmark import IngestBenchmark, Row
from seiscli.stages.benchmark_infer import InferBenchmark, InferRow
from seiscli.stages.benchmark_loader import LoaderBenchmark
from seiscli.stages.benchmark_model import ModelBenchmark, ModelRow
from seiscli.stages.benchmark_train import TrainBenchmark, TrainRow
from seiscli.viz.benchmark import draw_benchmark, panels

INGEST = IngestBenchmark("ieee", 100.0, (10, 10, 100), [Row("seis", 1.0, 320.0, 373.0, True),
                                                         Row("mdio", 5.0, 59.0, 1778.0, True),
                                                         Row("segyio", 0.0, 0.0, 0.0, False, "crashed")])  # fmt: skip
INFER = InferBenchmark("unet_small", (128, 128), 0.5, 16, (64, 64, 64),
                       [InferRow("seis", (64, 64, 64), 2.0, 100, 50.0, 2.5, 900.0, True),
                        InferRow("monai", (64, 64, 64), 2.2, 100, 45.0, 2.3, 1200.0, True)], {})  # fmt: skip
LOADER = LoaderBenchmark(Path("d.zarr"), "train", 10, (1, 8, 8), "float16", 4, 0, True, True, 5, 4000.0, 5, 300.0,
                         "bf16")  # fmt: skip
MODEL = ModelBenchmark(Path("m.safetensors"), "salt", "miou", [1, 101, 101], (1, 32), ["static"], {},
                       [ModelRow("onnx", 8.7, {1: 5.0, 32: 100.0}, 0.89),
                        ModelRow("onnx-int8-static", 2.5, {1: 2.5, 32: 50.0}, 0.888)])  # fmt: skip
TRAIN = TrainBenchmark(
    16, ("fp32", "bf16"), {}, [TrainRow("unet", 1_900_000, [1, 128, 128], {"fp32": 0.5, "bf16": 0.25})]
)


def test_the_panels_carry_the_measured_numbers():
    throughput, memory = panels(INGEST)
    assert throughput.groups == ["seis", "mdio"] and throughput.series == {"MB/s": [320.0, 59.0]}  # failed: left out
    assert memory.series == {"peak MB": [373.0, 1778.0]}
    assert panels(INFER)[0].series == {"MB/s": [2.5, 2.3]}
    assert panels(LOADER)[0].series == {"samples/s": [4000.0, 300.0]}
    (model,) = panels(MODEL)
    assert model.groups == ["batch 1", "batch 32"]
    assert model.series == {"onnx (miou 0.8900)": [200.0, 320.0], "onnx-int8-static (miou 0.8880)": [400.0, 640.0]}
    assert panels(TRAIN)[0].series == {"fp32": [32.0], "bf16": [64.0]}


@pytest.mark.parametrize("result", [INGEST, INFER, LOADER, MODEL, TRAIN], ids=lambda r: type(r).__name__)
def test_every_suite_draws_a_png(result, tmp_path):
    draw_benchmark(result, tmp_path / "b.png")
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
