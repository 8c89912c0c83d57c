"""seis infer with real tiny models on a tiny ingested survey: exactness, stores, resume, parts, errors."""

import numpy as np
import pytest
import torch
import zarr

from seiscli.config.infer import InferConfig
from seiscli.data.normalize import Normalization
from seiscli.data.volume_patches import open_source, source_statistics
from seiscli.stages.infer import run_infer
from tests.inference.conftest import identity_unet, save_identity_checkpoint


def infer(model, volume, out, **options):
    return run_infer(InferConfig(model=model, volume=str(volume), out=out, precision="fp32", **options))


def normalized_volume(volume) -> np.ndarray:
    source = open_source(str(volume), None, None)
    normalization = source_statistics(source, Normalization("zscore"))
    return normalization.apply(source.volume.amplitude[...])


def test_identity_unet_is_the_identity():
    x = torch.randn(2, 1, 13, 21)
    assert torch.equal(identity_unet(1)(x), x)
    assert torch.equal(identity_unet(2)(x)[:, 1:], x) and not identity_unet(2)(x)[:, 0].any()


@pytest.mark.parametrize("blend", ["gaussian", "hann", "constant"])
@pytest.mark.parametrize(("axis", "size"), [("inline", (16, 12)), ("crossline", (12, 16)), ("sample", (8, 8))])
def test_identity_model_gives_back_the_normalized_volume(survey, tmp_path, blend, axis, size):
    volume = survey[0]
    model = save_identity_checkpoint(tmp_path / "m.safetensors", size=size, axes=(axis,))
    result = infer(model, volume, tmp_path / "p.zarr", blend=blend, overlap=0.5)
    assert result.remaining == 0 and result.chunks_done == result.chunks > 1
    velocity = zarr.open_group(tmp_path / "p.zarr", mode="r")["velocity"][...]
    expected = (normalized_volume(volume) + 1) * 1500 + 1500  # the task's [-1, 1] -> [1500, 4500] m/s
    np.testing.assert_allclose(velocity, expected, rtol=0, atol=2e-3)
