"""Models outside PyTorch: ONNX export (``export``) and ONNX Runtime sessions that stand in for a checkpoint
(``runtime``)."""
