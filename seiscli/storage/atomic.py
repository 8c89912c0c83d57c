"""Outputs appear whole or not at all, and only one process writes a path at a time.

A writer takes an exclusive lock beside the output, builds it under a temporary sibling name
and renames it into place when complete. Any temporary sibling found while holding the lock was
left by a killed run and is removed.
"""

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from seiscli.errors import ConfigError, OutputBusyError, OutputExistsError


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def _exclusive_lock(out: Path) -> Iterator[None]:
    lock_path = out.with_name(f".{out.name}.lock")
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputBusyError(
            f"another seis process is writing {out} right now",
            "wait for it to finish, or choose another output path",
        ) from None
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)  # while still holding the lock
        os.close(fd)


def check_writable(out: Path, overwrite: bool) -> None:
    """Fail early, before any work, when ``out`` cannot be written."""
    if not out.parent.is_dir():
        raise ConfigError(f"the folder of the output {out} does not exist", "create it first")
    if (out.exists() or out.is_symlink()) and not overwrite:
        raise OutputExistsError(f"{out} already exists", "pass --overwrite to replace it")


@contextmanager
def atomic_output(out: Path, overwrite: bool, settle: Callable[[], None] | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``out`` in one rename.

    On failure or interrupt the temporary is removed, after ``settle()`` has waited for writes
    still in flight on other threads (which would otherwise re-create it).
    """
    out = Path(os.path.abspath(out))
    check_writable(out, overwrite)
    with _exclusive_lock(out):
        check_writable(out, overwrite)  # another writer may have finished while we started
        for stale in out.parent.glob(f".{out.name}.tmp-*"):
            _remove(stale)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        try:
            yield tmp
        except BaseException:
            if settle is not None:
                settle()
            _remove(tmp)
            raise
        if out.exists() or out.is_symlink():
            old = out.with_name(f".{out.name}.tmp-old-{os.getpid()}")
            os.rename(out, old)
            os.rename(tmp, out)
            _remove(old)
        else:
            os.rename(tmp, out)
