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
# Train `MERContrastModule` on a small synthetic dataset written in the CASME II layout, then look at a
# held-out subject's clip (frames, optical flow, class probabilities, the FACS action-unit descriptions
# nearest to its embedding), the model's joint space, and a three-fold LOSO study with the report's
# figures. Real databases work the same way: point `root` at the folder. Every picture of the model is
# computed in eval mode. The whole notebook runs in about a minute on a laptop CPU.

# %%
import logging
import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Not about the run: a torch deprecation inside Lightning, and progress widgets this kernel cannot draw.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
warnings.filterwarnings("ignore", message=r"IProgress not found|install \"ipywidgets\" for Jupyter")
import tempfile
from pathlib import Path

import lightning as L
import matplotlib.pyplot as plt
import torch
from IPython.display import Image, display

# Lightning's product tips and device lines (set after the import: Lightning sets its level on import).
logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
logging.getLogger("lightning.fabric").setLevel(logging.WARNING)

from mer_contrast.clips.flow import FlowConfig
from mer_contrast.datamodules import MERDataModule
from mer_contrast.models import GatedFusion, GridCNN3D, TextTower, TwoStreamVisual
from mer_contrast.synth import generate
from mer_contrast.trainers import MERContrastModule

workdir = Path(tempfile.mkdtemp(prefix="mer-quickstart-"))
manifest = generate("casme2", workdir / "CASME2", subjects=6, clips_per_subject=12, size=64, frames=(6, 10), seed=0)

# %%
FLOW = FlowConfig(method="dis", pairs="onset", channels="uv_magnitude_strain")  # DIS: fast on a CPU
data = MERDataModule(
    dataset="casme2", root=str(workdir / "CASME2"), test_subject="sub01",
    num_frames=2, image_size=48, flow=FLOW, cache_dir=str(workdir / "cache"),
    batch_size=8, num_workers=0, precompute_workers=0, in_memory=True,
)
data.prepare_data()
data.setup("fit")
data.describe()

# %% [markdown]
# The model of `configs/model/gridcnn_cpu.yaml`, built in Python: two small 3D CNN streams (the RGB
# onset difference, and the optical flow with its magnitude and strain), a learnt gate between them, and
# the frozen MiniLM text tower, whose FACS sentences share a 64-d joint space with the video. 30 epochs:
# long enough for the probabilities to mean something (a few seconds here).

# %%
L.seed_everything(0, verbose=False)
visual = TwoStreamVisual(
    rgb_input="onset_difference",
    rgb_stream=GridCNN3D(in_channels=3, widths=[8, 16]),
    flow_stream=GridCNN3D(in_channels=4, widths=[16, 32]),
    fusion=GatedFusion(dim=128),
    dropout=0.3,
)
text = TextTower(model="minilm", trainable_layers=0, cache_frozen=True)  # packaged: offline, frozen, cached
model = MERContrastModule(
    visual=visual, text=text, num_classes=data.num_classes, class_names=data.class_names,
    embed_dim=64, contrastive_weight=0.25, positives="similarity", head_input="joint",
    text_classification_weight=1.0, class_weights="balanced", lr=3e-3, weight_decay=1e-3, warmup_epochs=1,
)
trainer = L.Trainer(max_epochs=30, accelerator="cpu", logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False)
trainer.fit(model, datamodule=data)
trainer.test(model, datamodule=data, verbose=False)

# %%
model.eval()  # every picture below is of the model as it is tested: no dropout, fixed normalisation
predictions = trainer.predict(model, datamodule=data)
first = predictions[0][0]
{key: first[key] for key in ("clip_id", "label", "pred", "class_name", "explanation")}

# %%
batch = next(iter(data.test_dataloader()))
rgb, flow = batch["rgb"][0], batch["flow"][0]
fig, axes = plt.subplots(1, 4, figsize=(8, 2.2))
axes[0].imshow(rgb[0].permute(1, 2, 0).clamp(0, 1))
axes[0].set_title("onset")
axes[1].imshow(rgb[-1].permute(1, 2, 0).clamp(0, 1))
axes[1].set_title("apex")
axes[2].imshow(flow[-1, 0], cmap="coolwarm", vmin=-1, vmax=1)
axes[2].set_title("flow u")
axes[3].imshow(flow[-1, 2], cmap="magma")
axes[3].set_title("flow magnitude")
for ax in axes:
    ax.axis("off")
plt.tight_layout()

# %%
assert not model.training
with torch.no_grad():
    probs = model(batch["rgb"], batch["flow"]).softmax(-1)
fig, axes = plt.subplots(1, 3, figsize=(10, 2.2), sharey=True)
for i, ax in enumerate(axes):
    ax.bar(data.class_names, probs[i].numpy())
    ax.set_title(f"{batch['clip_id'][i]} (true: {data.class_names[batch['label'][i]]})", fontsize=9)
    ax.tick_params(axis="x", rotation=45)
    ax.set_ylim(0, 1)
axes[0].set_ylabel("probability")
plt.tight_layout()
print("AU code:", batch["aus"][0])
print("FACS text used in training:", batch["au_text"][0])

# %% [markdown]
# The held-out subject's confusion matrix, and the joint space: the test clips' video embeddings
# (circles) beside the FACS sentences' text embeddings (triangles), coloured by class, in the first two
# principal components. These are the report's own figure functions (`mer_contrast.loso.plots`,
# `mer_contrast.loso.joint_space`).

# %%
from mer_contrast.loso.joint_embeddings import joint_space_arrays
from mer_contrast.loso.joint_space import plot_joint_space
from mer_contrast.loso.metrics import confusion_of_rows, metrics_of_rows
from mer_contrast.loso.plots import metrics_title, plot_confusion

rows = model.test_predictions
pooled = {**metrics_of_rows(rows, data.num_classes), "n": len(rows)}
plot_confusion(confusion_of_rows(rows, data.num_classes), data.class_names,
               f"sub01 held out\n{metrics_title(pooled)}", workdir / "confusion.png")
assert not model.training
clips = []
with torch.no_grad():
    for test_batch in data.test_dataloader():
        for i, vector in enumerate(model.model.embed(test_batch["rgb"], test_batch["flow"])):
            clips.append({"clip_id": test_batch["clip_id"][i], "subject": test_batch["subject"][i],
                          "label": int(test_batch["label"][i]), "embedding": vector.tolist()})
sentences = [(item.au_text, item.label) for item in [*data.train_set.items, *data.test_set.items]]
arrays = joint_space_arrays(model.model, clips, sentences, data.class_names)
plot_joint_space([("sub01", arrays)], data.class_names, workdir / "joint_space.png",
                 title="the joint space of the sub01 fold (PCA)")
display(Image(workdir / "confusion.png", width=360), Image(workdir / "joint_space.png", width=420))

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

# %% [markdown]
# ## A LOSO study
#
# `mer-contrast loso` from Python: the shipped demo config (`configs/demo.yaml`, the CPU recipe) on the
# same data, three held-out subjects, honest (last epoch) and oracle (best test epoch, optimistic)
# selection. The report writes `summary.md` and the figures a paper would use: per-fold and per-class
# bars (with the spread over seeds when there are several), the oracle's gap over honest selection, the
# confusion matrices and the joint space of each fold's model. With the W&B logger
# (`configs/casme2.yaml`) the same study also becomes a W&B summary run beside the folds' runs.

# %%
from mer_contrast import loso
from mer_contrast.files import find_config
from mer_contrast.loggers.quiet import quiet_run
from mer_contrast.loso.report import write_report

out = workdir / "loso"
options = loso.LosoOptions(
    configs=[str(find_config("demo.yaml"))],
    overrides=[f"--data.init_args.root={workdir / 'CASME2'}", f"--data.init_args.cache_dir={workdir / 'cache'}",
               "--data.init_args.flow.method=dis", "--trainer.enable_progress_bar=false",
               "--trainer.log_every_n_steps=1", f"--trainer.logger.init_args.save_dir={out}"],
    out=out, max_folds=3, selection="both",
)
with quiet_run():  # as `mer-contrast loso`: each warning once, not once per fold
    assert loso.run(options, report=False) == 0
summary = write_report(out)
{key: {name: round(value, 3) for name, value in summary[key]["pooled"].items()} for key in ("honest", "oracle")}

# %%
for name in ("per_fold", "per_class", "honest_vs_oracle", "joint_space"):
    display(Image(out / f"{name}.png", width=640))
