"""The look every seis picture shares: the figure, and the colours of labels drawn over seismic."""

# Colour map and opacity of each task's labels drawn over a section.
OVERLAY = {"fault": ("Reds", 0.9), "salt": ("cool", 0.45), "facies": ("tab10", 0.35), "velocity": ("jet", 0.45)}


def figure(ncols: int, width: float = 6.0, height: float = 5.0, nrows: int = 1, **layout):
    """A figure of ``nrows`` x ``ncols`` panels of ``width`` x ``height`` inches each, drawn off-screen.

    ``layout`` goes to ``plt.subplots`` (``sharex``, ``height_ratios`` ...)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = (width * ncols, height * nrows)
    return plt.subplots(nrows, ncols, figsize=size, constrained_layout=True, squeeze=nrows == 1, **layout)
