# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # mer-contrast quickstart
#
# Train `MERContrastModule` briefly on a tiny synthetic dataset written in the CASME II layout, then predict on
# a held-out subject's clip and look at its frames, optical flow, class probabilities and the FACS action-unit
# descriptions nearest to its embedding. Real databases work the same way: point `root` at the folder.

# %%
import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
import tempfile
from pathlib import Path

import lightning as L
import matplotlib.pyplot as plt
import torch

from mer_contrast.clips.flow import FlowConfig
from mer_contrast.datamodules import MERDataModule
from mer_contrast.models import Compact3DCNN, GatedFusion, TextTower, TwoStreamVisual
from mer_contrast.synth import generate
from mer_contrast.trainers import MERContrastModule

workdir = Path(tempfile.mkdtemp(prefix="mer-quickstart-"))
generate("casme2", workdir / "CASME2", subjects=4, clips_per_subject=6, size=48, frames=(6, 10), seed=0)

# %%
data = MERDataModule(
    dataset="casme2", root=str(workdir / "CASME2"), test_subject="sub01",
    num_frames=4, image_size=32, flow=FlowConfig(method="dis"), cache_dir=str(workdir / "cache"),
    batch_size=4, num_workers=0, precompute_workers=0,
)
data.prepare_data()
data.setup("fit")
data.describe()

# %%
visual = TwoStreamVisual(
    rgb_stream=Compact3DCNN(in_channels=3, widths=[8, 16, 32]),
    flow_stream=Compact3DCNN(in_channels=2, widths=[8, 16, 32], input_norm="none"),
    fusion=GatedFusion(),
)
text = TextTower(model="minilm", trainable_layers=0)  # the packaged MiniLM: offline, frozen, cached
model = MERContrastModule(
    visual=visual, text=text, num_classes=data.num_classes, class_names=data.class_names,
    embed_dim=64, contrastive_weight=0.5, lr=3e-3,
)
trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                    enable_progress_bar=False)
trainer.fit(model, datamodule=data)
trainer.test(model, datamodule=data)

# %%
predictions = trainer.predict(model, datamodule=data)
first = predictions[0][0] if isinstance(predictions[0], list) else predictions[0]
first

# %%
batch = next(iter(data.test_dataloader()))
rgb, flow = batch["rgb"][0], batch["flow"][0]
fig, axes = plt.subplots(2, rgb.shape[0], figsize=(2 * rgb.shape[0], 4))
for t in range(rgb.shape[0]):
    axes[0, t].imshow(rgb[t].permute(1, 2, 0))
    axes[0, t].set_title(f"frame {t}")
    if t < flow.shape[0]:
        axes[1, t].imshow(flow[t, 0], cmap="coolwarm", vmin=-1, vmax=1)
        axes[1, t].set_title(f"flow u {t}")
for ax in axes.flat:
    ax.axis("off")
plt.tight_layout()

# %%
with torch.no_grad():
    probs = model(batch["rgb"], batch["flow"]).softmax(-1)[0]
plt.figure(figsize=(5, 2))
plt.bar(data.class_names, probs.numpy())
plt.title(f"clip {batch['clip_id'][0]} (true: {data.class_names[batch['label'][0]]})")
print("AU code:", batch["aus"][0])
print("FACS text used in training:", batch["au_text"][0])

# %% [markdown]
# The recognizer itself is a plain `torch.nn.Module` (`model.model`, a `MERRecognizer`): no Lightning is
# needed to run or export it. `MERRecognizer.from_checkpoint(path)` loads one from a `mer-contrast fit`
# checkpoint the same way.

# %%
recognizer = model.model.eval()  # towers, head and the joint space; no losses, no Trainer
with torch.no_grad():
    feat = recognizer.features(batch["rgb"], batch["flow"])
    print(recognizer.classify(feat).softmax(-1)[0])
    print(recognizer.explain(feat)[0])
