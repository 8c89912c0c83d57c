"""``seis pretrain DATASET... OUT``: masked-autoencoder pretraining; best/last checkpoints in OUT.

The dataset stores are read as one corpus (their train splits for training, their val splits for the
validation loss); labels, if a store has any, are not read. The checkpoints hold the whole masked
autoencoder; its encoder (``backbone.*``) is what ``seis finetune --init`` takes into a segmenter.
"""

import time
from typing import Any

from seiscli.config.pretrain import PretrainConfig
from seiscli.errors import ConfigError
from seiscli.progress import Progress
from seiscli.stages.training import TrainingResult, make_loaders, make_trainer, start_run, summarize_run, train
from seiscli.storage.provenance import Invocation, make_provenance

PREVIEW_SAMPLES = 4


def run_pretrain(cfg: PretrainConfig, invocation: Invocation | None = None,
                 progress: Progress | None = None) -> TrainingResult:  # fmt: skip
    """Open the corpus, build the masked autoencoder and the engine; train; keep best and last; preview."""
    from seiscli.training.distributed import barrier
    from seiscli.training.reconstruction import MaskedReconstructionTask

    started = time.perf_counter()
    stores = _open_corpus(cfg.datasets)
    _check_outputs(cfg)
    world, device, progress = start_run(cfg, progress)
    task = MaskedReconstructionTask()
    model = _make_model(cfg, tuple(stores[0].x.shape[1:]))
    loaders = make_loaders(cfg, cfg.datasets, task.name, world, inputs_only=True)
    trainer = make_trainer(cfg, model, task, loaders, progress, world, device)
    train(cfg, trainer, _card(cfg, stores, task, model, invocation), world)
    if cfg.preview is not None and world.is_main:
        _write_preview(cfg, trainer)
    barrier()
    return summarize_run(cfg.out, time.perf_counter() - started)


def _open_corpus(paths: list[str]) -> list:
    """The dataset stores, whose samples must share one shape to share a batch."""
    from seiscli.storage.dataset import open_dataset

    stores = [open_dataset(path) for path in paths]
    shapes = [tuple(store.x.shape[1:]) for store in stores]
    if len(set(shapes)) > 1:
        listing = ", ".join(f"{path} {'x'.join(map(str, shape))}" for path, shape in zip(paths, shapes))
        raise ConfigError(f"the datasets' samples differ in shape: {listing}",
                          "preprocess them with one --patch (and as many channels) to pretrain on them together")  # fmt: skip
    return stores


def _check_outputs(cfg: PretrainConfig) -> None:
    """Refuse a model that is no masked autoencoder, or an existing preview, before any work."""
    from seiscli.models import list_models
    from seiscli.models.mae import is_masked_autoencoder
    from seiscli.storage.atomic import check_writable

    if not is_masked_autoencoder(cfg.model):
        raise ConfigError(f"{cfg.model} is not a masked autoencoder",
                          f"choose one of: {', '.join(n for n in list_models() if is_masked_autoencoder(n))}")  # fmt: skip
    if cfg.preview is not None:
        check_writable(cfg.preview, cfg.overwrite or cfg.resume)


def _make_model(cfg: PretrainConfig, shape: tuple[int, ...]):
    """The masked autoencoder for samples of ``shape`` (C, H, W) or (C, D, H, W).

    A 2D ViT's position grid is made the size of the (padded) samples, so it is learned where it is
    used; ``seis finetune`` builds its segmenter on the same grid.
    """
    import torch

    from seiscli.models import create_model
    from seiscli.models.segmenter import vit_grid_options

    options = {"in_channels": shape[0], "mask_ratio": cfg.mask_ratio}
    with torch.device("meta"):  # its dimensionality, at no cost
        probe = create_model(cfg.model, **options)
    if probe.spatial_dims != len(shape) - 1:
        kind = {2: "sections (C, H, W)", 3: "cubes (C, D, H, W)"}
        raise ConfigError(f"{cfg.model} takes {kind[probe.spatial_dims]}; the datasets hold samples of {list(shape)}",
                          f"choose a {'3D' if len(shape) == 4 else '2D'} masked autoencoder")  # fmt: skip
    return create_model(cfg.model, **options, **vit_grid_options(cfg.model, shape[1:], **options))


def _card(cfg: PretrainConfig, stores: list, task, model, invocation: Invocation | None) -> dict[str, Any]:
    normalizations = [store.attrs.get("normalization") for store in stores]
    return {
        "model": model.card_args,
        "task": task.spec(),
        "classes": None,
        "in_channels": stores[0].x.shape[1],
        "sample_shape": list(stores[0].x.shape[1:]),
        "normalization": normalizations[0] if all(n == normalizations[0] for n in normalizations) else None,
        "encoder": {"prefix": "backbone.", "finetune_models": model.finetune_models},
        "corpus": [
            {"path": path, "task": store.attrs["task"], "samples": len(store), "normalization": norm}
            for path, store, norm in zip(cfg.datasets, stores, normalizations)
        ],  # fmt: skip
        "training": cfg.model_dump(mode="json"),
        "provenance": make_provenance(invocation or Invocation("seis pretrain"), cfg, cfg.datasets, cfg.seed),
    }


def _write_preview(cfg: PretrainConfig, trainer) -> None:
    """A few validation samples (train ones when there is no val split), masked and reconstructed."""
    import torch

    from seiscli.data.loader import make_loader
    from seiscli.storage.atomic import atomic_output
    from seiscli.viz.preview import preview_reconstructions

    loader = make_loader(cfg.datasets, "val", PREVIEW_SAMPLES, 0, shuffle=False, inputs_only=True)
    if len(loader) == 0:
        loader = make_loader(cfg.datasets, "train", PREVIEW_SAMPLES, 0, shuffle=False, inputs_only=True)
    x = next(iter(loader)).to(trainer.device)  # (n, C, *S)
    with torch.no_grad(), trainer.autocast:
        images = trainer.evaluation_model().reconstruct(x)
    mask, reconstruction = (image.float().cpu().numpy() for image in images)
    with atomic_output(cfg.preview, cfg.overwrite or cfg.resume) as tmp:
        preview_reconstructions(x.cpu().numpy(), mask, reconstruction, tmp)
