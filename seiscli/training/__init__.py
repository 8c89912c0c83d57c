"""Training: a generic loop of hooks, the tasks it runs (losses, predictions) and their metrics."""
