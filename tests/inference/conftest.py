"""A tiny ingested survey and checkpoints of a U-Net whose weights make it the identity."""

import pytest
import torch

from seiscli.config.ingest import IngestConfig
from seiscli.config.synth import SynthConfig
from seiscli.models import create_model
from seiscli.stages.ingest import run_ingest
from seiscli.stages.synth import run_synth
from seiscli.training.checkpoint import save_weights
from seiscli.training.tasks import make_task


@pytest.fixture(scope="session")
def survey(tmp_path_factory):
    """(volume store, label store, SEG-Y) of a 20 x 18 x 40 salt survey, stored in 8 x 8 x 16 chunks."""
    folder = tmp_path_factory.mktemp("survey")
    run_synth(SynthConfig(kind="salt", out_dir=folder / "s", shape=(20, 18, 40), seed=3, workers=1))
    segy = folder / "s" / "salt-0000.sgy"
    run_ingest(IngestConfig(segy=segy, out=folder / "v.mdio", chunks=(8, 8, 16)))
    return folder / "v.mdio", folder / "s" / "salt-0000.labels.zarr", segy


def identity_unet(num_classes: int):
    """tiny_unet computing x (velocity: one output) or logits (0, x) (binary: P(foreground) = sigmoid(x)).

    The stem splits x into relu(x) and relu(-x), the skip connection carries them to the last
    decoder block (whose upsampled input is zeroed) and the 1x1 classifier subtracts them again.
    """
    model = create_model("tiny_unet", num_classes=num_classes)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.fill_(1)
                module.running_mean.zero_()
                module.running_var.fill_(1 - module.eps)
        stem_split, stem_keep = model.stem[0][0].weight, model.stem[1][0].weight
        stem_split[0, 0, 1, 1], stem_split[1, 0, 1, 1] = 1, -1
        stem_keep[0, 0, 1, 1] = stem_keep[1, 1, 1, 1] = 1
        last = model.ups[-1].conv
        skip = last[0][0].weight.shape[1] // 2  # the skip's channels follow the upsampled ones
        last[0][0].weight[0, skip, 1, 1] = last[0][0].weight[1, skip + 1, 1, 1] = 1
        last[1][0].weight[0, 0, 1, 1] = last[1][0].weight[1, 1, 1, 1] = 1
        model.classifier.weight[-1, :2, 0, 0] = torch.tensor([1.0, -1.0])
    return model.eval()


def save_identity_checkpoint(path, task="velocity", size=(16, 16), axes=("inline",), normalization=None):
    model = identity_unet(1 if task == "velocity" else 2)
    spec = make_task(task).spec() if task == "velocity" else make_task(task, ["background", task]).spec()
    card = {"model": model.card_args, "task": spec, "classes": spec.get("class_names"), "in_channels": 1,
            "sample_shape": [1, *size], "patch": {"axes": list(axes), "size": list(size)},
            "normalization": normalization or {"method": "zscore", "clip": 3.0, "percentiles": [0.5, 99.5],
                                               "agcWindow": 64}}  # fmt: skip
    save_weights(path, model.state_dict(), card)
    return path


@pytest.fixture
def identity_velocity(tmp_path):
    return save_identity_checkpoint(tmp_path / "identity.safetensors")
