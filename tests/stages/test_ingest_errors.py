"""Every bad input to ``run_ingest`` is a typed error with a one-line message, and writes nothing.

The bad files are modified copies of the real F3 cube, written to ``tmp_path`` only.
F3 (``segy/f3/f3.sgy``): 3600 bytes of file headers, then 414 traces of 240 + 75 x 2 = 390 bytes.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seiscli.config.ingest import IngestConfig
from seiscli.errors import (
    DuplicateTraceError,
    GeometryError,
    InputNotFoundError,
    NotSegyError,
    OutputExistsError,
    SeisError,
    TruncatedSegyError,
    UnsupportedSegyError,
)
from seiscli.stages.ingest import run_ingest

pytestmark = pytest.mark.real_data

DATA_START, TRACE_SIZE = 3600, 390  # of f3.sgy
FORMAT_CODE = slice(3224, 3226)  # bytes 3225-3226 of the binary header: the sample format code
SAMPLES_PER_TRACE = slice(3220, 3222)  # bytes 3221-3222


def f3_bytes(segy: Path) -> bytes:
    return (segy / "f3" / "f3.sgy").read_bytes()


def with_format_code(data: bytes, code: int, byteorder: str) -> bytes:
    edited = bytearray(data)
    edited[FORMAT_CODE] = code.to_bytes(2, byteorder)
    return bytes(edited)


def with_trace_repeated(data: bytes, trace: int) -> bytes:
    """``data`` with its trace number ``trace`` (0-based) appended once more at the end."""
    start = DATA_START + trace * TRACE_SIZE
    return data + data[start : start + TRACE_SIZE]


def with_zero_samples(data: bytes) -> bytes:
    edited = bytearray(data)
    edited[SAMPLES_PER_TRACE] = b"\0\0"
    return bytes(edited)


# (what the input file holds, given the shared segy folder; None: no file), options, error class,
# words of the message, whether a hint must tell the user what to do.
CASES = [
    pytest.param(lambda d: np.random.default_rng(0).bytes(20_000), {}, NotSegyError,
                 "no valid sample format code", False, id="random-bytes"),
    pytest.param(lambda d: b"", {}, NotSegyError, "is 0 bytes, too small", False, id="empty"),
    pytest.param(lambda d: b"This is not a SEG-Y file.\n" * 200, {}, NotSegyError,
                 "no valid sample format code", False, id="text"),
    pytest.param(lambda d: b"hello\n", {}, NotSegyError, "is 6 bytes, too small", False, id="short-text"),
    pytest.param(lambda d: with_zero_samples(f3_bytes(d)), {}, NotSegyError,
                 "gives 0 samples per trace", False, id="zero-samples"),
    pytest.param(lambda d: f3_bytes(d)[:-100], {}, TruncatedSegyError,
                 "is not a whole number of 390-byte traces", True, id="truncated"),
    # Bytes 1 (18 values) and 5 (a sequence number, 414 values) are real keys of F3 but not a grid:
    # 414 traces on 18 x 414 cells fill 5.6%, under the 10% _check_grid asks of a grid over 1000 cells.
    pytest.param(lambda d: f3_bytes(d), {"header": {"inline": "1", "crossline": "5"}}, GeometryError,
                 "do not form a grid: 414 traces scattered over a 18 x 414 grid", True, id="scattered-grid"),
    pytest.param(lambda d: with_trace_repeated(f3_bytes(d), 9), {}, DuplicateTraceError,
                 "1 duplicate traces: 2 traces at inline 111, crossline 884 (first is trace 10)", True,
                 id="duplicate-trace"),
    # Bytes 13 and 25 are zero in every F3 trace: no key tells the traces apart.
    pytest.param(lambda d: f3_bytes(d), {"header": {"inline": "13", "crossline": "25", "cdp": "25"}},
                 DuplicateTraceError, "all 414 traces share", True, id="one-position"),
    pytest.param(lambda d: with_format_code(f3_bytes(d), 13, "big"), {}, UnsupportedSegyError,
                 "sample format code 13", False, id="format-13"),
    pytest.param(lambda d: with_format_code((d / "f3" / "f3-lsb.sgy").read_bytes(), 13, "little"), {},
                 UnsupportedSegyError, "sample format code 13", False, id="format-13-little-endian"),
    pytest.param(lambda d: None, {}, InputNotFoundError, "input.sgy does not exist", True, id="nonexistent"),
]  # fmt: skip


@pytest.fixture(scope="module")
def segy_dir(shared_data) -> Path:
    return shared_data / "segy"


def leftovers(folder: Path, out: Path) -> list[str]:
    """What a failed ingest left in ``folder``: the output, or any ``.out.tmp-*`` / ``.out.lock``."""
    return sorted(name for name in os.listdir(folder) if name == out.name or name.startswith(f".{out.name}"))


@pytest.mark.parametrize(("build", "options", "error", "words", "hint"), CASES)
def test_bad_input_is_a_typed_one_line_error_and_writes_nothing(build, options, error, words, hint, segy_dir, tmp_path):
    segy, out = tmp_path / "input.sgy", tmp_path / "out.mdio"
    if (data := build(segy_dir)) is not None:
        segy.write_bytes(data)
    with pytest.raises(SeisError) as caught:
        run_ingest(IngestConfig(segy=segy, out=out, **options))
    assert caught.type is error, caught.value.message  # exactly: a scattered grid is no DuplicateTraceError
    assert words in caught.value.message
    assert "\n" not in caught.value.message
    if hint:
        assert caught.value.hint
    assert "\n" not in (caught.value.hint or "")
    assert leftovers(tmp_path, out) == []
    assert os.listdir(tmp_path) == (["input.sgy"] if data is not None else [])


def test_existing_output_is_refused_and_kept(segy_dir, tmp_path):
    out = tmp_path / "out.mdio"
    out.mkdir()
    (out / "zarr.json").write_text("{}")
    mtime = (out / "zarr.json").stat().st_mtime_ns
    with pytest.raises(OutputExistsError) as caught:
        run_ingest(IngestConfig(segy=segy_dir / "f3" / "f3.sgy", out=out))
    assert f"{out} already exists" in caught.value.message
    assert "\n" not in caught.value.message
    assert "--overwrite" in caught.value.hint
    assert os.listdir(out) == ["zarr.json"]
    assert (out / "zarr.json").read_text() == "{}"
    assert (out / "zarr.json").stat().st_mtime_ns == mtime
    assert leftovers(tmp_path, out) == ["out.mdio"]


# The CLI turns each into exit 1 and "error: <kind>: <message>" with the kind of seiscli/cli/_errors.py.
CLI_CASES = [
    pytest.param(lambda d: b"", [], "not a SEG-Y file", id="empty"),
    pytest.param(lambda d: f3_bytes(d)[:-100], [], "truncated SEG-Y", id="truncated"),
    pytest.param(lambda d: f3_bytes(d), ["--header", "inline=1,crossline=5"], "bad geometry", id="scattered-grid"),
    pytest.param(lambda d: with_trace_repeated(f3_bytes(d), 9), [], "duplicate traces", id="duplicate-trace"),
    pytest.param(lambda d: with_format_code(f3_bytes(d), 13, "big"), [], "unsupported SEG-Y", id="format-13"),
    pytest.param(lambda d: None, [], "input not found", id="nonexistent"),
]


@pytest.mark.parametrize(("build", "flags", "kind"), CLI_CASES)
def test_cli_reports_the_error_in_one_or_two_lines_and_exits_1(build, flags, kind, segy_dir, tmp_path):
    segy, out = tmp_path / "input.sgy", tmp_path / "out.mdio"
    if (data := build(segy_dir)) is not None:
        segy.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEIS_")}
    command = [sys.executable, "-m", "seiscli", "ingest", str(segy), str(out), *flags]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    lines = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith(f"error: {kind}: "), result.stderr
    assert "Traceback" not in result.stderr
    assert leftovers(tmp_path, out) == []
