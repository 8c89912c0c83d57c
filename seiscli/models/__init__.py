"""The model zoo: a registry of named models, each with the interface
``forward_features`` / ``forward_head`` / ``reset_head`` (masked autoencoders: ``forward`` -> MAEOutput).

``forward_head(features, size)`` gives maps of spatial ``size``: the input's own for segmentation, the
model's ``out_size`` for a model that maps shot gathers to a velocity map (``takes_out_size``).

Importing this package imports torch and registers every family; timm is imported only when a
timm-backed model is built.
"""

from seiscli.models import inversionnet, mae, segmenter, shot_unet, unet, vit3d  # noqa: F401  (registration happens on import)
from seiscli.models.registry import create_model, list_models, model_entry, register_model

__all__ = ["create_model", "list_models", "model_entry", "register_model"]
