"""The conventions every command keeps (DESIGN.md), checked on the real CLI in a subprocess.

Each test runs ``python -m seiscli ...`` on the real F3 cube the way a user would: exit codes,
what goes to stdout and stderr, tracebacks only when debugging, atomic outputs, the output lock,
config layering, a fast ``--help`` and Ctrl-C.
"""

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import zarr

REPO = Path(__file__).resolve().parents[2]
F3_SHAPE = (23, 18, 75)  # inline x crossline x time of segy/f3/f3.sgy (see shared/data/README.md)

pytestmark = pytest.mark.real_data


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any SEIS_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEIS_")}
    return env | (extra or {})


def seis(*args, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``seis ARGS`` as a user runs it: a new process, stdout and stderr captured apart."""
    command = [sys.executable, "-m", "seiscli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=_env(env), capture_output=True, text=True, timeout=120)


def squash(text: str) -> str:
    """``text`` with every run of whitespace made one space (rich wraps log lines at 80 columns)."""
    return " ".join(text.split())


def chunks_of(store: Path) -> tuple[int, ...]:
    return tuple(zarr.open_group(store, mode="r")["amplitude"].chunks)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    files = (p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in files}


def siblings(out: Path) -> list[str]:
    """Temporaries and lock files a writer of ``out`` may have left beside it."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}*"))


def assert_one_clear_error(result: subprocess.CompletedProcess) -> list[str]:
    """Exit 1, nothing on stdout, one or two lines on stderr starting with ``error:``, no traceback."""
    lines = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    return lines


@pytest.fixture(scope="module")
def f3(shared_data) -> Path:
    return shared_data / "segy" / "f3" / "f3.sgy"


@pytest.fixture(scope="module")
def f3_store(f3, tmp_path_factory) -> Path:
    """One volume store of f3.sgy written by ``seis ingest``, shared by the read-only tests."""
    folder = tmp_path_factory.mktemp("store")
    out = folder / "f3.mdio"
    result = seis("ingest", f3, out, cwd=folder)
    assert result.returncode == 0, result.stderr
    return out


# --- stdout is for results, stderr for people -------------------------------------------------------


def test_success_prints_exactly_the_output_path(f3, tmp_path):
    out = tmp_path / "f3.mdio"
    result = seis("ingest", f3, out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{out}\n"
    assert "ingested 414 traces (0 missing)" in squash(result.stderr)
    assert os.listdir(tmp_path) == ["f3.mdio"]  # no lock, no temporary left beside it


def test_json_prints_one_object_and_the_summary_goes_to_stderr(f3, tmp_path):
    out = tmp_path / "f3.mdio"
    result = seis("ingest", f3, out, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    payload = json.loads(result.stdout)
    assert payload["path"] == str(out)
    assert tuple(payload["shape"]) == F3_SHAPE
    assert (payload["live_traces"], payload["dead_traces"]) == (414, 0)
    assert "ingested 414 traces" in squash(result.stderr)
    assert "{" not in result.stderr


def test_info_describes_the_store(f3_store, tmp_path):
    result = seis("info", f3_store, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "23 inline x 18 crossline x 75 time" in result.stdout
    assert "414 live, 0 missing" in result.stdout
    assert "made by    seis ingest" in result.stdout


def test_info_json_has_dims_traces_statistics_and_provenance(f3, f3_store, tmp_path):
    result = seis("info", f3_store, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    facts = json.loads(result.stdout)
    assert {"dims", "traces", "statistics", "provenance"} <= facts.keys()
    assert facts["dims"] == {"inline": 23, "crossline": 18, "time": 75}
    assert facts["traces"] == {"live": 414, "dead": 0}
    assert facts["statistics"]["count"] == 414 * 75
    assert facts["provenance"]["command"].startswith("seis ingest")
    assert facts["provenance"]["inputs"][0]["path"] == str(f3)


def test_export_gives_back_the_original_bytes(f3, f3_store, tmp_path):
    out = tmp_path / "back.sgy"
    result = seis("export", f3_store, out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{out}\n"
    assert out.read_bytes() == f3.read_bytes()


# --- exit codes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "--no-such-option", "a.sgy", "a.mdio"],
        ["ingest", "a.sgy"],  # missing OUT
        ["info"],  # missing PATH
        ["no-such-command"],
        ["ingest", "a.sgy", "a.mdio", "--workers", "many"],  # not an integer: the parser says so
    ],
    ids=["unknown-option", "missing-argument", "missing-path", "unknown-command", "not-an-int"],
)
def test_usage_errors_exit_2(args, tmp_path):
    result = seis(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Usage: seis" in result.stderr
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_missing_input_is_one_clear_error(tmp_path):
    out = tmp_path / "x.mdio"
    lines = assert_one_clear_error(seis("ingest", tmp_path / "missing.sgy", out, cwd=tmp_path))
    assert "missing.sgy does not exist" in lines[0]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("flags", "env"), [(["--debug"], {}), ([], {"SEIS_DEBUG": "1"})], ids=["flag", "env"])
def test_debug_shows_the_traceback(flags, env, tmp_path):
    result = seis("ingest", tmp_path / "missing.sgy", tmp_path / "x.mdio", *flags, cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback (most recent call last)" in result.stderr
    assert "InputNotFoundError" in result.stderr


# --- nothing lost, nothing half-written ---------------------------------------------------------------


def test_existing_output_is_kept_without_overwrite_and_replaced_with_it(f3, tmp_path):
    out = tmp_path / "f3.mdio"
    assert seis("ingest", f3, out, "--chunks", "8,8,16", cwd=tmp_path).returncode == 0
    before = snapshot(out)

    lines = assert_one_clear_error(seis("ingest", f3, out, "--chunks", "16,16,32", cwd=tmp_path))
    assert "already exists" in lines[0]
    assert "--overwrite" in lines[1]
    assert snapshot(out) == before

    replaced = seis("ingest", f3, out, "--chunks", "16,16,32", "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout == f"{out}\n"
    assert chunks_of(out) == (16, 16, 32)
    assert os.listdir(tmp_path) == ["f3.mdio"]  # the old store and the lock are gone


def test_second_writer_of_the_same_output_is_refused(f3, tmp_path):
    out = tmp_path / "f3.mdio"
    # Hold the lock the way another seis process would (seiscli/storage/atomic.py, _exclusive_lock).
    fd = os.open(tmp_path / ".f3.mdio.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy = seis("ingest", f3, out, cwd=tmp_path)
    finally:
        os.close(fd)
    lines = assert_one_clear_error(busy)
    assert "another seis process" in lines[0]
    assert not out.exists()
    assert siblings(out) == [".f3.mdio.lock"]  # ours: the refused process did not touch it

    after = seis("ingest", f3, out, cwd=tmp_path)  # the other writer is gone: now it works
    assert after.returncode == 0, after.stderr
    assert siblings(out) == []


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "seis finished before it could be interrupted"
        assert time.monotonic() < deadline, "seis never reached the point to interrupt"
        time.sleep(0.005)


@pytest.mark.slow
def test_ctrl_c_exits_130_and_leaves_nothing(tmp_path):
    from seiscli.bench.segy_synth import write_benchmark_segy

    segy = tmp_path / "big.sgy"
    write_benchmark_segy(segy, inlines=160, crosslines=200, n_samples=1500)  # 200 MB
    out = tmp_path / "big.mdio"
    command = [sys.executable, "-m", "seiscli", "ingest", str(segy), str(out), "--chunks", "64,64,256"]
    pipe = subprocess.PIPE
    process = subprocess.Popen(command, cwd=tmp_path, env=_env(), stdout=pipe, stderr=pipe, text=True)
    try:
        # Interrupt once traces are being copied (the first amplitude chunk is being written), so
        # the signal lands in the middle of the work and not while Python is still starting.
        _wait_for(lambda: any(tmp_path.glob(".big.mdio.tmp-*/amplitude/c")), process, timeout=60)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stdout == ""
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert os.listdir(tmp_path) == ["big.sgy"]  # no output, no .big.mdio.tmp-*, no lock


# Ctrl-C while zarr is writing the new store. zarr's synchronous API runs each write on its own I/O
# threads; KeyboardInterrupt stops the main thread's wait but not the write, which lands after
# atomic_output has removed the temporary folder and so brings it back. The patch below only makes
# that timing certain: it sends the SIGINT from inside the first write and lets the write finish
# 0.3 s later. Without the patch the same thing happens in about one run in three when Ctrl-C
# arrives while the store is being created (sometimes as "error: internal error: OSError: [Errno 39]
# Directory not empty" and exit 1 instead of 130).
_INTERRUPT_DURING_A_ZARR_WRITE = """
import signal, sys, threading, time
import zarr.storage._local as local

real_put, main_thread = local._put, threading.main_thread()

def put(path, value, exclusive=False):
    if not getattr(put, "fired", False):
        put.fired = True
        signal.pthread_kill(main_thread.ident, signal.SIGINT)
        time.sleep(0.3)
    return real_put(path, value, exclusive)

local._put = put
sys.argv = ["seis", *sys.argv[1:]]
from seiscli.cli.main import main
main()
"""


def test_ctrl_c_while_the_store_is_being_written_leaves_nothing(f3, tmp_path):
    out = tmp_path / "f3.mdio"
    command = [sys.executable, "-c", _INTERRUPT_DURING_A_ZARR_WRITE, "ingest", str(f3), str(out)]
    result = subprocess.run(command, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 130, result.stderr
    assert "interrupted" in result.stderr
    assert os.listdir(tmp_path) == []


# --- configuration: flags > --config file > SEIS_* environment > defaults -----------------------------

CONFIG_FILES = {
    "toml": ("opts.toml", 'chunks = "8,8,16"\n'),
    "toml-table": ("opts.toml", '[ingest]\nchunks = "8,8,16"\n\n[export]\noverwrite = true\n'),
    "yaml": ("opts.yaml", "chunks: 8,8,16\n"),
    "yaml-table": ("opts.yml", "ingest:\n  chunks: [8, 8, 16]\n"),
}


def write_config(folder: Path, kind: str) -> Path:
    name, text = CONFIG_FILES[kind]
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("config", "env", "flag", "expected"),
    [
        (None, None, None, F3_SHAPE),  # default 128,128,128, clipped to the volume
        ("toml", None, None, (8, 8, 16)),
        ("toml-table", None, None, (8, 8, 16)),
        ("yaml", None, None, (8, 8, 16)),
        ("yaml-table", None, None, (8, 8, 16)),
        (None, "4,4,8", None, (4, 4, 8)),
        ("toml", "4,4,8", None, (8, 8, 16)),  # the file wins over the environment
        ("yaml-table", None, "16,16,32", (16, 16, 32)),  # the flag wins over the file
        ("toml", "4,4,8", "16,16,32", (16, 16, 32)),
    ],
)
def test_option_layers(config, env, flag, expected, f3, tmp_path):
    out = tmp_path / "f3.mdio"
    args = ["ingest", f3, out]
    if config:
        args += ["--config", write_config(tmp_path, config)]
    if flag:
        args += ["--chunks", flag]
    result = seis(*args, cwd=tmp_path, env={"SEIS_INGEST_CHUNKS": env} if env else None)
    assert result.returncode == 0, result.stderr
    assert chunks_of(out) == expected


@pytest.mark.parametrize(
    ("name", "text"),
    [("opts.toml", 'chunkz = "8,8,16"\n'), ("opts.yaml", "ingest:\n  chunks: 8,8,16\n  chunkz: 4\n")],
    ids=["toml", "yaml-table"],
)
def test_unknown_config_key_is_an_error(name, text, f3, tmp_path):
    config = tmp_path / name
    config.write_text(text)
    out = tmp_path / "f3.mdio"
    lines = assert_one_clear_error(seis("ingest", f3, out, "--config", config, cwd=tmp_path))
    assert "chunkz" in lines[0]
    assert not out.exists()


def test_unknown_top_level_key_beside_the_command_table_is_an_error(f3, tmp_path):
    config = tmp_path / "opts.toml"
    config.write_text('chunkz = "8,8,16"\n\n[ingest]\ncompression = "none"\n')
    out = tmp_path / "f3.mdio"
    lines = assert_one_clear_error(seis("ingest", f3, out, "--config", config, cwd=tmp_path))
    assert "chunkz" in lines[0]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--compression", "lossy:abc"), ("--chunks", "8,8"), ("--header", "inline=999"), ("--domain", "sideways")],
)
def test_bad_option_value_is_exit_1(option, value, f3, tmp_path):
    out = tmp_path / "f3.mdio"
    lines = assert_one_clear_error(seis("ingest", f3, out, option, value, cwd=tmp_path))
    assert lines[0].startswith(f"error: bad option: {option}")
    assert os.listdir(tmp_path) == []


def test_bad_value_in_the_environment_is_exit_1(f3, tmp_path):
    out = tmp_path / "f3.mdio"
    result = seis("ingest", f3, out, cwd=tmp_path, env={"SEIS_INGEST_COMPRESSION": "lossy:abc"})
    assert "--compression" in assert_one_clear_error(result)[0]


# --- fast start ---------------------------------------------------------------------------------------

_HEAVY_IMPORTS = """
import json, sys
sys.argv = ["seis", *sys.argv[1:]]
from seiscli.cli.main import main
code = None
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--help"], {}),
        (["ingest", "--help"], {}),
        (["export", "--help"], {}),
        (["benchmark", "ingest", "--help"], {}),
        ([], {"_SEIS_COMPLETE": "complete_bash", "COMP_WORDS": "seis ingest --c", "COMP_CWORD": "2"}),
    ],
    ids=["help", "ingest-help", "export-help", "benchmark-help", "completion"],
)
def test_help_and_completion_do_not_import_heavy_packages(args, env, tmp_path):
    command = [sys.executable, "-c", _HEAVY_IMPORTS, *args]
    result = subprocess.run(command, cwd=tmp_path, env=_env(env), capture_output=True, text=True, timeout=60)
    report = json.loads(result.stderr.splitlines()[-1])
    assert report["code"] in (0, None), result.stderr
    assert result.stdout  # the help text or the completions
    heavy = {name.split(".")[0] for name in report["modules"]} & {"torch", "zarr", "segyio"}
    assert heavy == set()


def test_no_module_imports_click():
    """typer is the only CLI layer (typer vendors its own Click); the ``click`` package is never imported."""
    pattern = re.compile(r"^\s*(import\s+click\b|from\s+click\b)", re.MULTILINE)
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "seiscli").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
