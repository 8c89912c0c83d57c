"""Image tile folders: the real TGS salt tiles (read in place, never copied) and small synthetic folders."""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seiscli.data.images import (
    Tile,
    assign_tile_splits,
    find_tiles,
    read_image,
    read_mask,
    read_split_file,
)
from seiscli.errors import ConfigError, InputNotFoundError, NotAnArtifactError, SeisError

real_data = pytest.mark.real_data
TRAIN, VAL, TEST = 0, 1, 2


@pytest.fixture(scope="module")
def tgs(shared_data) -> Path:
    folder = shared_data / "tgs-salt"
    if not folder.is_dir():
        pytest.skip(f"TGS salt tiles not found at {folder}")
    return folder


@pytest.fixture(scope="module")
def tgs_tiles(tgs) -> list[Tile]:
    return find_tiles(tgs)


def first_mask_of_mode(tiles: list[Tile], mode: str) -> Path:
    for tile in tiles:
        with Image.open(tile.mask) as image:  # opening reads the header only
            if image.mode == mode:
                return tile.mask
    raise AssertionError(f"no {mode} mask in the TGS folder")


def assert_one_line(error: SeisError) -> None:
    assert "\n" not in error.message and "\n" not in (error.hint or ""), (error.message, error.hint)


def save_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def tile_folder(root: Path, image_ids: list[str], mask_ids: list[str], masks: str = "masks") -> Path:
    grey = np.zeros((4, 5), np.uint8)
    for name in image_ids:
        save_png(root / "images" / f"{name}.png", grey)
    for name in mask_ids:
        save_png(root / masks / f"{name}.png", grey)
    return root


# ---------------------------------------------------------------------------------------- real TGS tiles


@real_data
def test_tgs_tiles_are_found_and_paired(tgs, tgs_tiles):
    ids = [tile.id for tile in tgs_tiles]
    assert len(tgs_tiles) == 4000
    assert ids == sorted(ids) and len(set(ids)) == 4000
    assert all(t.image == tgs / "images" / f"{t.id}.png" and t.mask == tgs / "masks" / f"{t.id}.png" for t in tgs_tiles)


@real_data
def test_tgs_images_are_grey_float32_in_their_own_range(tgs_tiles):
    for tile in tgs_tiles[:50]:
        image = read_image(tile.image)
        with Image.open(tile.image) as raw:
            rgb = np.asarray(raw)  # (H, W, 3), uint8
        assert image.shape == (1, 101, 101) and image.dtype == np.float32
        assert 0 <= image.min() and image.max() <= 255
        np.testing.assert_array_equal(image[0], rgb[..., 0])


@real_data
def test_tgs_all_tiles_read_in_the_expected_shapes(tgs_tiles):
    salt_tiles = 0
    for tile in tgs_tiles:
        assert read_image(tile.image).shape == (1, 101, 101)
        mask = read_mask(tile.mask)
        assert mask.shape == (101, 101) and mask.dtype == np.uint8 and mask.max() <= 1
        salt_tiles += bool(mask.any())
    assert salt_tiles == 2438  # the 16-bit masks (SOURCE.txt); the other 1562 are all zero


@real_data
def test_tgs_16_bit_mask_is_binarized(tgs_tiles):
    path = first_mask_of_mode(tgs_tiles, "I;16")
    with Image.open(path) as image:
        raw = np.asarray(image)  # (H, W), uint16 0/65535
    mask = read_mask(path)
    assert raw.max() == 65535
    assert mask.dtype == np.uint8 and set(np.unique(mask).tolist()) == {0, 1}
    assert int(mask.sum()) == int((raw > 0).sum()) > 0


@real_data
def test_tgs_8_bit_empty_mask_is_all_zero(tgs_tiles):
    path = first_mask_of_mode(tgs_tiles, "L")
    mask = read_mask(path)
    assert mask.shape == (101, 101) and not mask.any()


@real_data
def test_tgs_split_file_carves_val_from_train_only(tgs, tgs_tiles):
    ids = [tile.id for tile in tgs_tiles]
    listed = read_split_file(tgs / "split.json")
    codes = assign_tile_splits(ids, listed, val_fraction=0.1, seed=0)
    split_of = dict(zip(ids, codes.tolist()))
    assert codes.dtype == np.uint8 and codes.shape == (4000,)
    assert np.bincount(codes, minlength=3).tolist() == [2700, 300, 1000]
    assert all((split_of[i] == TEST) == (listed[i] == "test") for i in ids)  # no test id moves, none joins test
    np.testing.assert_array_equal(assign_tile_splits(ids, listed, 0.1, seed=0), codes)
    other = assign_tile_splits(ids, listed, 0.1, seed=1)
    assert set(np.flatnonzero(other == VAL)) != set(np.flatnonzero(codes == VAL))
    shuffled = list(np.random.default_rng(5).permutation(ids))
    again = dict(zip(shuffled, assign_tile_splits(shuffled, listed, 0.1, seed=0).tolist()))
    assert again == split_of  # the split follows the ids, not the order they come in


# ---------------------------------------------------------------------------------------- synthetic folders


def test_tiles_without_mask_folder_are_unlabelled(tmp_path):
    tiles = find_tiles(tile_folder(tmp_path, ["b", "a"], []))
    assert tiles == [Tile("a", tmp_path / "images" / "a.png", None), Tile("b", tmp_path / "images" / "b.png", None)]


def test_singular_and_label_folder_names_are_accepted(tmp_path):
    save_png(tmp_path / "image" / "t1.png", np.zeros((3, 3), np.uint8))
    save_png(tmp_path / "labels" / "t1.png", np.zeros((3, 3), np.uint8))
    assert find_tiles(tmp_path) == [Tile("t1", tmp_path / "image" / "t1.png", tmp_path / "labels" / "t1.png")]


def test_16_bit_tiff_image_keeps_its_values(tmp_path):
    values = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000  # up to 55000: beyond 8 bits
    path = tmp_path / "t.tif"
    Image.fromarray(values).save(path)
    image = read_image(path)
    assert image.shape == (1, 3, 4) and image.dtype == np.float32
    np.testing.assert_array_equal(image[0], values)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (np.arange(6.0).reshape(2, 3) - 2.5, (np.arange(6.0).reshape(2, 3) - 2.5)[None]),  # (H, W)
        (np.arange(12).reshape(2, 2, 3), np.arange(12).reshape(2, 2, 3)),  # (C, H, W) with C <= 4
        (np.arange(120).reshape(6, 4, 5), np.arange(120).reshape(6, 4, 5).transpose(2, 0, 1)),  # (H, W, C): H > 4
    ],
    ids=["2d", "chw", "hwc"],
)
def test_npy_image_layouts(tmp_path, stored, expected):
    np.save(tmp_path / "t.npy", stored)
    image = read_image(tmp_path / "t.npy")
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image, expected)


def test_true_colour_image_keeps_three_channels(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10, 20, 30
    image = read_image(save_png(tmp_path / "c.png", rgb))
    assert image.shape == (3, 4, 5)
    assert image[:, 0, 0].tolist() == [10, 20, 30]


def test_grey_stored_as_rgb_gives_one_channel(tmp_path):
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5)
    image = read_image(save_png(tmp_path / "g.png", np.stack([grey] * 3, axis=-1)))
    assert image.shape == (1, 4, 5)
    np.testing.assert_array_equal(image[0], grey)


def test_mask_class_map(tmp_path):
    raw = np.array([[0, 128, 255], [255, 128, 0]], np.uint8)
    mask = read_mask(save_png(tmp_path / "m.png", raw), classes={0: 0, 128: 1, 255: 2})
    assert mask.dtype == np.uint8
    assert mask.tolist() == [[0, 1, 2], [2, 1, 0]]


def test_binarized_float_and_grey_rgb_masks(tmp_path):
    np.save(tmp_path / "f.npy", np.array([[0.0, 0.2], [-1.0, 3.0]], np.float32))
    assert read_mask(tmp_path / "f.npy").tolist() == [[0, 1], [0, 1]]
    grey = np.array([[0, 255], [7, 0]], np.uint8)
    assert read_mask(save_png(tmp_path / "m.png", np.stack([grey] * 3, -1))).tolist() == [[0, 1], [1, 0]]


def test_split_file_text_with_header_and_json_extras(tmp_path):
    (tmp_path / "s.csv").write_text("id,split\na,train\nb, VAL\n\nc,test\n")
    assert read_split_file(tmp_path / "s.csv") == {"a": "train", "b": "val", "c": "test"}
    (tmp_path / "s.json").write_text(json.dumps({"description": "x", "train": ["a"], "test": ["c"]}))
    assert read_split_file(tmp_path / "s.json") == {"a": "train", "c": "test"}


def test_split_file_with_val_is_kept_and_ids_it_lacks_from_the_folder_are_fine():
    listed = {"a": "train", "b": "val", "c": "test", "d": "train", "e": "train", "gone": "train"}
    codes = assign_tile_splits(["c", "a", "b", "d", "e"], listed, 0.5, seed=0)
    assert codes.tolist() == [TEST, TRAIN, VAL, TRAIN, TRAIN]  # nothing carved: the file has a val part


def test_random_split_without_split_file():
    ids = [f"t{i:03d}" for i in range(100)]
    codes = assign_tile_splits(ids, None, 0.2, seed=3)
    assert np.bincount(codes, minlength=3).tolist() == [60, 20, 20]
    np.testing.assert_array_equal(codes, assign_tile_splits(ids, None, 0.2, seed=3))
    assert not np.array_equal(codes, assign_tile_splits(ids, None, 0.2, seed=4))


# ---------------------------------------------------------------------------------------- errors


def _unmasked(tmp_path: Path) -> Callable:
    tile_folder(tmp_path, ["a", "b", "c", "d", "e"], ["a"])
    return lambda: find_tiles(tmp_path)


def _maskless_images(tmp_path: Path) -> Callable:
    tile_folder(tmp_path, ["a"], ["a", "x", "y"], masks="mask")
    return lambda: find_tiles(tmp_path)


def _newline_id(tmp_path: Path) -> Callable:
    tile_folder(tmp_path, ["a", "bad\nname"], ["a"])
    return lambda: find_tiles(tmp_path)


def _empty_images(tmp_path: Path) -> Callable:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "notes.txt").write_text("not a tile")
    return lambda: find_tiles(tmp_path)


def _unknown_mask_value(tmp_path: Path) -> Callable:
    path = save_png(tmp_path / "m.png", np.array([[0, 7], [255, 7]], np.uint8))
    return lambda: read_mask(path, classes={0: 0, 255: 1})


def _colour_mask(tmp_path: Path) -> Callable:
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 1] = 1  # green differs from red and blue
    path = save_png(tmp_path / "m.png", rgb)
    return lambda: read_mask(path)


def _split_file(name: str, text: str) -> Callable[[Path], Callable]:
    def build(tmp_path: Path) -> Callable:
        (tmp_path / name).write_text(text)
        return lambda: read_split_file(tmp_path / name)

    return build


def _unlisted_ids(tmp_path: Path) -> Callable:
    return lambda: assign_tile_splits(["a", "b", "c", "d"], {"a": "train"}, 0.1, seed=0)


ERROR_CASES = [
    ("missing folder", lambda p: lambda: find_tiles(p / "nope"), InputNotFoundError, ["nope"]),
    ("empty folder", lambda p: lambda: find_tiles(p), NotAnArtifactError, ["no images/"]),
    ("no image files", _empty_images, NotAnArtifactError, ["no .png"]),
    ("images without masks", _unmasked, NotAnArtifactError, ["4 of 5", "'b', 'c', 'd', ..."]),
    ("masks without images", _maskless_images, NotAnArtifactError, ["2 masks", "'x', 'y'"]),
    ("id with a newline", _newline_id, NotAnArtifactError, ["'bad\\nname'"]),
    ("missing image", lambda p: lambda: read_image(p / "x.png"), InputNotFoundError, ["x.png"]),
    ("unknown mask value", _unknown_mask_value, ConfigError, ["value 7", "2 pixels"]),
    ("colour mask", _colour_mask, NotAnArtifactError, ["colour mask"]),
    (
        "json id twice",
        _split_file("s.json", '{"train": ["a", "b"], "test": ["b"]}'),
        ConfigError,
        ["'b'", "train and test"],
    ),
    ("csv id twice", _split_file("s.csv", "a,train\na,train\n"), ConfigError, ["'a'", "twice in train"]),
    ("unknown split name", _split_file("s.csv", "a,train\nb,holdout\n"), ConfigError, ["'holdout'", "line 2"]),
    ("misspelt json split", _split_file("s.json", '{"train": ["a"], "valid": ["b"]}'), ConfigError, ["'valid'"]),
    ("json without splits", _split_file("s.json", '{"description": "x"}'), ConfigError, ["none of the keys"]),
    ("missing split file", lambda p: lambda: read_split_file(p / "s.json"), InputNotFoundError, ["s.json"]),
    ("ids not in split file", _unlisted_ids, ConfigError, ["3 of 4", "'b', 'c', 'd'"]),
    ("bad fraction", lambda p: lambda: assign_tile_splits(["a"], None, 0.5, seed=0), ConfigError, ["0.5"]),
]


@pytest.mark.parametrize(("build", "error", "words"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors_are_typed_and_one_line(tmp_path, build, error, words):
    call = build(tmp_path)
    with pytest.raises(error) as caught:
        call()
    assert_one_line(caught.value)
    assert caught.value.hint
    for word in words:
        assert word in caught.value.message
