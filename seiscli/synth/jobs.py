"""Work done in a worker process: one survey, or one batch of velocity models, per call.

Each job gets its own ``SeedSequence`` child, so results depend on the seed only, never on
how jobs are spread over processes.
"""

from pathlib import Path
from typing import Any

import numpy as np

from seiscli.storage.labels import LabelVariable, write_label_store
from seiscli.storage.segy_create import NewSegy

BIN_SIZE_M = 25.0  # spacing of the synthetic survey's CDP grid
ORIGIN_M = (500_000.0, 6_000_000.0)


def survey_coords(shape: tuple[int, ...], interval_ms: float) -> dict[str, np.ndarray]:
    """The coordinates ``seis ingest`` gives the survey's SEG-Y: inline/crossline (or CDP) from 1."""
    samples = (np.arange(shape[-1]) * interval_ms).astype(np.int32)
    if len(shape) == 2:
        return {"cdp": np.arange(1, shape[0] + 1, dtype=np.int32), "time": samples}
    return {
        "inline": np.arange(1, shape[0] + 1, dtype=np.int32),
        "crossline": np.arange(1, shape[1] + 1, dtype=np.int32),
        "time": samples,
    }


def write_survey_segy(path: Path, seismic: np.ndarray, interval_ms: float, text: list[str]) -> None:
    """A 3D cube (I, X, S) or 2D line (C, S) as SEG-Y with standard headers, inline-sorted."""
    traces = seismic.reshape(-1, seismic.shape[-1])  # (I*X, S) or (C, S)
    number = np.arange(len(traces))
    if seismic.ndim == 2:  # a 2D line: numbered by CDP (byte 21), no inline/crossline
        inline = crossline = np.zeros(len(traces), np.int32)
        cdp = number + 1
        x, y = ORIGIN_M[0] + BIN_SIZE_M * number, np.full(len(traces), ORIGIN_M[1])
    else:
        inline, crossline = 1 + number // seismic.shape[1], 1 + number % seismic.shape[1]
        cdp = crossline
        x, y = ORIGIN_M[0] + BIN_SIZE_M * crossline, ORIGIN_M[1] + BIN_SIZE_M * inline
    with NewSegy(path, seismic.shape[-1], round(interval_ms * 1000), "ieee", text) as segy:
        segy.write(traces, inline, crossline, cdp, x, y)


def geology_job(kind: str, shape: tuple[int, ...], seed: np.random.SeedSequence, segy_path: Path,
                labels_path: Path, attributes: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Make one survey; write its SEG-Y and its co-registered label store; return its facts."""
    from seiscli.synth.geology import make_survey

    survey = make_survey(kind, shape, np.random.default_rng(seed))
    text = [f"SYNTHETIC {kind.upper()} SURVEY MADE BY seis synth", f"SEED ENTROPY {seed.entropy} SPAWN {seed.spawn_key}",
            f"SHAPE {' x '.join(map(str, shape))}, {survey.sample_interval_ms:g} MS SAMPLING, TIME DOMAIN"]  # fmt: skip
    write_survey_segy(segy_path, survey.seismic, survey.sample_interval_ms, text)
    variables = {
        task: LabelVariable(values, class_names=survey.class_names.get(task)) for task, values in survey.labels.items()
    }
    coords = survey_coords(shape, survey.sample_interval_ms)
    write_label_store(
        labels_path, coords, variables, {**attributes, "segy": segy_path.name}, chunks=(128,) * len(shape)
    )
    return survey.info


def fwi_job(families: list[str], seeds: list[np.random.SeedSequence], grid: tuple[int, int],
            acquisition_options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Velocity models (B, H, W) and their shot gathers (B, shots, time, receivers)."""
    from seiscli.synth.fwi import Acquisition, simulate, velocity_model

    models = np.stack([velocity_model(f, np.random.default_rng(s), grid) for f, s in zip(families, seeds)])
    return models, simulate(models, Acquisition(**acquisition_options))


def single_threaded_torch() -> None:
    """Worker initializer: one torch thread per process, as many processes as cores."""
    import torch

    torch.set_num_threads(1)
