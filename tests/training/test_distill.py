"""seis distill with a tiny teacher trained once per module: learning from it, resume, refusals, the CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from typer.testing import CliRunner

from seiscli.cli.main import app
from seiscli.config.distill import DistillConfig
from seiscli.config.evaluate import EvaluateConfig
from seiscli.data.loader import make_loader
from seiscli.errors import ConfigError, NotAnArtifactError
from seiscli.models import create_model
from seiscli.stages.distill import run_distill
from seiscli.stages.evaluate import run_evaluate
from seiscli.storage.dataset import DatasetLayout, create_dataset_store, open_dataset
from seiscli.training.checkpoint import load_checkpoint, load_state, read_card
from seiscli.training.distill import DistillationTask, DistilledStudent, compare, projection, soft_kl_loss
from seiscli.training.tasks import make_task

sys.path.insert(0, os.path.dirname(__file__))
from test_finetune import blobs_dataset, finetune  # noqa: E402

STUDENT = "tiny_unet_gn"  # GroupNorm and bilinear upsampling: another architecture than the teacher's


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """(salt dataset, a tiny U-Net teacher trained on it to a val mIoU near 0.95)."""
    folder = tmp_path_factory.mktemp("teacher")
    data = blobs_dataset(folder / "d.zarr", n=128)
    finetune(folder, data, "run", epochs=6, batch_size=8, lr=1e-2, warmup_epochs=0.5, ema=None, augment=False)
    return data, folder / "run" / "best.safetensors"


def copy_store(source, path, labelled=False, normalization=None):
    """``source``'s inputs and splits in a new store: without its targets, or with another normalization."""
    store = open_dataset(source)
    attrs = {k: v for k, v in store.attrs.items() if k not in ("sampleShape", "kind", "task", "classNames", "splits")}
    if normalization is not None:
        attrs["normalization"] = normalization
    layout = DatasetLayout(store.attrs["task"], len(store), store.x.shape[1:], store.y.shape[1:] if labelled else None,
                           "uint8", class_names=store.attrs["classNames"])  # fmt: skip
    group = create_dataset_store(path, layout, attrs)
    group["x"][:], group["split"][:] = store.x[...], store.group["split"][...]
    if labelled:
        group["y"][:] = store.y[...]
    return path


def distill(tmp_path, teacher_path, data, name="student", progress=None, **options):
    defaults = {"student": STUDENT, "epochs": 3, "batch_size": 8, "workers": 0, "lr": 1e-2, "warmup_epochs": 0.5,
                "ema": None, "augment": False}  # fmt: skip
    cfg = DistillConfig(teacher=teacher_path, dataset=str(data), out=tmp_path / name, **{**defaults, **options})
    return run_distill(cfg, progress=progress)


def agreement_of_untrained_student(teacher_path, data, seed=0):
    """The val mIoU against the teacher's predictions of the student as distillation starts."""
    card, teacher = load_checkpoint(teacher_path)
    torch.manual_seed(seed)
    student = create_model(STUDENT, in_channels=1, num_classes=2).eval()
    loader = make_loader(data, "val", 8, 0, None, shuffle=False)
    return compare(make_task(**card["task"]), teacher, student, loader, torch.device("cpu"))["agreement"]["miou"]


def log_of(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_distillation_moves_the_student_towards_the_teacher(tmp_path, teacher):
    data, teacher_path = teacher
    result = distill(tmp_path, teacher_path, data, epochs=4)
    before = agreement_of_untrained_student(teacher_path, data)
    comparison = result.comparison
    assert comparison["student"]["agreement"]["miou"] > max(before + 0.2, 0.8)
    losses = [entry["train_loss"] for entry in log_of(tmp_path / "student")]
    assert losses[-1] < losses[0]
    # the report's numbers are the models' own: parameters, and the metrics seis evaluate finds
    best = tmp_path / "student" / "best.safetensors"
    for role, path in (("teacher", teacher_path), ("student", best)):
        card, model = load_checkpoint(path)
        row = comparison[role]
        assert row["model"] == card["model"]["name"] and row["samples_per_second"] > 0
        assert row["parameters"] == sum(p.numel() for p in model.parameters())
        evaluated = run_evaluate(EvaluateConfig(model=path, dataset=str(data), split="val", batch_size=8, workers=0))
        assert row["metrics"]["miou"] == pytest.approx(evaluated.metrics["miou"], abs=1e-3)
    assert comparison["student"]["metrics"]["miou"] > 0.7  # the labels' loss and the teacher's agree here
    card = read_card(best)
    assert card["model"]["name"] == STUDENT and card["task"] == read_card(teacher_path)["task"]
    assert card["teacher"]["model"]["name"] == "tiny_unet" and card["training"]["student"] == STUDENT
    assert json.loads((tmp_path / "student" / "comparison.json").read_text()) == comparison


def test_an_unlabelled_store_trains_on_the_teacher_alone(tmp_path, teacher):
    data, teacher_path = teacher
    unlabelled = copy_store(data, tmp_path / "u.zarr")
    result = distill(tmp_path, teacher_path, unlabelled, epochs=4)
    before = agreement_of_untrained_student(teacher_path, data)
    assert result.comparison["teacher"]["metrics"] is None and result.comparison["student"]["metrics"] is None
    assert result.comparison["student"]["agreement"]["miou"] > max(before + 0.2, 0.8)
    # validated against the teacher's predictions: the best checkpoint agrees with it as the log says
    assert result.best["miou"] == max(entry["val"]["miou"] for entry in log_of(tmp_path / "student"))
    assert result.comparison["student"]["agreement"]["miou"] == pytest.approx(result.best["miou"], abs=1e-3)


def test_feature_matching_trains_and_saves_the_plain_student(tmp_path, teacher):
    data, teacher_path = teacher
    result = distill(tmp_path, teacher_path, data, epochs=2, feature_weight=1.0)
    losses = [entry["train_loss"] for entry in log_of(tmp_path / "student")]
    assert losses[-1] < losses[0]
    state = load_state(tmp_path / "student" / "last.safetensors")["model"]
    assert any(k.startswith("projection.") for k in state)  # trained and resumable ...
    saved = load_file(tmp_path / "student" / "last.safetensors")
    assert saved.keys() == create_model(STUDENT).state_dict().keys()  # ... but not saved with the student
    assert all(torch.equal(saved[k], state[f"student.{k}"]) for k in saved)
    best = tmp_path / "student" / "best.safetensors"
    evaluated = run_evaluate(EvaluateConfig(model=best, dataset=str(data), split="val", batch_size=8, workers=0))
    assert evaluated.metrics["miou"] == pytest.approx(result.comparison["student"]["metrics"]["miou"], abs=1e-3)
    tuned = finetune(tmp_path, data, "tuned", model=STUDENT, epochs=1, init=best)
    assert tuned.epochs == 1 and read_card(tmp_path / "tuned" / "best.safetensors")["model"]["name"] == STUDENT


class _KillAt:
    """Progress that interrupts the run in the middle of epoch ``epoch``, as Ctrl-C or a kill would."""

    def __init__(self, epoch):
        self.epoch, self.title = epoch, ""

    def start(self, description, total):
        self.title = description

    def advance(self, amount=1, status=None):
        if self.title.startswith(f"epoch {self.epoch}/"):
            raise KeyboardInterrupt

    def log(self, message):
        pass


def test_interrupted_run_resumes_to_the_same_student(tmp_path, teacher):
    data, teacher_path = teacher
    options = {"epochs": 3, "feature_weight": 0.5, "ema": 0.9, "augment": True}
    straight = distill(tmp_path, teacher_path, data, "straight", **options)
    with pytest.raises(KeyboardInterrupt, match="keeps its last complete epoch; rerun with --resume"):
        distill(tmp_path, teacher_path, data, "killed", progress=_KillAt(2), **options)
    kept_epochs = [entry["epoch"] for entry in log_of(tmp_path / "killed")]
    assert kept_epochs == [1]
    resumed = distill(tmp_path, teacher_path, data, "killed", resume=True, **options)
    first, second = (load_file(tmp_path / run / "last.safetensors") for run in ("straight", "killed"))
    assert all(torch.allclose(first[k].float(), second[k].float(), atol=1e-6) for k in first)
    assert resumed.epochs == 3 and resumed.best == straight.best
    assert resumed.comparison["student"]["agreement"] == straight.comparison["student"]["agreement"]


def test_refusals_leave_no_run_folder(tmp_path, teacher):
    data, teacher_path = teacher
    faults = blobs_dataset(tmp_path / "f.zarr", n=32, task="fault")
    with pytest.raises(ConfigError, match="is a salt model; .* holds fault data"):
        distill(tmp_path, teacher_path, faults)
    with pytest.raises(ConfigError, match="unknown model 'no_such_net'"):
        distill(tmp_path, teacher_path, data, student="no_such_net")
    zscored = copy_store(data, tmp_path / "z.zarr", labelled=True, normalization={"method": "zscore", "clip": 3.0})
    with pytest.raises(ConfigError, match="not normalized like the teacher's data: clip 3.0 .teacher: None., method"):
        distill(tmp_path, teacher_path, zscored)
    with pytest.raises(NotAnArtifactError, match="not a safetensors checkpoint"):
        distill(tmp_path, data / "zarr.json", data)
    assert not (tmp_path / "student").exists()


def test_the_statistics_of_another_survey_are_no_mismatch(tmp_path, teacher):
    data, teacher_path = teacher
    other = {"method": "none", "stats": {"mean": 1.0}, "perSource": [{"mean": 1.0}]}
    result = distill(tmp_path, teacher_path, copy_store(data, tmp_path / "o.zarr", True, other), epochs=1)
    assert result.epochs == 1


def test_soft_loss_of_classes_is_the_tempered_kl_times_t_squared():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)  # (B, K, H, W)
    for t in (1.0, 4.0):
        log_s, log_t = F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1)
        expected = F.kl_div(log_s, log_t, log_target=True, reduction="sum") / (2 * 4 * 5) * t * t
        assert soft_kl_loss(student, teacher, t) == pytest.approx(float(expected), rel=1e-5)
    assert float(soft_kl_loss(teacher, teacher, 2.0)) == pytest.approx(0.0, abs=1e-6)


def test_velocity_distills_by_mse_and_labels_mix_in_by_alpha():
    torch.manual_seed(0)
    task = make_task("velocity")
    teacher = create_model("tiny_unet", num_classes=1).eval()
    student = DistilledStudent(create_model("tiny_unet_gn", num_classes=1))
    x = torch.randn(2, 1, 16, 16)  # (B, C, H, W)
    y = 1500 + 3000 * torch.rand(2, 1, 16, 16)  # m/s
    output = student(x)
    with torch.no_grad():
        mse = F.mse_loss(output[0], teacher(x))
    unlabelled = DistillationTask(task, teacher, alpha=0.3).loss(output, None, inputs=x)
    assert unlabelled.keys() == {"loss", "soft"} and float(unlabelled["loss"].detach()) == pytest.approx(
        float(mse), rel=1e-5
    )
    labelled = DistillationTask(task, teacher, alpha=0.3).loss(output, y, inputs=x)
    hard = task.loss(output[0], y)["loss"]
    assert float(labelled["loss"].detach()) == pytest.approx(float(0.3 * mse + 0.7 * hard.detach()), rel=1e-5)
    labelled["loss"].backward()
    assert all(p.grad is not None for p in student.parameters()) and not any(
        p.requires_grad for p in teacher.parameters()
    )


def test_features_match_through_a_projection_onto_the_teachers_grid():
    torch.manual_seed(0)
    task = make_task("salt")
    teacher = create_model("tiny_vit_pup").eval()  # tokens (B, 32, 3, 3) at 42 x 42 padded
    unet = create_model("tiny_unet")  # deepest map (B, 32, 4, 4)
    student = DistilledStudent(unet, projection(unet, teacher, (1, 32, 32)))
    x = torch.randn(2, 1, 32, 32)  # (B, C, H, W)
    logits, projected = student(x)
    assert logits.shape == (2, 2, 32, 32) and projected.shape[:2] == (2, 32)
    parts = DistillationTask(task, teacher, feature_weight=2.0).loss((logits, projected), None, inputs=x)
    assert float(parts["loss"].detach()) == pytest.approx(float(parts["soft"] + 2.0 * parts["features"]), rel=1e-5)
    parts["loss"].backward()
    assert student.projection.weight.grad.abs().sum() > 0


def test_command_prints_the_run_and_the_comparison(tmp_path, teacher):
    data, teacher_path = teacher
    command = [sys.executable, "-m", "seiscli", "distill", str(teacher_path), str(data), str(tmp_path / "run"),
               "--student", STUDENT, "--epochs", "1", "--batch-size", "8", "--workers", "0", "--alpha", "0.8",
               "--temperature", "3"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEIS_")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path / 'run'}\n"
    assert "teacher  tiny_unet" in done.stderr and f"student  {STUDENT}" in done.stderr
    training = read_card(tmp_path / "run" / "best.safetensors")["training"]
    assert (training["alpha"], training["temperature"], training["epochs"]) == (0.8, 3.0, 1)
    again = CliRunner().invoke(app, [*command[3:], "--json", "--resume"], env={"SEIS_DISTILL_SPLIT": "test"})
    assert again.exit_code == 0, again.output
    payload = json.loads(again.stdout)  # one object: the run and the comparison, now on the test split
    assert payload["path"] == str(tmp_path / "run") and payload["epochs"] == 1 and payload["split"] == "test"
    assert payload["teacher"]["parameters"] > 0 and payload["student"]["agreement"]["miou"] is not None
    assert np.isfinite(payload["student"]["samples_per_second"])
    refused = CliRunner().invoke(app, [*command[3:6], str(tmp_path / "other"), "--student", "no_such_net"])
    assert refused.exit_code == 1 and refused.stdout == "" and not (tmp_path / "other").exists()
    assert refused.stderr.startswith("error: bad option: unknown model 'no_such_net'")
