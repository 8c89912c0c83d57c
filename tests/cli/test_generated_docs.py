"""The committed completion scripts and man pages match what ``seiscli.cli._docs`` generates."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from seiscli import __version__
from seiscli.cli._docs import SHELLS, generated_files, man_pages, write_all
from seiscli.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "stale generated docs: run `python -m seiscli.cli._docs` and commit the result"
GENERATED = generated_files()


def _command_paths() -> list[tuple[str, object]]:
    """Every visible command of the app as ("seis benchmark ingest", command), walked here on purpose
    independently of ``_docs`` so a bug in its walk cannot hide a missing page."""
    out, todo = [], [("seis", typer.main.get_command(app))]
    while todo:
        path, command = todo.pop()
        out.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                todo.append((f"{path} {name}", sub))
    return out


def _plain(roff: str) -> str:
    """Roff text with the escapes the generator uses undone, good enough for substring checks."""
    return roff.replace("\\-", "-").replace("\\fB", "").replace("\\fI", "").replace("\\fR", "")


@pytest.mark.parametrize("rel", sorted(GENERATED))
def test_committed_file_is_current(rel):
    path = ROOT / rel
    assert path.is_file(), f"{rel} is missing; {REGENERATE}"
    assert path.read_text(encoding="utf-8") == GENERATED[rel], f"{rel} differs; {REGENERATE}"


def test_no_stale_man_pages():
    committed = {p.name for p in (ROOT / "man").glob("seis*.1")}
    assert committed == set(man_pages()), f"extra or missing man pages; {REGENERATE}"


def test_every_command_has_a_man_page():
    paths = _command_paths()
    assert len(paths) >= 6, paths  # seis, ingest, info, export, benchmark, benchmark ingest
    pages = man_pages()
    for path, command in paths:
        name = path.replace(" ", "-") + ".1"
        assert name in pages, f"no man page for `{path}`"
        text = _plain(pages[name])
        assert f".TH {name[:-2].upper()} 1 " in text and f'"seis {__version__}"' in text
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "SEE ALSO"):
            assert f"\n.SH {section}\n" in text, f"{name} has no {section} section"
        assert " ".join(command.help.split()) in " ".join(text.split()), f"{name} lacks the command's help"
    # The top page lists every command and points at its page.
    top = _plain(pages["seis.1"])
    for path, _ in paths[1:]:
        assert f"\n{path}\n" in top and f"{path.replace(' ', '-')}(1)" in top, f"seis.1 does not list `{path}`"


def test_man_pages_document_every_ingest_option():
    ingest = typer.main.get_command(app).commands["ingest"]
    flags = {flag for p in ingest.params if p.param_type_name == "option" for flag in p.opts + p.secondary_opts}
    assert {"--header", "--chunks", "--compression", "--overwrite", "--json"} <= flags
    text = _plain(man_pages()["seis-ingest.1"])
    options = text.split("\n.SH OPTIONS\n")[1].split("\n.SH ")[0]
    for flag in flags:
        assert flag in options.replace(",", " ").split(), f"seis-ingest.1 does not document {flag}"
    assert "[OPTIONS] SEGY OUT" in text  # positional arguments in the synopsis
    assert "\n.SH ARGUMENTS\n" in text and "SEG-Y file to read." in text


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_scripts_call_seis_back(shell):
    script = GENERATED[f"completions/seis.{shell}"]
    # The variable typer's app reads for prog name "seis" (see typer.completion.show_callback).
    assert f"_SEIS_COMPLETE=complete_{shell}" in script
    assert "seis" in script.replace("_SEIS_COMPLETE", "")


def test_bash_completion_offers_every_command():
    """Source the committed bash script and complete ``seis <TAB>`` and ``seis benchmark <TAB>``."""
    bash = shutil.which("bash")
    seis = Path(sys.executable).parent / "seis"
    if bash is None or not seis.exists():
        pytest.skip("needs bash and the installed seis script next to the Python interpreter")
    env = {**os.environ, "PATH": f"{seis.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for path, command in _command_paths():
        if not hasattr(command, "commands"):
            continue
        words = " ".join(path.split()[1:] + ['""'])
        snippet = (f'source {ROOT / "completions/seis.bash"}; COMP_WORDS=(seis {words}); '
                   f'COMP_CWORD={len(path.split())}; _seis_completion seis; '
                   'printf "%s\\n" "${COMPREPLY[@]}"')  # fmt: skip
        out = subprocess.run([bash, "-c", snippet], env=env, capture_output=True, text=True, timeout=60, check=True)
        visible = {name for name, sub in command.commands.items() if not sub.hidden}
        assert set(out.stdout.split()) == visible, f"`{path} <TAB>` offered {out.stdout!r}"


def test_write_all_replaces_stale_pages(tmp_path):
    (tmp_path / "man").mkdir()
    (tmp_path / "man" / "seis-removed.1").write_text("old")
    (tmp_path / "man" / "other.1").write_text("not ours")
    written = write_all(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(GENERATED)
    assert not (tmp_path / "man" / "seis-removed.1").exists()
    assert (tmp_path / "man" / "other.1").read_text() == "not ours"
    assert (tmp_path / "man" / "seis-ingest.1").read_text() == GENERATED["man/seis-ingest.1"]


def test_generation_is_deterministic_and_imports_nothing_heavy():
    """Two fresh processes produce the same files and never import click, torch, zarr or segyio."""
    code = ("import sys, json; from seiscli.cli._docs import generated_files; files = generated_files(); "
            "heavy = sorted(m for m in ('click', 'torch', 'zarr', 'segyio') if m in sys.modules); "
            "print(json.dumps([heavy, files]))")  # fmt: skip
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
            for _ in range(2)]  # fmt: skip
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.startswith("[[], "), runs[0].stdout[:200]
    assert str(ROOT) not in runs[0].stdout  # no absolute paths
