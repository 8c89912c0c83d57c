"""The inference contenders, each run in its own process so that its peak memory is its own:
``python -m seiscli.bench.infer_contenders NAME REPORT MODEL VOLUME OUT OVERLAP BATCH``.

Both run the same checkpoint through seis's ``Predictor`` (same precision, same softmax) over the
same windows, weights and batches: what differs is how the volume reaches the model. Each times
its own work (checkpoint load to finished class ids, not the interpreter's start) and writes
``{"seconds", "windows"}`` as JSON to REPORT.
"""

import json
import sys
import time
from pathlib import Path


def seis_infer(model: Path, volume: str, out: Path, overlap: float, batch_size: int) -> dict:
    """seis's streaming inference (the ``run_infer`` stage) into a prediction store."""
    from seiscli.config.infer import InferConfig
    from seiscli.stages.infer import run_infer

    started = time.perf_counter()
    cfg = InferConfig(model=model, volume=volume, out=out, overlap=overlap, blend="gaussian",
                      batch_size=batch_size, precision="fp32", overwrite=True)  # fmt: skip
    result = run_infer(cfg)
    return {"seconds": time.perf_counter() - started, "windows": result.windows}


def monai_infer(model: Path, volume: str, out: Path, overlap: float, batch_size: int) -> dict:
    """MONAI's sliding_window_inference over the whole normalized volume, held in memory as it needs.

    The inline sections are stacked as one batch of images (I, 1, X, T), so MONAI fills its window
    batches across sections as seis does across a chunk; the class ids are saved as .npy to OUT. The
    model runs as loaded: folding its BatchNorms and the channels-last layout are seis's own doing.
    """
    import numpy as np
    import torch
    from monai.inferers import sliding_window_inference

    from seiscli.config.infer import InferConfig
    from seiscli.data.volume_patches import open_source, source_statistics
    from seiscli.stages.infer import card_normalization, load_predictor

    started = time.perf_counter()
    cfg = InferConfig(model=model, volume=volume, out=out, precision="fp32")
    card, predictor = load_predictor(cfg, optimize=False)  # the model as a MONAI user runs it
    source = open_source(volume, None, None)
    normalization = source_statistics(source, card_normalization(card))
    raw = np.nan_to_num(source.volume.amplitude[...], nan=0.0, posinf=0.0, neginf=0.0)  # (I, X, T)
    sections = torch.from_numpy(normalization.apply(raw, time_axis=-1)[:, None])  # (I, 1, X, T)
    windows = 0

    def predict(batch: torch.Tensor) -> torch.Tensor:  # (B, 1, wx, wt) -> (B, K, wx, wt)
        nonlocal windows
        windows += len(batch)
        return torch.from_numpy(predictor(batch.numpy()))

    with torch.inference_mode():
        maps = sliding_window_inference(sections, tuple(card["patch"]["size"]), batch_size, predict,
                                        overlap=overlap, mode="gaussian", padding_mode="reflect")  # fmt: skip
    ids = predictor.finish(maps.numpy().transpose(1, 0, 2, 3), probabilities=False)[0]  # (I, X, T)
    np.save(out, ids)
    return {"seconds": time.perf_counter() - started, "windows": windows}


CONTENDERS = {"seis": seis_infer, "monai": monai_infer}

if __name__ == "__main__":
    name, report, model, volume, out, overlap, batch_size = sys.argv[1:]
    measured = CONTENDERS[name](Path(model), volume, Path(out), float(overlap), int(batch_size))
    Path(report).write_text(json.dumps(measured))
