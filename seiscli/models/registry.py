"""The model registry: every model is built by name through ``create_model``.

A family module registers entry functions::

    @register_model
    def unet(**kwargs) -> UNet:
        return _create_unet(**{"depth": 4, "width": 16, **kwargs})

The entry function sets the hyperparameters and builds through the family's ``_create_*``, which
records the resolved constructor kwargs in ``model.card_args``. ``create_model`` adds the registry
name, so a checkpoint rebuilds its model with ``create_model(card["name"], **card["kwargs"])``.
The card is passed through JSON once here, so it holds exactly what a checkpoint will read back
(tuples become lists; constructors accept both).

Most models map an input (B, C, H, W) to an output of the same H, W. A model registered with
``@register_model(takes_out_size=True)`` maps it to a map of another size, given as ``out_size``
(shot gathers to a velocity model): ``seis finetune`` passes the dataset's target size to it.
"""

import fnmatch
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from seiscli.errors import ConfigError


@dataclass(frozen=True)
class ModelEntry:
    name: str
    fn: Callable[..., nn.Module]
    module: str
    doc: str
    takes_out_size: bool = False  # built with out_size=(H, W): the size of its output maps


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(fn: Callable[..., nn.Module] | None = None, *, takes_out_size: bool = False):
    """Register ``fn`` under its own name; a second model of the same name is a bug and raises.

    Used bare (``@register_model``) or with options (``@register_model(takes_out_size=True)``).
    """
    if fn is None:
        return functools.partial(register_model, takes_out_size=takes_out_size)
    name = fn.__name__
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered by {_REGISTRY[name].module}")
    doc = (fn.__doc__ or "").strip().splitlines()
    _REGISTRY[name] = ModelEntry(name, fn, fn.__module__, doc[0] if doc else "", takes_out_size)
    return fn


def list_models(pattern: str | None = None) -> list[str]:
    """Registered names, sorted; ``pattern`` is a shell wildcard such as ``"tiny_*"``."""
    names = sorted(_REGISTRY)
    return names if pattern is None else fnmatch.filter(names, pattern)


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; an unknown name is a user error that lists the choices."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}", hint=f"choose one of: {', '.join(list_models())}") from None


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name``; ``kwargs`` override the entry's defaults.

    Common kwargs: ``in_channels``, ``num_classes``; timm-backed models also take ``weights=PATH``.
    """
    model = model_entry(name).fn(**kwargs)
    resolved = getattr(model, "card_args", {}).get("kwargs")
    if resolved is None:
        raise TypeError(f"model {name!r} was not built through a _create_* function (no card_args)")
    model.card_args = json.loads(json.dumps({"name": name, "kwargs": resolved}))
    return model


def card_args(kwargs: dict) -> dict:
    """What a ``_create_*`` function stores on its model: the resolved kwargs, minus a weights path.

    The weights file only initializes the model; a checkpoint holds the trained weights itself and
    must not point at a file that may not exist where it is loaded.
    """
    return {"kwargs": {k: v for k, v in kwargs.items() if k != "weights"}}
