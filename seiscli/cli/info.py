"""``seis info PATH``."""

from pathlib import Path
from typing import Annotated, Any

import typer

from seiscli.cli._options import with_common_options
from seiscli.cli._runner import Common, run_command


@with_common_options
def info(
    common: Common,
    path: Annotated[
        Path | None, typer.Argument(help="Artifact to describe: a store, a SEG-Y file or a checkpoint.")
    ] = None,
    models: Annotated[bool, typer.Option("--models", help="List the registered models instead.")] = False,
) -> None:
    """Describe an artifact: geometry, traces, storage, statistics and provenance; or list the models."""

    if models == (path is not None):
        raise typer.BadParameter("give either an artifact PATH or --models")

    def stage(progress):
        from seiscli.stages.info import model_catalogue, run_info

        return model_catalogue() if models else run_info(path)

    run_command(common, stage, lambda facts: (format_facts(facts), facts, None))


def format_facts(facts: dict[str, Any]) -> str:
    """The human summary of ``seis info``."""
    formats = {"models": format_models, "segy": format_segy, "labels": format_labels, "dataset": format_dataset, "synth": format_synth,
               "checkpoint": format_checkpoint}  # fmt: skip
    return formats.get(facts["kind"], format_volume)(facts)


def format_models(facts: dict[str, Any]) -> str:
    width = max(len(entry["name"]) for entry in facts["models"])
    return "\n".join(f"{entry['name']:<{width}}  {entry['doc']}" for entry in facts["models"])


def _made_by(facts: dict[str, Any]) -> list[str]:
    prov = facts.get("provenance")
    return [f"  made by    {prov['command']} (seis {prov['seisVersion']}, {prov['createdOn']})"] if prov else []


def format_labels(facts: dict[str, Any]) -> str:
    dims = " x ".join(f"{n} {d}" for d, n in facts["dims"].items())
    lines = [f"{facts['path']}: label store, {dims}"]
    for task, entry in facts["variables"].items():
        if "classes" in entry:
            classes = ", ".join(f"{name} {count}" for name, count in entry["classes"].items())
            lines.append(f"  {task:<10} {entry['dtype']}: {classes}")
        else:
            lines.append(
                f"  {task:<10} {entry['dtype']} {entry['min']:.6g} .. {entry['max']:.6g} {entry['units'] or ''}"
            )
    return "\n".join(lines + _made_by(facts))


def format_dataset(facts: dict[str, Any]) -> str:
    splits = ", ".join(f"{name} {count}" for name, count in facts["splits"].items())
    lines = [
        f"{facts['path']}: dataset store for {facts['task']}, {facts['samples']} samples ({splits})",
        f"  x          {facts['x']['shape']} {facts['x']['dtype']}",
        f"  y          {facts['y']['shape']} {facts['y']['dtype']}" if facts["y"] else "  y          none (unlabelled)",
    ]
    if patch := facts.get("patch"):
        lines.append(f"  patches    {', '.join(f'{k} {v}' for k, v in patch.items() if k != 'layout')}")
    if norm := facts.get("normalization"):
        settings = {k: v for k, v in norm.items() if k in ("clip", "percentiles", "agcWindow")}
        lines.append(
            f"  normalize  {norm.get('method')} {settings}, statistics per source: {len(norm.get('perSource', []))}"
        )
    if facts["class_names"]:
        frequencies = facts.get("class_frequencies") or {}
        shown = [
            f"{name} {100 * frequencies[name]:.1f}%" if name in frequencies else name for name in facts["class_names"]
        ]
        lines.append(f"  classes    {', '.join(shown)}")
    return "\n".join(lines + _made_by(facts))


def format_checkpoint(facts: dict[str, Any]) -> str:
    task = facts["task"]["name"]
    meaning = "masked-autoencoder pretraining" if task == "pretrain" else ", ".join(facts["classes"] or []) or task
    shape = "x".join(map(str, facts["sample_shape"] or []))
    lines = [f"{facts['path']}: checkpoint of {facts['model']['name']} ({task}: {meaning}), samples {shape}"]
    if metrics := facts.get("metrics"):
        shown = {
            k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items() if not isinstance(v, dict | list)
        }
        lines.append(f"  metrics    {', '.join(f'{k} {v}' for k, v in shown.items())}")
    if encoder := facts.get("encoder"):
        lines.append(
            f"  encoder    {encoder['prefix']}* for seis finetune --init with: {', '.join(encoder['finetune_models'])}"
        )
    for source in facts.get("corpus") or []:
        lines.append(f"  trained on {source['path']} ({source['samples']} {source['task']} samples)")
    return "\n".join(lines + _made_by(facts))


def format_synth(facts: dict[str, Any]) -> str:
    lines = [f"{facts['path']}: seis synth {facts['made']} folder, {facts['count']} item(s)"]
    lines += [f"  {name}" for name in facts["files"][:12]]
    if len(facts["files"]) > 12:
        lines.append(f"  ... and {len(facts['files']) - 12} more")
    return "\n".join(lines + _made_by(facts))


def format_segy(facts: dict[str, Any]) -> str:
    interval = facts["sample_interval"] / 1000
    lines = [
        f"{facts['path']}: SEG-Y, {facts['traces']} traces x {facts['samples_per_trace']} samples @ {interval:g} "
        f"ms (or m), {facts['sample_format_name']} (format {facts['sample_format']}), "
        f"{facts['byte_order']}-endian, {facts['text_encoding']} text header"
    ]
    grid = facts["grid"]
    if "error" in grid:
        lines.append(f"  grid       none with the default header bytes: {grid['error']}")
    else:
        for dim, axis in grid["coordinates"].items():
            step = f" step {axis['step']}" if axis["step"] is not None else ""
            lines.append(f"  {dim:<10} {axis['min']} .. {axis['max']} ({axis['count']}){step}")
        lines.append(f"  traces     {grid['traces']['live']} live, {grid['traces']['dead']} missing on the grid")
    text = [line.rstrip() for line in facts["text_header"].splitlines() if line[3:].strip()]
    return "\n".join(lines + ["  text header:"] + [f"    {line}" for line in text])


def format_volume(facts: dict[str, Any]) -> str:
    dims = " x ".join(f"{n} {d}" for d, n in facts["dims"].items())
    lines = [f"{facts['path']}: {facts['kind']} ({facts['template']}), {dims}"]
    for dim, axis in facts["coordinates"].items():
        step = f" step {axis['step']}" if axis["step"] is not None else ""
        lines.append(f"  {dim:<10} {axis['min']} .. {axis['max']}{step}")
    traces = facts["traces"]
    lines.append(f"  traces     {traces['live']} live, {traces['dead']} missing")
    ratio = f", ratio {facts['compression_ratio']}" if facts["compression_ratio"] else ""
    codecs = "+".join(facts["compression"]) or "uncompressed"
    lines.append(f"  storage    {facts['dtype']}, chunks {facts['chunks']}, {codecs}, "
                 f"{facts['stored_bytes'] / 1e6:.2f} MB{ratio}")  # fmt: skip
    if stats := facts["statistics"]:
        lines.append(f"  amplitude  min {stats['min']:.6g}, max {stats['max']:.6g}, "
                     f"mean {stats['mean']:.6g}, std {stats['std']:.6g}, rms {stats['rms']:.6g}")  # fmt: skip
    if segy := facts["segy"]:
        lines.append(f"  from SEG-Y {segy.get('sampleFormatName')} (format {segy.get('sampleFormat')}), "
                     f"{segy.get('byteOrder')}-endian, {segy.get('textEncoding')} text header")  # fmt: skip
    return "\n".join(lines + _made_by(facts))
