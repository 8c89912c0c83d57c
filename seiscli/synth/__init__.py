"""Synthetic data on demand: labelled geology turned into seismic, and OpenFWI-style shot gathers."""

MANIFEST = "synth.json"  # what a seis synth folder holds: its files, facts and provenance
