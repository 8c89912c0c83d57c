"""Image tile folders: seismic tiles and their masks as PNG, TIFF or NPY files, plus split files.

Layout::

    <folder>/images/<id>.png|.tif|.tiff|.npy   one tile per file ("image/" also accepted)
    <folder>/masks/<id>.<suffix>               its mask, same stem ("mask/", "labels/", "label/" also accepted);
                                               no mask folder at all means unlabelled tiles (pretraining)
    split file                                 JSON {"train": [ids], "val": [ids], "test": [ids]} or lines "id,split"

Images keep the file's own value range: normalization comes later, from dataset statistics.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seiscli.errors import ConfigError, InputNotFoundError, NotAnArtifactError
from seiscli.storage.dataset import SPLITS, assign_splits

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".npy")
_IMAGE_DIRS = ("images", "image")
_MASK_DIRS = ("masks", "mask", "labels", "label")
_SPLIT_CODES = {name: code for code, name in enumerate(SPLITS)}  # train 0, val 1, test 2
_SHOWN = 3  # ids named in an error message
_PIL_NATIVE = ("1", "L", "I", "F", "RGB", "I;16", "I;16L", "I;16B", "I;16N")  # modes numpy reads as they are


@dataclass(frozen=True)
class Tile:
    """One image file and its mask file, paired by file stem."""

    id: str
    image: Path
    mask: Path | None  # None when the folder has no masks (unlabelled, e.g. for pretraining)


def _first(ids: Iterable[str]) -> str:
    """The first few ids, quoted: repr keeps a message on one line whatever a file name holds."""
    ids = list(ids)
    return ", ".join(repr(i) for i in ids[:_SHOWN]) + (", ..." if len(ids) > _SHOWN else "")


# ---------------------------------------------------------------------------------------- folders


def _subfolder(folder: Path, names: tuple[str, ...]) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.lower() in names)
    if len(found) > 1:
        raise NotAnArtifactError(f"{folder} has both {found[0].name}/ and {found[1].name}/", "keep only one of them")
    return found[0] if found else None


def _files_by_stem(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:  # "._x.png": macOS metadata
            continue
        if path.stem in files:
            raise NotAnArtifactError(
                f"{folder} has two files for tile {path.stem!r}: {files[path.stem].name} and {path.name}",
                "keep one file per tile",
            )
        files[path.stem] = path
    return files


def _check_pairs(images: dict[str, Path], masks: dict[str, Path], image_dir: Path, mask_dir: Path) -> None:
    unmasked = sorted(images.keys() - masks.keys())
    if unmasked:
        raise NotAnArtifactError(
            f"{len(unmasked)} of {len(images)} images in {image_dir} have no mask in {mask_dir} (first: {_first(unmasked)})",
            f"add the missing masks, or remove {mask_dir.name}/ to use the tiles unlabelled",
        )
    orphans = sorted(masks.keys() - images.keys())
    if orphans:
        raise NotAnArtifactError(
            f"{len(orphans)} masks in {mask_dir} have no image in {image_dir} (first: {_first(orphans)})",
            "add the missing images or remove those masks",
        )


def find_tiles(folder: Path) -> list[Tile]:
    """The tiles of ``folder`` (images/ and optional masks/), paired by file stem and sorted by id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFoundError(f"{folder} is not a folder", "give the folder that holds images/ and masks/")
    image_dir = _subfolder(folder, _IMAGE_DIRS)
    if image_dir is None:
        raise NotAnArtifactError(
            f"{folder} has no images/ subfolder", "put the tiles in images/ and the masks in masks/"
        )
    images = _files_by_stem(image_dir)
    if not images:
        raise NotAnArtifactError(f"no {', '.join(IMAGE_SUFFIXES)} files in {image_dir}", "put the image tiles there")
    mask_dir = _subfolder(folder, _MASK_DIRS)
    if mask_dir is None:
        return [Tile(i, images[i], None) for i in sorted(images)]
    masks = _files_by_stem(mask_dir)
    _check_pairs(images, masks, image_dir, mask_dir)
    return [Tile(i, images[i], masks[i]) for i in sorted(images)]


# ---------------------------------------------------------------------------------------- files


def _read_pil(path: Path, palette_as_ids: bool) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.mode in ("P", "PA") and palette_as_ids:
                image = image.getchannel(0)  # palette masks (VOC style): the indexes are the class ids
            elif image.mode in ("LA", "La"):
                image = image.getchannel(0)  # alpha says where a tile is drawn, not what it holds
            elif image.mode not in _PIL_NATIVE:
                image = image.convert("RGB")  # palette, RGBA, CMYK, YCbCr ...: the colours it shows
            array = np.asarray(image)  # (H, W) or (H, W, 3)
    except (UnidentifiedImageError, OSError) as exc:
        raise NotAnArtifactError(f"{path} is not a readable image ({type(exc).__name__})", "re-export it") from exc
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)  # (C, H, W)


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise NotAnArtifactError(f"{path} is not a readable .npy array ({type(exc).__name__})", "re-save it") from exc
    if array.dtype.kind not in "biuf" or array.ndim not in (2, 3):
        raise NotAnArtifactError(
            f"{path} holds a {array.ndim}-D {array.dtype} array",
            "save one tile per file as a real-valued (H, W), (C, H, W) or (H, W, C) array",
        )
    if array.ndim == 2:
        return array[None]  # (1, H, W)
    return array if array.shape[0] <= 4 else array.transpose(2, 0, 1)  # (C, H, W) from (C, H, W) or (H, W, C)


def _read_array(path: Path, palette_as_ids: bool) -> np.ndarray:
    """The file's values as stored, (C, H, W)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise NotAnArtifactError(f"{path} is not an image tile", f"use one of {', '.join(IMAGE_SUFFIXES)}")
    if not path.is_file():
        raise InputNotFoundError(f"{path} does not exist", "check the tile folder")
    return _read_npy(path) if suffix == ".npy" else _read_pil(path, palette_as_ids)


def _same_channels(array: np.ndarray) -> bool:
    nan_aware = array.dtype.kind == "f"  # NaN != NaN; the NaN-aware test costs time, so only for floats
    return all(np.array_equal(array[0], channel, equal_nan=nan_aware) for channel in array[1:])  # (H, W) each


def read_image(path: Path) -> np.ndarray:
    """A tile as float32 (C, H, W) in the file's own value range; grey stored as RGB gives C = 1."""
    array = _read_array(path, palette_as_ids=False)  # (C, H, W)
    if array.shape[0] == 3 and _same_channels(array):
        array = array[:1]  # (1, H, W): seismic tiles are grey saved as RGB
    return array.astype(np.float32)


def _map_classes(raw: np.ndarray, classes: dict[int, int], path: Path) -> np.ndarray:
    bad_ids = sorted(c for c in classes.values() if not 0 <= c <= 255)
    if bad_ids:
        raise ConfigError(f"class id {bad_ids[0]} does not fit in 0..255", "number the classes 0, 1, 2 ...")
    values, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)  # (V,), (H*W,), (V,)
    unknown = [(v, n) for v, n in zip(values.tolist(), counts.tolist()) if v not in classes]
    if unknown:
        (value, pixels), more = unknown[0], len(unknown) - 1
        raise ConfigError(
            f"{path} has mask value {value} ({pixels} pixels{f'; {more} more unknown values' if more else ''})"
            f" that the class map {sorted(classes)} does not list",
            f"add it to the class map, e.g. {value}: <class id>",
        )
    lookup = np.array([classes[v] for v in values.tolist()], dtype=np.uint8)  # (V,) raw value index -> class id
    return lookup[inverse].reshape(raw.shape)  # (H, W)


def read_mask(path: Path, classes: dict[int, int] | None = None) -> np.ndarray:
    """A mask as uint8 (H, W) class ids: ``value > 0`` without ``classes``, else raw value -> class id."""
    array = _read_array(path, palette_as_ids=True)  # (C, H, W)
    if not _same_channels(array):
        raise NotAnArtifactError(f"{path} is a colour mask (its channels differ)", "save masks as one channel of ids")
    raw = array[0]  # (H, W)
    if classes is None:
        return (raw > 0).astype(np.uint8)  # any bit depth: 8-bit 0/255, 16-bit 0/65535, float
    return _map_classes(raw, classes, path)


# ---------------------------------------------------------------------------------------- splits


def _json_entries(text: str, path: Path) -> list[tuple[str, str, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}", "fix the file") from exc
    parts = [key for key in data if key in SPLITS] if isinstance(data, dict) else []
    if not parts:
        raise ConfigError(f"{path} has none of the keys {', '.join(SPLITS)}", 'write {"train": [ids], "test": [ids]}')
    lists = [key for key, value in data.items() if isinstance(value, list) and key not in SPLITS]
    if lists:  # a list under another key is a misspelt split, not metadata such as "description"
        raise ConfigError(f"{path} has an unknown split {lists[0]!r}", f"use {', '.join(SPLITS)}")
    entries = []
    for split in parts:
        if not isinstance(data[split], list) or not all(isinstance(i, str) for i in data[split]):
            raise ConfigError(f"{path}: {split!r} is not a list of id strings", "quote every id")
        entries += [(i, split, repr(split)) for i in data[split]]
    return entries


def _text_entries(text: str, path: Path) -> list[tuple[str, str, str]]:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in (line.split(",") if "," in line else line.split())]
        if len(fields) != 2:
            raise ConfigError(f"{path} line {number} is {line!r}, not 'id,split'", "write one 'id,split' per line")
        if not entries and fields[1].lower() == "split":
            continue  # a header row
        entries.append((fields[0], fields[1].lower(), f"line {number}"))
    return entries


def read_split_file(path: Path) -> dict[str, str]:
    """id -> "train" | "val" | "test" from a JSON file of id lists or a text/CSV file of 'id,split' lines."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"split file {path} does not exist", "check the split file path")
    text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheet CSV exports start with a byte-order mark
    entries = _json_entries(text, path) if text.lstrip().startswith("{") else _text_entries(text, path)
    splits: dict[str, str] = {}
    for tile, split, where in entries:
        if split not in SPLITS:
            raise ConfigError(f"{path} {where}: unknown split {split!r}", f"use {', '.join(SPLITS)}")
        if tile in splits:
            both = f"twice in {split}" if splits[tile] == split else f"in both {splits[tile]} and {split}"
            raise ConfigError(f"{path}: tile {tile!r} is listed {both}", "list every tile once")
        splits[tile] = split
    if not splits:
        raise ConfigError(f"{path} lists no tiles", "write one 'id,split' per line")
    return splits


def _sorted_order(ids: list[str]) -> np.ndarray:
    """Positions of ``ids`` in sorted order: splits drawn over sorted ids do not depend on listing order."""
    return np.array(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)  # (N,)


def _carve_val(ids: list[str], codes: np.ndarray, val_fraction: float, seed: int) -> None:
    """Move ``val_fraction`` of the train tiles of ``codes`` (N,) to val, in place; test is never touched."""
    train = np.flatnonzero(codes == _SPLIT_CODES["train"])  # (T,)
    train = train[_sorted_order([ids[i] for i in train])]
    draw = assign_splits(len(train), (1 - val_fraction, val_fraction, 0.0), np.random.default_rng(seed))  # (T,)
    codes[train[draw == _SPLIT_CODES["val"]]] = _SPLIT_CODES["val"]


def assign_tile_splits(ids: list[str], split_file: dict[str, str] | None, val_fraction: float, seed: int) -> np.ndarray:
    """uint8 (N,) split codes (indexes into SPLITS: 0 train, 1 val, 2 test) for ``ids`` in order.

    With a split file, its splits (val carved from its train tiles when it has none); without one, a
    seeded split with ``val_fraction`` each for val and test.
    """
    limit = 1.0 if split_file is not None else 0.5  # without a file, val and test each take val_fraction
    if not 0 <= val_fraction < limit:
        raise ConfigError(f"the validation fraction is {val_fraction}", f"give a fraction in [0, {limit})")
    if split_file is None:
        codes = np.empty(len(ids), dtype=np.uint8)  # (N,)
        rng = np.random.default_rng(seed)
        codes[_sorted_order(ids)] = assign_splits(len(ids), (1 - 2 * val_fraction, val_fraction, val_fraction), rng)
        return codes
    unlisted = [i for i in ids if i not in split_file]
    if unlisted:
        raise ConfigError(
            f"{len(unlisted)} of {len(ids)} tiles are not in the split file (first: {_first(unlisted)})",
            "list every tile in the split file, or give none for a random split",
        )
    codes = np.array([_SPLIT_CODES[split_file[i]] for i in ids], dtype=np.uint8)  # (N,)
    if "val" not in split_file.values():
        _carve_val(ids, codes, val_fraction, seed)
    return codes
