"""MERObjective: a training step's whole loss, in plain torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from mer_contrast.losses.objective import MERObjective, upgrade_loss_keys


class FakeJointSpace:
    """The three recognizer methods the objective calls: fixed random projections."""

    def __init__(self, dim: int = 8, classes: int = 3) -> None:
        generator = torch.Generator().manual_seed(0)
        self.text_weight = torch.randn(16, dim, generator=generator)
        self.video_weight = torch.randn(dim, dim, generator=generator, requires_grad=True)
        self.head = torch.randn(dim, classes, generator=generator)

    def encode_text(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        features = torch.stack([torch.full((16,), float(len(t))) for t in texts]) + torch.arange(16.0)
        return features, F.normalize(features @ self.text_weight, dim=-1)

    def project_video(self, feat: Tensor) -> Tensor:
        return F.normalize(feat @ self.video_weight, dim=-1)

    def classify_embedding(self, embedding: Tensor) -> Tensor:
        return embedding @ self.head


def batch() -> tuple[Tensor, Tensor, Tensor, list[str]]:
    feat = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    return feat, logits, torch.tensor([0, 1, 2, 1]), ["AU4", "AU12 raised", "AU1 and AU2", "AU12 raised"]


def test_without_text_it_is_the_classification_loss() -> None:
    objective = MERObjective(3, None, joint_head=False, contrastive_weight=0.0)
    feat, logits, labels, texts = batch()
    loss, terms = objective(FakeJointSpace(), feat, logits, labels, texts)
    assert torch.allclose(loss, F.cross_entropy(logits, labels)) and set(terms) == {"train_ce"}
    assert objective.contrastive_loss is None and objective.temperature is None


@pytest.mark.parametrize("joint_head", [False, True])
def test_the_text_terms_add_up(joint_head: bool) -> None:
    objective = MERObjective(
        3, 16, joint_head, contrastive_weight=0.5, text_classification_weight=2.0, distill_weight=0.3
    ).eval()  # eval: the teacher's dropout off, so the terms can be recomputed
    feat, logits, labels, texts = batch()
    loss, terms = objective(FakeJointSpace(), feat, logits, labels, texts)
    expected = terms["train_ce"] + 0.5 * terms["train_contrastive"]
    expected = expected + terms["train_teacher_ce"] + 0.3 * terms["train_distill"]
    if joint_head:
        expected = expected + 2.0 * terms["train_text_ce"]
    assert ("train_text_ce" in terms) == joint_head  # the sentences train the head only when it is joint
    assert torch.allclose(loss, expected)
    assert objective.temperature == pytest.approx(0.07)
    loss.backward()  # reaches the video projection through the contrastive term


def test_old_loss_keys_move_under_objective() -> None:
    state = {"contrastive_loss.logit_scale": torch.tensor(1.0), "model.classifier.weight": torch.ones(1)}
    assert upgrade_loss_keys(state) and set(state) == {
        "objective.contrastive_loss.logit_scale",
        "model.classifier.weight",
    }
    assert not upgrade_loss_keys(state)


def test_the_objective_imports_no_lightning() -> None:
    script = (
        "import sys, mer_contrast.losses.objective\n"
        "print(any(m.startswith('lightning') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
