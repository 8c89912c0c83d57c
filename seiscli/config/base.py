"""The strict model base and the layering of flags, config file and environment."""

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from seiscli.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """A typo is an error, not a silent default; a resolved config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load_config_file(path: Path, command: str) -> dict[str, Any]:
    """Options for ``command`` from a TOML or YAML file: its ``[command]`` table, or the whole file."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", "check the --config path")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except Exception as exc:  # both parsers raise their own error types
        raise ConfigError(f"cannot parse config file {path}: {exc}".splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of options")
    section = data.get(command)
    return dict(section) if isinstance(section, dict) else data


def resolve(model: type[M], *layers: dict[str, Any]) -> M:
    """Validate the merge of ``layers``, later ones winning (env, then file, then flags)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k.replace("-", "_"): v for k, v in layer.items() if v is not None})
    try:
        return model(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        option = "--" + where.replace("_", "-")
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{option}: {message}", f"{len(exc.errors())} problem(s) in the options") from exc
