"""Shell completion scripts and man pages, generated from the typer app.

``python -m seiscli.cli._docs`` rewrites ``completions/`` and ``man/`` in the repository root;
``tests/cli/test_generated_docs.py`` fails when the committed files are stale.

Only typer's own modules are used (typer vendors Click as ``typer._click``; importing the
separate ``click`` package would document a different parser). The command modules import
torch, zarr and segyio lazily, so walking the command tree stays cheap.
"""

import re
from pathlib import Path

import typer
from typer._completion_shared import get_completion_script  # internal: see completion_script

from seiscli import __version__
from seiscli.cli.main import app

PROG = "seis"
SHELLS = ("bash", "zsh", "fish")
# The variable the app reads to answer completion requests; typer derives it from the prog name.
COMPLETE_VAR = "_SEIS_COMPLETE"

# typer adds these to the root command. Their help and type change with the environment
# (_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION), so the root page describes them in fixed words.
_COMPLETION_OPTIONS = {"install_completion", "show_completion"}

_EXIT_STATUS = [
    ("0", "Success."),
    ("1", "An error the user can fix: a missing or invalid input, an existing output, a bad setting."),
    ("2", "Usage error: an unknown option, a missing argument, an invalid value."),
    ("130", "Interrupted (Ctrl-C)."),
]


def completion_script(shell: str) -> str:
    """The completion script of ``seis`` for bash, zsh or fish, ending in a newline.

    The scripts only call ``seis`` back with ``_SEIS_COMPLETE`` set, so they never go stale as
    commands change; they are generated to follow typer's protocol. ``get_completion_script``
    lives in the private ``typer._completion_shared`` (typer 0.29), which may move in later versions.
    """
    if shell not in SHELLS:
        raise ValueError(f"unsupported shell {shell!r}; expected one of {', '.join(SHELLS)}")
    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell) + "\n"


def _esc(text: str) -> str:
    """Escape text for roff: backslashes, and dashes so options copy-paste as ASCII minus signs."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def _lines(text: str) -> list[str]:
    """Escaped lines of a paragraph; ``\\&`` keeps a leading dot or quote from reading as a request."""
    return [("\\&" + line if line.startswith((".", "'")) else line) for line in _esc(text).splitlines()]


def _paragraphs(help_text: str) -> list[str]:
    # Click conventions: text after \f is hidden from help, a paragraph starting with \b is not rewrapped.
    text = help_text.split("\f")[0].strip()
    return [p.replace("\b\n", "").strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _summary(command, path: str) -> str:
    paragraphs = _paragraphs(command.help or "")
    summary = " ".join(paragraphs[0].split()) if paragraphs else ""
    return summary.removeprefix(f"{path}: ").rstrip(".")


def _page_name(path: str) -> str:
    return path.replace(" ", "-")


def _walk(command, ctx, path):
    """Yield (command, context, path) for a command and every visible sub-command, depth first."""
    yield command, ctx, path
    if hasattr(command, "commands"):  # a group
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                sub_ctx = typer.Context(sub, parent=ctx, info_name=name, **sub.context_settings)
                yield from _walk(sub, sub_ctx, f"{path} {name}")


def _term(record_term: str) -> str:
    """``-v, --verbose`` / ``--chunks <str>`` as roff: flags bold, value placeholders italic."""
    words = []
    for word in record_term.split(" "):
        comma = "," if word.endswith(",") else ""
        word = word.removesuffix(",")
        font = "B" if word.startswith("-") else "I" if word.startswith("<") else "R"
        words.append(f"\\f{font}{_esc(word)}\\fR{comma}" if font != "R" else _esc(word + comma))
    return " ".join(words)


def _synopsis(command, ctx, path: str) -> list[str]:
    pieces = ["[\\fIOPTIONS\\fR]"]
    for param in command.get_params(ctx):
        if param.param_type_name == "argument" and not param.hidden:
            name = f"\\fI{_esc(param.name.upper())}\\fR" + ("..." if param.nargs == -1 else "")
            pieces.append(name if param.required else f"[{name}]")
    if hasattr(command, "commands"):
        pieces.append("\\fICOMMAND\\fR [\\fIARGS\\fR]...")
    return [".B " + _esc(path), " ".join(pieces)]


def _params_section(command, ctx, kind: str) -> list[str]:
    """An ARGUMENTS or OPTIONS section (kind is "argument" or "option"); empty if there are none."""
    out = []
    for param in command.get_params(ctx):
        if param.param_type_name != kind or param.hidden or param.name in _COMPLETION_OPTIONS:
            continue
        term, help_text = param.get_help_record(ctx) or ("", "")  # the pair ``--help`` prints
        term = f"\\fI{_esc(param.name.upper())}\\fR" if kind == "argument" else _term(term)
        out += [".TP", term, *_lines(help_text or "")]
    return [f".SH {kind.upper()}S", *out] if out else []


def _page(command, ctx, path: str) -> str:
    """The roff text of the page of the command at ``path`` ("seis benchmark ingest")."""
    name = _page_name(path)
    out = [
        f'.TH {_esc(name.upper())} 1 "" "{PROG} {__version__}" "{PROG} Manual"',
        ".nh",  # no hyphenation: it would split option values such as inline=189
        ".ad l",  # ragged right: no stretched spaces between words
        ".SH NAME",
        f"{_esc(name)} \\- {_esc(_summary(command, path))}",
        ".SH SYNOPSIS",
        *_synopsis(command, ctx, path),
        ".SH DESCRIPTION",
    ]
    for i, paragraph in enumerate(_paragraphs(command.help or "")):
        out += ([".PP"] if i else []) + _lines(paragraph)
    out += _params_section(command, ctx, "argument")
    out += _params_section(command, ctx, "option")

    # Every command below this one, with its page: "seis" lists "seis benchmark ingest" too.
    subs = [(c, p) for c, _, p in _walk(command, ctx, path) if p != path]
    if subs:
        out.append(".SH COMMANDS")
        for sub, sub_path in subs:
            out += [".TP", f"\\fB{_esc(sub_path)}\\fR", f"{_esc(_summary(sub, sub_path))}.",
                    f"See \\fB{_esc(_page_name(sub_path))}\\fR(1)."]  # fmt: skip

    if path == PROG:
        out += [".SH SHELL COMPLETION", *_lines(
            f"{PROG} --install-completion installs completion for the current shell; "
            f"{PROG} --show-completion prints the script instead. Ready-made scripts for bash, zsh "
            f"and fish are in the completions folder of the source tree; they call {PROG} back "
            f"with {COMPLETE_VAR} set.")]  # fmt: skip

    out.append(".SH EXIT STATUS")
    for code, meaning in _EXIT_STATUS:
        out += [".TP", f"\\fB{code}\\fR", _esc(meaning)]

    # SEE ALSO: the top page, the parent page and the pages of every command below this one.
    parent = [_page_name(path.rsplit(" ", 1)[0])] if path.count(" ") > 1 else []
    related = ([PROG] if path != PROG else []) + parent + [_page_name(p) for _, p in subs]
    out += [".SH SEE ALSO", ",\n".join(f"\\fB{_esc(p)}\\fR(1)" for p in related)] if related else []
    return "\n".join(out) + "\n"


def man_pages() -> dict[str, str]:
    """File name -> roff text: ``seis.1`` and one ``seis-<command>[-<sub>].1`` per (sub-)command."""
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name=PROG, **root.context_settings)
    return {f"{_page_name(path)}.1": _page(cmd, c, path) for cmd, c, path in _walk(root, ctx, PROG)}


def generated_files() -> dict[str, str]:
    """Path relative to the repository root -> content, for every generated file."""
    files = {f"completions/{PROG}.{shell}": completion_script(shell) for shell in SHELLS}
    files.update({f"man/{name}": text for name, text in man_pages().items()})
    return files


def write_all(root: Path) -> list[Path]:
    """Write every generated file under ``root``, delete stale ``man/seis*.1``; return the written paths."""
    files = generated_files()
    for stale in sorted((root / "man").glob(f"{PROG}*.1")):
        if f"man/{stale.name}" not in files:
            stale.unlink()
    written = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def repo_root() -> Path:
    """The folder holding pyproject.toml: seiscli/cli/_docs.py -> ../../.."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise SystemExit(f"no pyproject.toml in {root}: run this from a source checkout")
    return root


if __name__ == "__main__":
    for written in write_all(repo_root()):
        print(written.relative_to(repo_root()))
