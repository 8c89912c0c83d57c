"""The seis app: a table of contents of its commands."""

import typer

from seiscli.cli.benchmark import benchmark_app
from seiscli.cli.demo import demo
from seiscli.cli.distill import distill
from seiscli.cli.evaluate import evaluate
from seiscli.cli.export import export
from seiscli.cli.finetune import finetune
from seiscli.cli.infer import infer
from seiscli.cli.info import info
from seiscli.cli.ingest import ingest
from seiscli.cli.plot import plot
from seiscli.cli.preprocess import preprocess
from seiscli.cli.pretrain import pretrain
from seiscli.cli.quantize import quantize
from seiscli.cli.synth import synth

app = typer.Typer(
    name="seis",
    help="seis: machine learning on seismic data, one Unix-style command per step.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command()(ingest)
app.command()(info)
app.command()(export)
app.command()(synth)
app.command()(preprocess)
app.command()(pretrain)
app.command()(finetune)
app.command()(evaluate)
app.command()(infer)
app.command()(distill)
app.command()(quantize)
app.command()(plot)
app.command()(demo)
app.add_typer(benchmark_app, name="benchmark")


def _version(value: bool) -> None:
    if value:
        from seiscli import __version__

        print(f"seis {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """seis: machine learning on seismic data, one Unix-style command per step."""


def main() -> None:
    app(prog_name="seis")
