"""TextDistillation: the teacher learns from labels only, the KL moves the video logits only."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mer_contrast.losses.distill import TextDistillation


def test_teacher_and_student_gradients_stay_apart() -> None:
    torch.manual_seed(0)
    distill = TextDistillation(text_dim=6, num_classes=3, temperature=2.0, dropout=0.0)
    text = torch.randn(8, 6, requires_grad=True)
    video = torch.randn(8, 3, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    teacher_ce, kl = distill(text, video, labels)
    teacher_ce.backward(retain_graph=True)
    assert text.grad is None and video.grad is None  # text features are constants
    assert distill.teacher.weight.grad is not None and distill.teacher.weight.grad.abs().sum() > 0
    distill.teacher.weight.grad = None
    kl.backward()
    assert distill.teacher.weight.grad is None  # the teacher's targets are constants
    assert video.grad is not None and video.grad.abs().sum() > 0


def test_kl_is_zero_when_the_video_matches_the_teacher_and_scales_with_t_squared() -> None:
    torch.manual_seed(1)
    distill = TextDistillation(text_dim=4, num_classes=3, temperature=3.0, dropout=0.0)
    text = torch.randn(5, 4)
    labels = torch.tensor([0, 1, 2, 1, 0])
    teacher_logits = distill.teacher(F.normalize(text, dim=-1)).detach()
    _, kl = distill(text, teacher_logits.clone(), labels)
    assert kl.item() == pytest.approx(0.0, abs=1e-6)
    video = torch.randn(5, 3)
    _, kl = distill(text, video, labels)
    expected = F.kl_div(
        F.log_softmax(video / 3.0, dim=-1), F.softmax(teacher_logits / 3.0, dim=-1), reduction="batchmean"
    )
    assert kl.item() == pytest.approx(9.0 * expected.item(), rel=1e-5)


def test_class_weights_reach_the_teacher_and_bad_temperature_is_refused() -> None:
    distill = TextDistillation(text_dim=4, num_classes=2, dropout=0.0)
    text, video, labels = torch.randn(6, 4), torch.randn(6, 2), torch.tensor([0, 0, 0, 0, 1, 1])
    plain, _ = distill(text, video, labels)
    weighted, _ = distill(text, video, labels, torch.tensor([1.0, 3.0]))
    assert plain.item() != pytest.approx(weighted.item())
    with pytest.raises(ValueError, match="temperature must be > 0"):
        TextDistillation(4, 2, temperature=0.0)
