"""``seis infer MODEL VOLUME OUT``: a task checkpoint over a whole volume, into a co-registered prediction store."""

import json
import shutil
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from seiscli.config.infer import InferConfig
from seiscli.data.normalize import Normalization
from seiscli.errors import ConfigError, Interrupted
from seiscli.inference.windows import WindowLayout, chunk_bounds, chunk_indices, part_of, work_chunks
from seiscli.progress import Progress, SilentProgress
from seiscli.storage.location import is_remote
from seiscli.storage.provenance import Invocation, fingerprint, make_provenance


@dataclass
class InferResult:
    path: Path
    variables: list[str]
    chunks: int  # chunks of the whole prediction
    chunks_done: int  # written by this run
    chunks_skipped: int  # already done (--resume) or another part's
    remaining: int  # chunks of the whole prediction still missing
    windows: int
    seconds: float
    windows_per_second: float
    mb_per_second: float  # volume samples predicted per second, as float32 MB
    warnings: list[str] = field(default_factory=list)


def run_infer(cfg: InferConfig, invocation: Invocation | None = None, progress: Progress | None = None
              ) -> InferResult:  # fmt: skip
    """Check model against volume, prepare the store, then sweep this process's share of the chunks."""
    from seiscli.data.volume_patches import open_source, source_statistics
    from seiscli.inference.runner import Sweep, run_sweep
    from seiscli.storage.predictions import PredictionTarget

    started = time.perf_counter()
    card, predictor = load_predictor(cfg)
    source = open_source(cfg.volume, None, None)
    layout = _window_layout(card, cfg, source)
    _check_model_fits(card, predictor, layout, cfg)
    target_path = _check_target(cfg)
    normalization = source_statistics(source, card_normalization(card))
    store_chunks = source.volume.amplitude.chunks
    chunks = work_chunks(source.shape, ((1,) if len(store_chunks) == 2 else ()) + tuple(store_chunks), layout.box)
    variables = predictor.variables(cfg.probabilities)
    spec = _spec(cfg, card, predictor, layout, chunks, normalization)
    _prepare_target(cfg, target_path, source, variables, chunks, spec, invocation)
    target = PredictionTarget.open(target_path, variables)
    line = len(store_chunks) == 2
    done = {(0, *i) if line else i for i in target.done_chunks()}
    share = part_of(chunk_indices(source.shape, chunks), cfg.part_tuple())
    todo = [index for index in share if index not in done]
    sweep = Sweep(source, normalization, layout, cfg.overlap, cfg.blend, chunks, cfg.batch_size)
    finish = partial(predictor.finish, probabilities=cfg.probabilities)
    try:
        stats = run_sweep(sweep, todo, predictor, predictor.channels, finish, partial(_write, target, line),
                          cfg.workers, progress or SilentProgress())  # fmt: skip
    except KeyboardInterrupt:
        kept = len(chunk_indices(source.shape, chunks)) - len(target.missing_chunks())
        raise Interrupted(f"interrupted: {target_path} keeps its {kept} finished chunks; rerun with --resume "
                          "to finish it") from None  # fmt: skip
    voxels = sum(int(np.prod([b.stop - b.start for b in chunk_bounds(i, source.shape, chunks)])) for i in todo)
    seconds = max(stats.seconds, 1e-9)
    return InferResult(
        target_path, [v.name for v in variables], len(chunk_indices(source.shape, chunks)), stats.chunks,
        len(share) - len(todo), len(target.missing_chunks()), stats.windows, time.perf_counter() - started,
        stats.windows / seconds, 4 * voxels / 1e6 / seconds, _warnings(card, cfg),
    )  # fmt: skip


def load_predictor(cfg: InferConfig, optimize: bool = True):
    """The model's card and its Predictor; ``optimize=False`` runs the model exactly as loaded."""
    from seiscli.data.augment import Augment
    from seiscli.deploy.runtime import load_model
    from seiscli.inference.predictor import Predictor
    from seiscli.training.tasks import make_task

    card, model = load_model(cfg.model)  # a checkpoint (LoRA adapters folded in) or an ONNX export
    if card["task"]["name"] == "pretrain":
        raise ConfigError(f"{cfg.model} is a pretrained encoder: it has no task to predict",
                          "fine-tune it first: seis finetune DATASET OUT --task T --init CHECKPOINT")  # fmt: skip
    task = make_task(**card["task"])
    mirror = Augment.for_task(task.name).mirror_channels
    return card, Predictor(model, task, cfg.tta, cfg.precision, mirror, optimize)


def _window_layout(card: dict[str, Any], cfg: InferConfig, source) -> WindowLayout:
    """The windows the model was trained on: orientation from the card (or --axis), size from --patch or the card."""
    trained = list(card.get("sample_shape") or [])[1:]
    size = tuple(cfg.patch or (card.get("patch") or {}).get("size") or trained)
    if len(size) != len(trained):
        raise ConfigError(f"--patch {'x'.join(map(str, size))}: {cfg.model} takes {len(trained)}D windows"
                          f" ({'x'.join(map(str, trained))})")  # fmt: skip
    axes = list((card.get("patch") or {}).get("axes") or ["inline"])
    orientation = "cube" if len(size) == 3 else cfg.axis or axes[0]
    if len(size) == 2 and orientation not in axes:
        raise ConfigError(f"{cfg.model} was trained on {' and '.join(axes)} sections, not {orientation} ones",
                          f"choose --axis {' or --axis '.join(axes)}")  # fmt: skip
    if source.shape[0] == 1 and orientation != "inline":
        what = "cubes" if orientation == "cube" else f"{orientation} sections"
        raise ConfigError(f"{cfg.volume} is a 2D line: it has only inline sections; {cfg.model} predicts {what}",
                          "run a model trained on 2D sections (seis preprocess --axes inline)")  # fmt: skip
    return WindowLayout.make(orientation, size)


def _check_model_fits(card: dict[str, Any], predictor, layout: WindowLayout, cfg: InferConfig) -> None:
    """Volumes have one channel; one window of zeros shows the model takes the window size and keeps it."""
    if card["in_channels"] != 1:
        raise ConfigError(f"{cfg.model} takes {card['in_channels']} input channels; a volume store has 1",
                          "run a model trained on sections or cubes of a volume")  # fmt: skip
    window = tuple(layout.box[a] for a in layout.order)
    try:
        output = predictor(np.zeros((1, 1, *window), np.float32))
    except Exception as error:  # the model's own shape errors
        raise ConfigError(f"{cfg.model} cannot take {'x'.join(map(str, window))} windows: {error}".splitlines()[0],
                          "choose a --patch the model accepts (its training size works)") from error  # fmt: skip
    if tuple(output.shape[2:]) != window:
        raise ConfigError(f"{cfg.model} maps {'x'.join(map(str, window))} windows to"
                          f" {'x'.join(map(str, output.shape[2:]))} maps, not to the same grid",
                          "seis infer needs a model whose output is on its input's grid")  # fmt: skip


def card_normalization(card: dict[str, Any]) -> Normalization:
    """The training recipe; its statistics are recomputed on the volume as preprocess computes them
    (on the volume trained on this gives back the recorded ones)."""
    recipe = card.get("normalization") or {"method": "none"}
    return Normalization(recipe.get("method", "none"), recipe.get("clip", 3.0),
                         tuple(recipe.get("percentiles", (0.5, 99.5))), recipe.get("agcWindow", 64))  # fmt: skip


def _check_target(cfg: InferConfig) -> Path:
    """Where the prediction goes; fails early when it cannot be written."""
    from seiscli.errors import OutputExistsError

    if cfg.into:
        if is_remote(cfg.volume):
            raise ConfigError(f"--into writes into {cfg.volume}: only a local volume store can take it",
                              "write a separate prediction store OUT instead")  # fmt: skip
        return Path(cfg.volume).absolute()
    out = cfg.out.absolute()
    if not out.parent.is_dir():
        raise ConfigError(f"the folder of the output {out} does not exist", "create it first")
    if out.exists() and not (cfg.overwrite or cfg.resume or cfg.part):
        raise OutputExistsError(f"{out} already exists", "pass --overwrite to replace it, or --resume to finish it")
    return out


def _spec(cfg: InferConfig, card, predictor, layout: WindowLayout, chunks, normalization: Normalization) -> dict:
    """What decides the prediction's values: a store is only resumed or shared under the same spec."""
    spec = {"model": fingerprint(cfg.model), "modelName": card["model"]["name"], "task": predictor.task.spec(),
            "orientation": layout.orientation, "window": layout.box, "overlap": cfg.overlap, "blend": cfg.blend,
            "tta": cfg.tta, "precision": predictor.precision, "chunks": chunks,
            "variables": [v.name for v in predictor.variables(cfg.probabilities)],
            "normalization": normalization.to_attrs()}  # fmt: skip
    return json.loads(json.dumps(spec))  # as it reads back from the store


def _prepare_target(cfg: InferConfig, path: Path, source, variables, chunks, spec, invocation) -> None:
    from seiscli.storage.predictions import add_to_volume, create_or_join_store

    store_chunks = chunks[1:] if len(source.volume.dims) == 2 else chunks
    join = cfg.resume or cfg.part is not None
    if cfg.into:
        return add_to_volume(path, source.volume, variables, store_chunks, spec, join, cfg.overwrite)
    if cfg.overwrite and path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    inputs = [cfg.model, cfg.volume]
    provenance = {} if path.exists() else make_provenance(invocation or Invocation("seis infer"), cfg, inputs)
    create_or_join_store(path, source.volume, variables, store_chunks, spec, provenance, join)


def _write(target, line: bool, index, bounds, values) -> None:
    """A 2D line's store has no inline axis: drop it from the chunk's index, bounds and arrays."""
    if line:
        index, bounds, values = index[1:], bounds[1:], [v[0] for v in values]
    target.write(index, bounds, values)


def _warnings(card: dict[str, Any], cfg: InferConfig) -> list[str]:
    notes = []
    if cfg.probabilities and card["task"]["name"] == "velocity":
        notes.append("--probabilities: velocity is a regression, it has no probabilities")
    if not card.get("normalization"):
        notes.append(f"{cfg.model} records no normalization: the volume is fed as stored")
    return notes
