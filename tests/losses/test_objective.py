"""MERObjective: a training step's whole loss, in plain torch, on the recognizer's output tensors."""

from __future__ import annotations

import inspect
import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from mer_contrast.losses import ContrastiveLoss, stable_text_ids
from mer_contrast.losses.objective import MERObjective

TEXTS = ["AU4", "AU12 raised", "AU1 and AU2", "AU12 raised"]


def outputs(with_text: bool = True) -> dict[str, Tensor]:
    """What ``MERRecognizer(rgb, flow, texts)`` returns, from fixed random tensors."""
    generator = torch.Generator().manual_seed(0)
    result = {"logits": torch.randn(4, 3, generator=generator, requires_grad=True)}
    if not with_text:
        return result
    return result | {
        "visual_embedding": torch.randn(4, 8, generator=generator, requires_grad=True),
        "text_embedding": torch.randn(4, 8, generator=generator, requires_grad=True),
        "text_features": torch.randn(4, 16, generator=generator),
        "logit_scale": torch.tensor(math.log(1 / 0.07), requires_grad=True),
    }


LABELS = torch.tensor([0, 1, 2, 1])
HEAD = torch.randn(8, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)


def classify_text(embedding: Tensor) -> Tensor:
    """Stands in for ``MERRecognizer.classify_embedding``: a fixed linear head."""
    return embedding @ HEAD


def test_without_text_it_is_the_classification_loss() -> None:
    objective = MERObjective(3, None, joint_head=False, contrastive_weight=0.0)
    out = outputs(with_text=False)
    loss, terms = objective(**out, labels=LABELS)
    assert torch.allclose(loss, F.cross_entropy(out["logits"], LABELS)) and set(terms) == {"train_ce"}
    assert objective.contrastive_loss is None


@pytest.mark.parametrize("joint_head", [False, True])
def test_the_text_terms_add_up(joint_head: bool) -> None:
    objective = MERObjective(
        3, 16, joint_head, contrastive_weight=0.5, text_classification_weight=2.0, distill_weight=0.3
    ).eval()  # eval: the teacher's dropout off, so the terms can be recomputed
    out = outputs()
    HEAD.grad = None
    loss, terms = objective(
        **out, labels=LABELS, text_ids=stable_text_ids(TEXTS), classify_text=classify_text
    )
    expected = terms["train_ce"] + 0.5 * terms["train_contrastive"]
    expected = expected + terms["train_teacher_ce"] + 0.3 * terms["train_distill"]
    if joint_head:
        expected = expected + 2.0 * terms["train_text_ce"]
    assert ("train_text_ce" in terms) == joint_head  # the sentences train the head only when it is joint
    assert torch.allclose(loss, expected)
    assert terms["train_temperature"].item() == pytest.approx(0.07)
    loss.backward()
    for name in ("visual_embedding", "text_embedding", "logit_scale"):  # the model's tensors get gradients
        assert out[name].grad is not None and out[name].grad.abs().sum() > 0, name
    assert (HEAD.grad is not None) == joint_head  # the head is called only for its term


def test_the_contrastive_term_is_the_contrastive_loss_at_the_given_scale() -> None:
    objective = MERObjective(3, 16, False, contrastive_weight=1.0, positives="text")
    out = outputs()
    ids = stable_text_ids(TEXTS)
    _, terms = objective(**out, labels=LABELS, text_ids=ids)
    direct = ContrastiveLoss("text")(out["visual_embedding"], out["text_embedding"], out["logit_scale"], ids)
    assert torch.equal(terms["train_contrastive"], direct)
    warmer = {**out, "logit_scale": torch.tensor(0.0)}
    assert not torch.equal(objective(**warmer, labels=LABELS, text_ids=ids)[1]["train_contrastive"], direct)


def test_the_joint_head_reads_the_sentences_after_the_infonce_term_is_built() -> None:
    """The order a seeded run's numbers depend on: autograd sums the text embedding's gradients in
    the reverse order of the operations that read it (see the objective's docstring)."""
    objective = MERObjective(3, 16, True, text_classification_weight=1.0, positives="pairs")
    assert objective.contrastive_loss is not None
    events: list[str] = []
    objective.contrastive_loss.register_forward_hook(lambda *args: events.append("InfoNCE"))

    def head(embedding: Tensor) -> Tensor:
        events.append("text head")
        return classify_text(embedding)

    objective(**outputs(), labels=LABELS, classify_text=head)
    assert events == ["InfoNCE", "text head"]


def test_missing_outputs_are_one_line_errors() -> None:
    objective = MERObjective(3, 16, True, text_classification_weight=1.0, positives="pairs")
    with pytest.raises(ValueError, match="needs visual_embedding, text_embedding and logit_scale"):
        objective(**outputs(with_text=False), labels=LABELS)
    with pytest.raises(ValueError, match="needs classify_text"):
        objective(**outputs(), labels=LABELS)


def test_the_objective_takes_tensors_and_owns_no_temperature() -> None:
    objective = MERObjective(3, 16, True, distill_weight=1.0)
    names = {name for name, _ in objective.named_parameters()}
    assert names == {"distillation.teacher.weight", "distillation.teacher.bias"}  # no logit_scale
    parameters = inspect.signature(MERObjective.forward).parameters
    assert "model" not in parameters and all(
        "Tensor" in str(p.annotation)
        for name, p in parameters.items()
        if name not in ("self", "classify_text")
    )


def test_the_objective_imports_no_lightning() -> None:
    script = (
        "import sys, mer_contrast.losses.objective\n"
        "print(any(m.startswith('lightning') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
