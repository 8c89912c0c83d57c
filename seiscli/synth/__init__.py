"""Synthetic data on demand: labelled geology turned into seismic, and OpenFWI-style shot gathers."""
