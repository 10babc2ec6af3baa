"""``migrate``: a checkpoint of any earlier mer-contrast, rewritten in place to today's layout.

Every loader calls it before it reads a state dict: :meth:`MERContrastModule.on_load_checkpoint
<mer_contrast.trainers.MERContrastModule.on_load_checkpoint>` (``load_from_checkpoint``, the CLI's
``--ckpt_path`` for ``fit``/``validate``/``test``/``predict``, ``predict-video`` and the LOSO's test)
and :meth:`MERRecognizer.from_checkpoint <mer_contrast.models.MERRecognizer.from_checkpoint>`. It sits
beside the recognizer (not in ``trainers/``) because the plain-torch loader needs it without Lightning.

The task's state dict, by era (each step applies to the output of the one before)::

    before the model/task split   visual.* classifier.* text.* visual_proj.* text_proj.*  -> model.*
    before the objective          classification_loss.* contrastive_loss.* distillation.* -> objective.*
    before the model owned T      objective.contrastive_loss.logit_scale                  -> model.logit_scale

The hyper-parameters kept their names through all three, so only state-dict keys move.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

PREFIX = "model."  # where MERContrastModule keeps the recognizer
OBJECTIVE = "objective."  # where it keeps the loss (MERObjective)

# Top-level modules of the task before the recognizer and the objective were split out of it.
PRE_SPLIT_MODEL = ("visual.", "classifier.", "text.", "visual_proj.", "text_proj.")
PRE_SPLIT_LOSSES = ("classification_loss.", "contrastive_loss.", "distillation.")
# Single keys renamed since (old -> new).
RENAMED = {"objective.contrastive_loss.logit_scale": "model.logit_scale"}


def migrate(checkpoint: MutableMapping[str, Any]) -> list[str]:
    """Move ``checkpoint["state_dict"]``'s keys of older layouts to today's, in place.

    Returns:
        One line per kind of change made (empty for a checkpoint of today's layout), for a log line.
    """
    state = checkpoint.get("state_dict")
    if not isinstance(state, MutableMapping):
        return []
    changes = []
    if _prefix(state, PRE_SPLIT_MODEL, PREFIX):
        changes.append("the recognizer's keys moved under model. (before the model/task split)")
    if _prefix(state, PRE_SPLIT_LOSSES, OBJECTIVE):
        changes.append("the losses' keys moved under objective. (before MERObjective)")
    for old, new in RENAMED.items():
        if old in state and new not in state:
            state[new] = state.pop(old)
            changes.append(f"{old} is now {new}")
    return changes


def _prefix(state: MutableMapping[str, Any], legacy: tuple[str, ...], prefix: str) -> bool:
    keys = [key for key in state if key.startswith(legacy)]
    for key in keys:
        state[prefix + key] = state.pop(key)
    return bool(keys)
