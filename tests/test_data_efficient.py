"""Data-efficient training: the model-family registry, adaptive augmentation, LeCam, the FastGAN-style family
and the flips-only training data."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from fixtures.training import TINY, run_tiny, tiny_images
from pokegan import config, families
from pokegan.models import catalog
from pokegan.config import ConfigError, TrainConfig
from pokegan.data.prepared import TRAIN_ON_KINDS, load_prepared
from pokegan.families.fastgan import FastGenerator, reconstruction_targets
from pokegan.models.io import load_generator
from pokegan.ops.adaptive import AdaptiveState
from pokegan.ops.diffaugment import diff_augment
from pokegan.ops.step import StepContext

FAST = config.replace(TINY, model="fastgan", loss="hinge", fastgan_ch=8,
                      diffaugment="color,translation", ema=0.99)


def _params(**variant) -> dict:
    return {"variants": {"v": {"model": "dcgan", "dataset": "artwork", **variant}}}


# --------------------------------------------------------------------------- registry
def test_every_family_is_registered_with_what_the_rest_reads():
    assert {"dcgan", "aegan", "cdcgan", "fastgan"} <= set(families.names())
    assert families.get("aegan").finals == ("G", "E") and families.get("cdcgan").conditional
    assert "FastGenerator" in catalog.GENERATORS and "FastDiscriminator" in catalog.NETWORKS
    assert config.family_key_owners()["fastgan_ch"] == "fastgan"
    with pytest.raises(ValueError, match="unknown model 'vae'"):
        families.get("vae")


@pytest.mark.parametrize("variant, match", [
    ({"model": "dcgam"}, r"model: 'dcgam' is not allowed; allowed values: aegan, cdcgan, dcgan, fastgan.*did you mean 'dcgan'"),
    ({"model": "aegan", "lecam": 0.3}, r"v.lecam: 0.3 is not implemented for model aegan"),
    ({"model": "fastgan"}, r"v.loss: 'bce' is not implemented for model fastgan; use 'hinge'"),
    ({"fastgan_ch": 16}, r"v.fastgan_ch: belongs to model fastgan, not dcgan"),
    ({"ada_target": 0.6}, r"v.ada_target: 0.6 needs a diffaugment policy"),
    ({"train_on": "mirror"}, r"v.train_on: 'mirror' is not allowed"),
])
def test_config_names_the_bad_family_key(variant, match):
    with pytest.raises(ConfigError, match=match):
        config.parse(_params(**variant))


# --------------------------------------------------------------------------- ADA
def test_adaptive_probability_gates_each_image():
    x = torch.rand(16, 3, 32, 32) * 2 - 1
    g = torch.Generator().manual_seed(0)
    assert torch.equal(diff_augment(x, "color,translation", g, p=torch.tensor(0.0)), x)
    out = diff_augment(x, "color", g, p=torch.tensor(1.0))
    assert all(not torch.equal(a, b) for a, b in zip(out, x))
    half = diff_augment(x, "color", g, p=torch.tensor(0.5))
    changed = sum(not torch.equal(a, b) for a, b in zip(half, x))
    assert 0 < changed < 16


def test_ada_p_rises_when_d_overfits_and_falls_when_not():
    cfg = dataclasses.replace(TINY, diffaugment="color", ada_target=0.6, ada_interval=2,
                              ada_images=160)          # 8 images × 2 steps / 160 = 0.1 a move
    state = AdaptiveState(cfg, torch.device("cpu"))
    assert float(state.p) == 0.0
    for _ in range(6):                                  # D calls every real real: r_t = 1 > 0.6
        state.observe_real(torch.full((8,), 3.0))
    assert float(state.p) == pytest.approx(0.3)
    for _ in range(8):                                  # r_t = -1 < 0.6
        state.observe_real(torch.full((8,), -3.0))
    assert float(state.p) == 0.0                        # clamped at 0
    off = AdaptiveState(TINY, torch.device("cpu"))
    off.observe_real(torch.full((8,), 3.0))
    assert float(off.p) == 1.0                          # no ADA: plain DiffAugment


# --------------------------------------------------------------------------- LeCam
def test_lecam_penalises_only_outputs_beyond_the_other_sides_average():
    cfg = dataclasses.replace(TINY, lecam=0.5, lecam_decay=0.0)   # EMA = this step's means
    state = AdaptiveState(cfg, torch.device("cpu"))
    inside = state.lecam_penalty(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 0.0]))
    assert float(inside) == 0.0
    pen = state.lecam_penalty(torch.tensor([2.0, 2.0]), torch.tensor([-2.0, -2.0]))
    assert float(pen) == pytest.approx(0.5 * (16.0 + 16.0))     # relu(2 - -2)² on each side
    assert float(state.ema_real) == 2.0 and float(state.ema_fake) == -2.0


# --------------------------------------------------------------------------- FastGAN
def test_fastgan_shapes_and_reconstruction_targets():
    for size in (32, 64):
        cfg = dataclasses.replace(FAST, image_size=size)
        nets = families.build(cfg)
        x = nets["G"](torch.randn(2, 16))
        assert x.shape == (2, 3, size, size)
        logit, small, part = nets["D"](x, 3)
        small_t, part_t = reconstruction_targets(x, 3)
        assert logit.shape == (2,) and small.shape == small_t.shape and part.shape == part_t.shape
        assert torch.equal(part_t, x[:, :, size // 2:, size // 2:])


def test_fastgan_with_every_lever_trains_resumes_bit_identically_and_loads(tmp_path):
    cfg = dataclasses.replace(FAST, ada_target=0.6, ada_images=64, lecam=0.3, epochs=3)
    images = tiny_images()
    full = run_tiny(tmp_path / "full", images, cfg)
    run_tiny(tmp_path / "cut", images, dataclasses.replace(cfg, epochs=2))
    run_tiny(tmp_path / "cut", images, cfg)             # resumes from epoch 2 with ADA/LeCam state
    a = (tmp_path / "full" / "models" / "generator.pt").read_bytes()
    b = (tmp_path / "cut" / "models" / "generator.pt").read_bytes()
    assert a == b
    assert {"d_recon", "aug_p"} <= set(full["final"])
    G, meta = load_generator(tmp_path / "full" / "models")
    assert isinstance(G, FastGenerator) and meta["model"] == "fastgan"
    p = pd.read_csv(tmp_path / "full" / "plots" / "plots" / "metrics" / "aug_p.tsv", sep="\t")
    ckpt = torch.load(tmp_path / "full" / "models" / "checkpoints" / "epoch_0003.pt",
                      weights_only=True)
    assert len(p) == 3 and p["aug_p"].between(0, 1).all()
    assert p["aug_p"].iloc[-1] == pytest.approx(float(ckpt["adaptive"]["p"]))   # logged = kept


# --------------------------------------------------------------------------- flips-only data
def test_train_on_flips_keeps_originals_and_mirrors(tmp_path):
    root = tmp_path / "prepared"
    (root / "artwork").mkdir(parents=True)
    kinds = ["original"] * 3 + ["mirror"] * 3 + ["jitter"] * 3
    np.save(root / "artwork" / "images.npy", np.arange(9, dtype=np.uint8).repeat(3 * 4 * 4)
            .reshape(9, 3, 4, 4))
    pd.DataFrame({"row": range(9), "file": [f"{i}.png" for i in range(9)], "augmentation": kinds,
                  "species_id": 1, "species": "a", "type1": "grass", "type2": "", "colour": "green"}
                 ).to_csv(root / "artwork" / "index.csv", index=False)
    (root / "artwork" / "meta.json").write_text(json.dumps({"fingerprint": "f"}))
    images, index, _ = load_prepared("artwork", root=root, kinds=TRAIN_ON_KINDS["flips"])
    assert images[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4, 5]
    assert set(index["augmentation"]) == {"original", "mirror"}
    everything, _, _ = load_prepared("artwork", root=root, kinds=TRAIN_ON_KINDS["all"])
    assert len(everything) == 9
