"""Inference: sliding-window arithmetic (pure functions), the model as a window function, the streaming sweep."""
