"""A task checkpoint as a function of normalized windows: maps that blend, and what they become.

Segmentation blends class probabilities (binary: the positive class only) and ends as class ids the
way the task predicts them (binary: probability above the card's threshold; multiclass: argmax).
Velocity blends values in m/s. ``--tta`` averages the model's outputs with those of the mirrored
input, as ``seis evaluate`` does.
"""

import numpy as np

from seiscli.storage.predictions import Variable
from seiscli.training.tasks import BinarySegmentationTask, Task, VelocityTask


class Predictor:
    """Runs the model on batches of windows (B, C, *S) and returns blendable maps (B, K, *S)."""

    def __init__(self, model, task: Task, tta: bool = False, precision: str = "auto", mirror_channels: bool = False,
                 optimize: bool = True):  # fmt: skip
        import torch

        from seiscli.inference.optimize import prepare_for_inference
        from seiscli.training.engine import autocast_context

        self.task, self.tta = task, tta
        self.autocast, self.precision = autocast_context(torch.device("cpu"), precision)
        self.model = prepare_for_inference(model, self.precision) if optimize else model
        self.mirror = (1, -1) if mirror_channels else (-1,)
        self.binary = isinstance(task, BinarySegmentationTask)
        self.channels = 1 if self.binary or isinstance(task, VelocityTask) else task.num_classes

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))  # (B, C, *S)
        with torch.inference_mode(), self.autocast:
            output = self.model(x).float()  # (B, K, *S)
            if self.tta:
                output = (output + self.model(x.flip(self.mirror)).float().flip(-1)) / 2
        if isinstance(self.task, VelocityTask):
            return self.task.predict(output).numpy()  # (B, 1, *S) m/s
        probabilities = output.softmax(1)  # (B, K, *S)
        return (probabilities[:, 1:2] if self.binary else probabilities).numpy()

    def variables(self, probabilities: bool) -> list[Variable]:
        """The variables a prediction writes, class ids (or velocity) first."""
        name = self.task.name
        if isinstance(self.task, VelocityTask):
            return [Variable(name, "float32", {"units": "m/s"})]
        classes = {"classNames": self.task.class_names}
        if self.binary:
            classes["threshold"] = self.task.threshold
        out = [Variable(name, "uint8", classes)]
        if probabilities and self.binary:
            out.append(Variable(f"{name}_probability", "float16", {"className": self.task.class_names[1]}))
        elif probabilities:
            out += [Variable(f"{name}_probability_{k}", "float16", {"className": class_name})
                    for k, class_name in enumerate(self.task.class_names)]  # fmt: skip
        return out

    def finish(self, maps: np.ndarray, probabilities: bool) -> list[np.ndarray]:
        """Blended maps (K, I, X, T) -> the arrays of ``variables(probabilities)``, in their order."""
        if isinstance(self.task, VelocityTask):
            return [maps[0].astype(np.float32)]
        if self.binary:
            ids = (maps[0] > self.task.threshold).astype(np.uint8)
        else:
            ids = maps.argmax(0).astype(np.uint8)
        return [ids, *(maps.astype(np.float16) if probabilities else [])]
