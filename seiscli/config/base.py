"""The strict model base and the layering of flags, config file and environment."""

import tomllib
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PositiveInt, ValidationError

from seiscli.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def comma_items(value: object) -> object:
    """``"a, b,c"`` -> ``("a", "b", "c")``: how lists are written on the command line."""
    return tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else value


def parse_size(text: str) -> tuple[int, ...]:
    """``"128x128"`` or ``"64,64,64"`` -> a tuple of ints (patch, chunk and shape options)."""
    return tuple(int(part) for part in text.lower().replace(",", "x").split("x") if part.strip())


def size_items(value: object) -> object:
    """``parse_size`` for strings; tuples and lists (a config file's) pass as they are."""
    return parse_size(value) if isinstance(value, str) else value


def listify(value: object) -> object:
    """One path or several: a single value becomes a list, paths become strings."""
    if isinstance(value, str | Path):
        return [str(value)]
    return [str(v) for v in value] if isinstance(value, list | tuple) else value


# Option types that also accept a comma-separated string.
CommaStrings = Annotated[tuple[str, ...], BeforeValidator(comma_items)]
Fractions3 = Annotated[tuple[float, float, float], BeforeValidator(comma_items)]
FloatPair = Annotated[tuple[float, float], BeforeValidator(comma_items)]
CommaInts = Annotated[tuple[PositiveInt, ...], BeforeValidator(comma_items)]
# Sizes written "128x128" or "64,64,64" on the command line.
SizePair = Annotated[tuple[PositiveInt, PositiveInt], BeforeValidator(size_items)]
Size3 = Annotated[tuple[PositiveInt, PositiveInt, PositiveInt], BeforeValidator(size_items)]
Sizes = Annotated[tuple[PositiveInt, ...], BeforeValidator(size_items)]
# One location or several (stores, files): a single one is a list of one.
Locations = Annotated[list[str], BeforeValidator(listify)]


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
    if not isinstance(section, dict):
        return data
    stray = [key for key, value in data.items() if not isinstance(value, dict)]
    if stray:
        raise ConfigError(
            f"config file {path}: {', '.join(map(repr, stray))} must go inside the [{command}] table",
            f"move the option(s) under [{command}] or drop the table and keep every option at the top",
        )
    return dict(section)


def resolve(model: type[M], *layers: dict[str, Any]) -> M:
    """Validate the merge of ``layers``, later ones winning (env, then file, then flags)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k.replace("-", "_"): v for k, v in layer.items() if v is not None})
    try:
        return model(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])  # empty for a check across options
        message = first["msg"].removeprefix("Value error, ")
        text = f"--{where.replace('_', '-')}: {message}" if where else message
        more = len(exc.errors()) - 1
        hint = (
            f"fix this option ({more} more problem(s) after it); see seis <command> --help"
            if more
            else "see seis <command> --help"
        )
        raise ConfigError(text, hint) from exc
