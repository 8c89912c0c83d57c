"""The engine's schedule and what it tells the progress bar."""

import pytest

from seiscli.config.finetune import FinetuneConfig
from seiscli.data.augment import AugmentConfig
from seiscli.errors import ConfigError
from seiscli.training.engine import EngineOptions, warmup_cosine


def test_warmup_then_cosine_to_the_floor():
    factor = warmup_cosine(total_steps=110, warmup_steps=10, min_ratio=0.01)
    warm_up = [factor(s) for s in (0, 4, 9)]
    assert warm_up == pytest.approx([0.1, 0.5, 1.0])  # linear
    assert factor(10) == pytest.approx(1.0)
    assert factor(60) == pytest.approx(0.01 + 0.99 * 0.5)  # half way down the cosine
    assert factor(110) == pytest.approx(0.01) and factor(500) == pytest.approx(0.01)


def test_restarts_split_the_decay_into_equal_cycles():
    factor = warmup_cosine(total_steps=100, warmup_steps=0, min_ratio=0.0, restarts=1)
    assert factor(0) == pytest.approx(1.0) and factor(25) == pytest.approx(0.5)
    assert factor(49) < 0.01 and factor(50) == pytest.approx(1.0)  # the second cycle starts from the top
    assert factor(75) == pytest.approx(0.5) and factor(100) == pytest.approx(0.0)


def test_augment_takes_a_table_or_a_switch():
    base = {"dataset": "d.zarr", "out": "run", "task": "salt"}
    assert FinetuneConfig(**base).augment is True
    assert FinetuneConfig(**base, augment=False).augment is False
    tuned = FinetuneConfig(**base, augment={"noise": 0.0, "max_shift": 2})
    assert tuned.augment == AugmentConfig(noise=0.0, max_shift=2)
    with pytest.raises(ValueError):
        FinetuneConfig(**base, augment={"nosie": 0.0})


def test_layer_decay_slows_the_early_vit_blocks_and_leaves_the_head_at_full_rate():
    from seiscli.models import create_model
    from seiscli.training.engine import make_optimizer

    model = create_model("tiny_vit8_unetr", num_classes=2)  # 3 blocks
    optimizer = make_optimizer(model, EngineOptions(lr=1.0, layer_decay=0.5))
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    named = dict(model.named_parameters())
    assert rate[id(named["backbone.model.patch_embed.proj.weight"])] == 0.5**3
    assert rate[id(named["backbone.model.blocks.0.attn.qkv.weight"])] == 0.5**2
    assert rate[id(named["backbone.model.blocks.2.mlp.fc2.weight"])] == 1.0 * 0.5**0
    assert rate[id(named["decoder.classifier.weight"])] == 1.0
    assert len(rate) == len(named)
    no_decay = {id(p) for g in optimizer.param_groups if g["weight_decay"] == 0 for p in g["params"]}
    assert id(named["backbone.model.blocks.0.norm1.weight"]) in no_decay


def test_layer_decay_wants_a_vit():
    from seiscli.models import create_model
    from seiscli.training.engine import make_optimizer

    with pytest.raises(ConfigError, match="ViT backbone"):
        make_optimizer(create_model("tiny_unet"), EngineOptions(layer_decay=0.75))
