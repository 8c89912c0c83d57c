"""seis plot: sections read by coordinate value, overlays laid by coordinate value, every picture kind, errors."""

import json

import numpy as np
import pytest
import zarr
from PIL import Image
from typer.testing import CliRunner

from seiscli.cli.main import app
from seiscli.config.ingest import IngestConfig
from seiscli.config.plot import PlotConfig
from seiscli.config.preprocess import PreprocessConfig
from seiscli.errors import ConfigError, GridMismatchError, InputNotFoundError, NotAnArtifactError, OutputExistsError
from seiscli.stages.ingest import run_ingest
from seiscli.stages.plot import run_plot
from seiscli.stages.preprocess import run_preprocess
from seiscli.storage.labels import LabelVariable, write_label_store
from seiscli.storage.segy_create import NewSegy
from seiscli.storage.volume import open_volume
from seiscli.viz.curves import read_run_log
from seiscli.viz.sections import grid_of, place_onto, read_section, select

# A survey whose numbers are not its indices: inlines 201..209 step 2, crosslines 1001..1012, time 100..176 ms.
INLINES = np.arange(201, 210, 2)
CROSSLINES = np.arange(1001, 1013)
TIMES = 100 + 4 * np.arange(20)


def _amplitude(inline, crossline, sample):
    """Every sample tells where it is: inline * 1e4 + crossline * 10 + sample index (exact in float32)."""
    return inline * 10_000.0 + (crossline - 1000) * 10.0 + sample


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survey")
    inline, crossline = (a.ravel() for a in np.meshgrid(INLINES, CROSSLINES, indexing="ij"))
    samples = _amplitude(inline[:, None], crossline[:, None], np.arange(len(TIMES))[None, :]).astype(np.float32)
    samples *= np.where(np.arange(len(TIMES)) % 2, 1, -1)[None, :]  # signs alternate, like a wavelet
    with NewSegy(folder / "s.sgy", len(TIMES), 4000, delay_ms=100) as segy:
        segy.write(samples, inline, crossline, np.arange(len(inline)), crossline * 25.0, inline * 25.0)
    run_ingest(IngestConfig(segy=folder / "s.sgy", out=folder / "s.mdio"))
    return folder / "s.mdio"


def _labels(path, inlines=INLINES, crosslines=CROSSLINES, times=TIMES, task="salt", values=None, **extra):
    shape = (len(inlines), len(crosslines), len(times))
    coords = {"inline": inlines.astype(np.int32), "crossline": crosslines.astype(np.int32),
              "time": times.astype(np.int32)}  # fmt: skip
    variables = {task: LabelVariable(np.zeros(shape, np.uint8) if values is None else values, ["background", task])}
    variables.update(extra)
    write_label_store(path, coords, variables, {})
    return path


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    """A label store over part of the volume (inlines 203..207, crosslines 1003..1008) with salt in one box:
    inline 205, crosslines 1004..1006, times 120..140 ms."""
    inlines, crosslines = INLINES[1:4], CROSSLINES[2:8]
    mask = np.zeros((len(inlines), len(crosslines), len(TIMES)), np.uint8)
    mask[1, 1:4, 5:11] = 1
    return _labels(tmp_path_factory.mktemp("labels") / "box.zarr", inlines, crosslines, values=mask)


def _section(store, **where):
    volume = open_volume(store)
    grid = grid_of(volume.group, "amplitude")
    return read_section(volume.amplitude, grid, select(grid, **where))


def _png(path):
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    return image.size, pixels


def _nontrivial(pixels):
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    return len(colours) > 100 and pixels.std() > 20


def plot(path, out, **options):
    return run_plot(PlotConfig(path=str(path), out=out, **options))


# Reading sections by coordinate value


def test_inline_section_is_the_volume_at_that_number(volume):
    amplitude = zarr.open_group(volume, mode="r")["amplitude"][...]  # (5, 12, 20)
    section = _section(volume, inline=205)
    assert (section.row_dim, section.col_dim) == ("time", "crossline")
    np.testing.assert_array_equal(section.values, amplitude[2].T)  # inline 205 is index 2
    np.testing.assert_array_equal(section.rows, TIMES)
    np.testing.assert_array_equal(section.cols, CROSSLINES)
    assert abs(section.values[3, 4]) == _amplitude(205, 1005, 3)


def test_crossline_and_time_slice(volume):
    amplitude = zarr.open_group(volume, mode="r")["amplitude"][...]
    crossline = _section(volume, crossline=1007)
    np.testing.assert_array_equal(crossline.values, amplitude[:, 6].T)
    assert (crossline.row_dim, crossline.col_dim) == ("time", "inline")
    time = _section(volume, sample=131)  # nearest sample: 132 ms, index 8
    assert (time.row_dim, time.col_dim) == ("inline", "crossline")
    np.testing.assert_array_equal(time.values, amplitude[:, :, 8])


def test_default_is_the_middle_inline(volume):
    volume_grid = grid_of(open_volume(volume).group, "amplitude")
    assert select(volume_grid).value == 205


def test_absent_numbers_are_refused_with_the_range(volume):
    grid = grid_of(open_volume(volume).group, "amplitude")
    with pytest.raises(ConfigError, match=r"inline 204 is not in the store: inlines 201..209 step 2"):
        select(grid, inline=204)
    with pytest.raises(ConfigError, match=r"crosslines 1001..1012 step 1"):
        select(grid, crossline=12)  # an index, not a number
    with pytest.raises(ConfigError, match=r"time 400 ms is outside the store: times 100..176"):
        select(grid, sample=400)
    with pytest.raises(ConfigError, match="choose one"):
        select(grid, inline=201, sample=120)


# Overlays land on the pixels of their coordinates


def test_partial_label_store_lands_on_its_coordinates(volume, box):
    section = _section(volume, inline=205)
    labels = zarr.open_group(box, mode="r")
    label_grid = grid_of(labels, "salt")
    placed = place_onto(read_section(labels["salt"], label_grid, select(label_grid, inline=205)), section)
    assert placed.shape == section.values.shape  # (time 20, crossline 12)
    # Covered: crosslines 1003..1008 (columns 2..7), every time; the rest is masked, not background.
    np.testing.assert_array_equal(~np.ma.getmaskarray(placed).any(axis=0), np.isin(CROSSLINES, CROSSLINES[2:8]))
    salt_rows, salt_cols = np.nonzero(placed.filled(0))
    assert set(TIMES[salt_rows]) == set(range(120, 141, 4))
    assert set(CROSSLINES[salt_cols]) == {1004, 1005, 1006}
    assert placed.sum() == 3 * 6


def test_overlay_off_the_grid_is_refused(volume, tmp_path):
    shifted = _labels(tmp_path / "shifted.zarr", crosslines=CROSSLINES + 500)
    with pytest.raises(GridMismatchError, match="crossline 1501 is not on the volume's grid"):
        plot(volume, tmp_path / "a.png", overlay=str(shifted))
    other_line = _labels(tmp_path / "elsewhere.zarr", inlines=np.array([301, 303]))
    with pytest.raises(GridMismatchError, match="inline 205 is not in this store"):
        plot(volume, tmp_path / "b.png", overlay=str(other_line))


def test_pixels_sit_on_coordinates_even_when_irregular():
    from seiscli.viz.plot import _coordinate_at, axis_span

    assert axis_span(np.array([201, 203, 205])) == (200.0, 206.0)  # pixel centres on the inline numbers
    assert axis_span(np.array([100, 104, 112, 116])) == (-0.5, 3.5)  # irregular: index units ...
    assert _coordinate_at(np.array([100, 104, 112, 116]), 2.0) == "112"  # ... labelled by coordinate


# Every kind of picture


@pytest.mark.parametrize("where", [{}, {"crossline": 1004}, {"sample": 150.0}])
def test_volume_with_overlay_png(volume, box, tmp_path, where):
    result = plot(volume, tmp_path / "o.png", overlay=str(box), **where)
    size, pixels = _png(tmp_path / "o.png")
    assert result.kind == "volume" and size == (result.width, result.height) == (1200, 700)
    assert _nontrivial(pixels)
    assert "salt from box.zarr" in result.title


def test_label_store_alone_and_size(box, tmp_path):
    result = plot(box, tmp_path / "l.png", crossline=1005, size=(640, 480))
    assert result.kind == "labels" and _png(tmp_path / "l.png")[0] == (640, 480)
    assert result.title == "box.zarr: salt, crossline 1005"


def test_prediction_store_needs_a_variable_when_it_holds_several(volume, tmp_path):
    shape = (len(INLINES), len(CROSSLINES), len(TIMES))
    velocity = LabelVariable(np.full(shape, 2000.0, np.float32), units="m/s")
    store = _labels(tmp_path / "p.zarr", task="fault", velocity=velocity)
    with pytest.raises(ConfigError, match="holds fault, velocity"):
        plot(volume, tmp_path / "p.png", overlay=str(store))
    result = plot(volume, tmp_path / "p.png", overlay=str(store), variable="velocity")
    assert result.title.endswith("velocity from p.zarr")


def test_predictions_in_their_own_store_or_inside_the_volume(volume, tmp_path):
    """A prediction store is any group of coordinates and a task variable; predictions may also sit in the volume."""
    import shutil

    amplitude = zarr.open_group(volume, mode="r")["amplitude"]
    fault = (np.abs(amplitude[...]) % 7 == 0).astype(np.uint8)  # (5, 12, 20)
    shutil.copytree(volume, tmp_path / "with.mdio")
    inside = zarr.open_group(tmp_path / "with.mdio", mode="r+")
    inside.create_array("fault", data=fault, dimension_names=("inline", "crossline", "time"))
    own = zarr.open_group(tmp_path / "pred.zarr", mode="w", zarr_format=3)
    for dim, values in (("inline", INLINES), ("crossline", CROSSLINES), ("time", TIMES)):
        own.create_array(dim, data=values.astype(np.int32), dimension_names=(dim,))
    own.create_array("fault", data=fault, dimension_names=("inline", "crossline", "time"))
    alone = plot(tmp_path / "pred.zarr", tmp_path / "a.png", inline=203)
    assert alone.kind == "prediction" and alone.title == "pred.zarr: fault, inline 203"
    kept = plot(tmp_path / "with.mdio", tmp_path / "k.png", variable="fault", sample=140.0)
    assert kept.kind == "volume" and kept.title == "with.mdio: time 140 ms, fault from with.mdio"
    with pytest.raises(ConfigError, match="has no variable 'salt'"):
        plot(tmp_path / "with.mdio", tmp_path / "x.png", variable="salt")


def test_dataset_grid(volume, tmp_path_factory, tmp_path):
    mask = np.zeros((len(INLINES), len(CROSSLINES), len(TIMES)), np.uint8)
    mask[:, 4:9, 6:14] = 1
    labels = _labels(tmp_path_factory.mktemp("full") / "full.zarr", values=mask)
    dataset = tmp_path / "d.zarr"
    run_preprocess(PreprocessConfig(inputs=[str(volume)], labels=[str(labels)], out=dataset, patch=(8, 8),
                                    stride=(4, 4), gap=0, split="random:0.5,0.25,0.25"))  # fmt: skip
    result = plot(dataset, tmp_path / "d.png", count=4, split="train")
    size, pixels = _png(tmp_path / "d.png")
    assert result.kind == "dataset" and size == (600, 660)
    assert "4 of" in result.title and "train split" in result.title
    assert _nontrivial(pixels)


def _metrics_log(path, epochs, val):
    """A log as seis finetune writes it, ``val(epoch)`` giving each epoch's metrics; the best is the highest miou."""
    best = None
    lines = []
    for epoch in range(1, epochs + 1):
        metrics = val(epoch)
        best = metrics["miou"] if best is None or metrics["miou"] > best else best
        lines.append({"epoch": epoch, "train_loss": 1 / epoch, "lr": 1e-3 * (1 - epoch / (epochs + 1)),
                      "seconds": 1.0, "val": metrics, "best": {"miou": best}})  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_training_curves_mark_the_best_epoch(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    peak = {1: 0.5, 2: 0.7, 3: 0.8, 4: 0.75, 5: 0.78}
    _metrics_log(run / "metrics.jsonl", 5, lambda e: {"miou": peak[e], "mpa": 0.9, "iou": {"background": 0.9,
                 "salt": peak[e] - 0.1}, "pixels": 100, "matrix": [[1, 0], [0, 1]]})  # fmt: skip
    log = read_run_log(run)
    assert log.best() == ("miou", 0.8, 3)
    assert log.val_metrics() == ["miou", "mpa"]
    for target in (run, run / "metrics.jsonl"):
        result = plot(target, tmp_path / "c.png", overwrite=True)
        size, pixels = _png(tmp_path / "c.png")
        assert result.kind == "run" and size == (1000, 900) and _nontrivial(pixels)
        assert result.title == "run: 5 epochs"


def test_velocity_and_pretrain_logs(tmp_path):
    lines = [{"epoch": e, "train_loss": 1 / e, "lr": 1e-3, "seconds": 1.0,
              "val": {"mae": 500 - 10 * e, "rmse": 700 - 10 * e, "ssim": 0.5 + e / 100, "maps": 20},
              "best": {"mae": 500 - 10 * e}} for e in (1, 2, 3)]  # fmt: skip
    (tmp_path / "v.jsonl").write_text("\n".join(map(json.dumps, lines)))
    assert read_run_log(tmp_path / "v.jsonl").best() == ("mae", 470, 3)
    assert plot(tmp_path / "v.jsonl", tmp_path / "v.png").width == 1000
    lines = [{"epoch": e, "train_loss": 1 / e, "lr": 1e-3, "seconds": 1.0, "val": {"loss": 2 / e},
              "best": {"loss": 2 / e}} for e in (1, 2)]  # fmt: skip
    (tmp_path / "p.jsonl").write_text("\n".join(map(json.dumps, lines)))
    assert read_run_log(tmp_path / "p.jsonl").best() == ("loss", 1.0, 2)
    assert _nontrivial(_png(plot(tmp_path / "p.jsonl", tmp_path / "p.png").path)[1])


# Errors


def test_unknown_artifacts(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    for path in (tmp_path / "folder", tmp_path / "notes.txt"):
        with pytest.raises(NotAnArtifactError, match="not something seis plot draws"):
            plot(path, tmp_path / "x.png")
    (tmp_path / "best.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(NotAnArtifactError) as refused:
        plot(tmp_path / "best.safetensors", tmp_path / "x.png")
    assert "run folder" in refused.value.hint
    with pytest.raises(InputNotFoundError):
        plot(tmp_path / "missing.mdio", tmp_path / "x.png")
    (tmp_path / "bad.jsonl").write_text('{"epoch": 1}\n')
    with pytest.raises(NotAnArtifactError, match="line 1 is not an epoch record"):
        plot(tmp_path / "bad.jsonl", tmp_path / "x.png")


def test_options_that_do_not_apply(volume, box, tmp_path):
    _metrics_log(tmp_path / "m.jsonl", 2, lambda e: {"miou": 0.5})
    with pytest.raises(ConfigError, match=r"--inline does not apply to a training run"):
        plot(tmp_path / "m.jsonl", tmp_path / "x.png", inline=201)
    with pytest.raises(ConfigError, match=r"--overlay does not apply to a label store"):
        plot(box, tmp_path / "x.png", overlay=str(box))
    with pytest.raises(ConfigError, match=r"--count does not apply to a volume store"):
        plot(volume, tmp_path / "x.png", count=3)
    with pytest.raises(ConfigError, match="unknown colour map 'sesimic'"):
        plot(volume, tmp_path / "x.png", cmap="sesimic")
    with pytest.raises(ValueError, match="must be a .png file"):
        PlotConfig(path=str(volume), out=tmp_path / "x.jpg")
    assert not (tmp_path / "x.png").exists()


def test_existing_output_needs_overwrite(volume, tmp_path):
    out = tmp_path / "s.png"
    out.write_bytes(b"keep")
    with pytest.raises(OutputExistsError):
        plot(volume, out)
    assert out.read_bytes() == b"keep"
    plot(volume, out, overwrite=True)
    assert _png(out)[0] == (1200, 700)
    first = out.read_bytes()
    plot(volume, out, overwrite=True)
    assert out.read_bytes() == first  # the same picture, byte for byte


def test_command_line(volume, tmp_path):
    out = tmp_path / "c.png"
    done = CliRunner().invoke(app, ["plot", str(volume), str(out), "--inline", "207", "--cmap", "gray"])
    assert done.exit_code == 0 and done.stdout.strip() == str(out)
    refused = CliRunner().invoke(app, ["plot", str(volume), str(tmp_path / "d.png"), "--inline", "208"])
    assert refused.exit_code == 1
    assert "error: bad option: inline 208 is not in the store: inlines 201..209 step 2" in refused.stderr


# Real data


@pytest.mark.real_data
def test_real_f3_sparse_cube_and_2d_line(shared_data, tmp_path):
    segy = shared_data / "segy"
    run_ingest(IngestConfig(segy=segy / "f3-segysak" / "f3-withdead.sgy", out=tmp_path / "f3.mdio"))
    amplitude = zarr.open_group(tmp_path / "f3.mdio", mode="r")["amplitude"][...]  # (23, 18, 75), inlines 111..
    np.testing.assert_array_equal(_section(tmp_path / "f3.mdio", inline=120).values, amplitude[9].T)
    with pytest.raises(ConfigError, match="inlines 111..133 step 1"):
        plot(tmp_path / "f3.mdio", tmp_path / "x.png", inline=99)
    result = plot(tmp_path / "f3.mdio", tmp_path / "f3.png", sample=150)
    assert result.title == "f3.mdio: time 148 ms" and _nontrivial(_png(tmp_path / "f3.png")[1])
    run_ingest(IngestConfig(segy=segy / "volve" / "volve10r12-full-z-il10117sub.sgy", out=tmp_path / "line.mdio",
                            header={"cdp": "21"}))  # fmt: skip
    line = plot(tmp_path / "line.mdio", tmp_path / "line.png")
    assert line.title == "line.mdio: 2D line" and _nontrivial(_png(tmp_path / "line.png")[1])
    with pytest.raises(ConfigError, match="does not apply to a 2D store"):
        plot(tmp_path / "line.mdio", tmp_path / "x.png", inline=10117)
