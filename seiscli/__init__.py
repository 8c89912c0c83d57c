"""seis: the command-line toolchain for machine learning on seismic data."""

__version__ = "0.1.0"
