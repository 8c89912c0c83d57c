"""What every command does around its stage: config layering, progress, errors, output."""

import json
import logging
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer

from seiscli.cli._errors import describe

R = TypeVar("R")
log = logging.getLogger("seis")


@dataclass(frozen=True)
class Common:
    """The options every command takes."""

    json: bool = False
    config: Path | None = None
    verbose: int = 0
    quiet: bool = False
    debug: bool = False


def invocation():
    """The command as the user typed it, and the time to record, for provenance."""
    from seiscli.settings import reproducible_time
    from seiscli.storage.provenance import Invocation

    return Invocation(shlex.join(["seis", *sys.argv[1:]]), reproducible_time())


def resolve_config(model: type, command: str, common: Common, flags: dict[str, Any]):
    """flags > --config file > SEIS_<COMMAND>_* environment > defaults, validated strictly."""
    from seiscli.config.base import load_config_file, resolve
    from seiscli.settings import command_env

    env = command_env(command, list(model.model_fields))
    from_file = load_config_file(common.config, command) if common.config else {}
    return resolve(model, env, from_file, flags)


class _StderrProgress:
    """A rich progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, console, enabled: bool):
        self.console = console
        self.enabled = enabled and console.is_terminal
        self.bar = None
        self.task = None

    def start(self, description: str, total: int) -> None:
        if not self.enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.stop()
        self.bar = Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            "{task.fields[status]}", console=self.console, transient=True)  # fmt: skip
        self.bar.start()
        self.task = self.bar.add_task(description, total=total, status="")

    def advance(self, amount: int = 1, status: str | None = None) -> None:
        if self.bar is not None:
            fields = {} if status is None else {"status": status}
            self.bar.update(self.task, advance=amount, **fields)

    def log(self, message: str) -> None:
        log.info(message)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _setup_logging(common: Common):
    """Plain one-line messages on stderr; the rich console only draws progress bars."""
    from rich.console import Console

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.ERROR if common.quiet else logging.DEBUG if common.verbose else logging.INFO)
    log.propagate = False
    return Console(stderr=True, highlight=False)


def run_command(
    common: Common,
    stage: Callable[[Any], R],
    report: Callable[[R], tuple[str, dict[str, Any], str | None]],
) -> None:
    """Run ``stage(progress)``; print its result; map errors to exit codes 1 and 130.

    ``report`` turns the result into (stdout text, JSON object, optional summary for stderr).
    """
    from seiscli.errors import SeisError
    from seiscli.settings import Settings

    debug = common.debug or Settings().debug
    console = _setup_logging(common)
    progress = _StderrProgress(console, enabled=not common.quiet)
    try:
        result = stage(progress)
    except SeisError as error:
        progress.stop()
        if debug:
            raise
        print(describe(error), file=sys.stderr)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as interrupt:
        progress.stop()
        print(getattr(interrupt, "message", "interrupted: nothing was written"), file=sys.stderr)
        raise typer.Exit(130) from None
    except Exception as error:  # a bug, not a user error: one line unless debugging
        progress.stop()
        if debug:
            raise
        print(f"error: internal error: {type(error).__name__}: {error}".splitlines()[0], file=sys.stderr)
        print("  hint: rerun with --debug for the traceback and report it", file=sys.stderr)
        raise typer.Exit(1) from None
    progress.stop()
    text, payload, summary = report(result)
    for warning in getattr(result, "warnings", []):
        log.warning("warning: %s", warning)
    if summary:
        log.info(summary)
    print(json.dumps(payload, default=str) if common.json else text, flush=True)
