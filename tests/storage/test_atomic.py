import os

import pytest

from seiscli.errors import OutputBusyError, OutputExistsError
from seiscli.storage.atomic import atomic_output


def test_output_appears_only_when_complete(tmp_path):
    out = tmp_path / "store"
    with atomic_output(out, overwrite=False) as tmp:
        tmp.mkdir()
        (tmp / "data").write_text("x")
        assert not out.exists()
    assert (out / "data").read_text() == "x"
    assert sorted(os.listdir(tmp_path)) == ["store"]  # no lock, no temporary left


def test_failure_leaves_nothing_and_keeps_the_old_output(tmp_path):
    out = tmp_path / "store"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(out, overwrite=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert out.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["store"]


def test_refuses_to_overwrite_without_permission(tmp_path):
    out = tmp_path / "store"
    out.write_text("old")
    with pytest.raises(OutputExistsError), atomic_output(out, overwrite=False):
        pass
    with atomic_output(out, overwrite=True) as tmp:
        tmp.write_text("new")
    assert out.read_text() == "new"


def test_second_writer_of_the_same_output_is_refused(tmp_path):
    out = tmp_path / "store"
    with atomic_output(out, overwrite=False) as tmp:
        tmp.write_text("first")
        with pytest.raises(OutputBusyError, match="another seis process"), atomic_output(out, overwrite=False):
            pass
    assert out.read_text() == "first"


def test_stale_temporaries_of_killed_runs_are_removed(tmp_path):
    out = tmp_path / "store"
    stale = tmp_path / ".store.tmp-999999"
    stale.mkdir()
    with atomic_output(out, overwrite=False) as tmp:
        tmp.write_text("x")
    assert not stale.exists()
