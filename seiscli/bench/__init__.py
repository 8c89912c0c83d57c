"""Benchmarks: seis measured side by side with the tools users would otherwise reach for."""
