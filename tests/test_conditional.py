"""The type-conditional DCGAN (cdcgan): networks, labels, steps, loop and sampling."""
import dataclasses

import pytest
import torch

from pokegan import families

from pokegan.config import TrainConfig
from pokegan.models.conditional import (ConditionalGenerator, ProjectionDiscriminator,
                                        check_labels, cycling_labels, empirical_labels,
                                        encode_labels, label_index)
from pokegan.models.io import load_generator
from pokegan.models.sampling import sample
from pokegan.training import train
from pokegan.ops.step import StepContext

TINY = TrainConfig(model="cdcgan", image_size=32, latent_dim=16, batch_size=8, epochs=1,
                   checkpoint_every=1, grid_size=6, precision="fp32", device="cpu")


@pytest.mark.parametrize("sn", [True, False])
def test_shapes(sn):
    torch.manual_seed(0)
    G = ConditionalGenerator(16, 32, 4, num_classes=5)
    D = ProjectionDiscriminator(32, 4, sn, num_classes=5)
    z, y = torch.randn(4, 16), torch.tensor([0, 1, 2, 4])
    x = G(z, y)
    assert x.shape == (4, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert D(x, y).shape == (4,)


def test_projection_uses_the_label():
    torch.manual_seed(0)
    D = ProjectionDiscriminator(32, 4, True, num_classes=3).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    a, b = D(x, torch.tensor([0, 0])), D(x, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)


def test_generator_uses_the_label():
    torch.manual_seed(0)
    G = ConditionalGenerator(16, 32, 4, num_classes=3).eval()
    z = torch.randn(1, 16)
    assert not torch.allclose(G(z, torch.tensor([0])), G(z, torch.tensor([2])))


def test_labels_helpers():
    y, vocab = encode_labels(["Water", "fire", "water", ""])
    assert vocab == ["fire", "unknown", "water"] and y.tolist() == [2, 0, 2, 1]
    assert label_index("WATER", vocab) == 2
    with pytest.raises(ValueError, match="fire, unknown, water"):
        label_index("wter", vocab)
    with pytest.raises(ValueError, match="at least 2"):
        encode_labels(["fire", "fire"])
    assert cycling_labels(5, 2).tolist() == [0, 1, 0, 1, 0]
    e = empirical_labels(200, [0, 3, 1], seed=1)
    assert set(e.tolist()) <= {1, 2} and (e == 1).sum() > (e == 2).sum()
    assert torch.equal(empirical_labels(20, [0, 3, 1], 1), e[:20])    # nested
    with pytest.raises(ValueError, match="3 labels for 4 images"):
        check_labels(torch.tensor([0, 1, 0]), ["a", "b"], 4)
    with pytest.raises(ValueError, match="needs labels"):
        check_labels(None, None, 4)


def test_issue9_levers_reach_the_conditional_pair():
    cfg = dataclasses.replace(TINY, loss="hinge", r1=1.0, r1_every=2, upsample="resize_conv",
                              mbstd=True)
    torch.manual_seed(0)
    nets = families.build(TrainConfig(model="cdcgan", latent_dim=16, image_size=32, spectral_norm=True, upsample="resize_conv", mbstd=True), 3)
    assert nets["G"].kwargs["upsample"] == "resize_conv" and nets["D"].kwargs["mbstd"]
    opts = families.make_optimizers(cfg, nets)
    ctx = StepContext(cfg, torch.device("cpu"), "fp32", torch.Generator().manual_seed(0),
                      label_probs=torch.ones(3))
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    for _ in range(2):
        out = families.get("cdcgan").step(nets, opts, x, ctx, classes=torch.arange(8) % 3)
    assert all(torch.isfinite(v) for v in out.values()) and ctx.steps_done == 2


def test_build_models_needs_classes():
    with pytest.raises(ValueError, match="num_classes"):
        families.build(TrainConfig(model="cdcgan", latent_dim=16, image_size=32, spectral_norm=True))


def test_steps_give_finite_losses_and_change_weights():
    cfg = dataclasses.replace(TINY, diffaugment="color,translation,cutout")
    torch.manual_seed(0)
    nets = families.build(TrainConfig(model="cdcgan", latent_dim=16, image_size=32, spectral_norm=True), 4)
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in nets.items()}
    opts = families.make_optimizers(cfg, nets)
    ctx = StepContext(cfg, torch.device("cpu"), "fp32", torch.Generator().manual_seed(0),
                      label_probs=torch.tensor([1.0, 2.0, 0.0, 1.0]))
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    y = torch.tensor([0, 1, 1, 3, 0, 1, 3, 1])
    for _ in range(3):
        out = families.get("cdcgan").step(nets, opts, x, ctx, classes=y)
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(torch.isfinite(v) for v in out.values())
    for role, net in nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[role], net.parameters())), role
    assert nets["G"].embed.weight.grad is not None                 # G's embedding is trained
    assert ctx.fake_classes(1000).bincount(minlength=4)[2] == 0    # empirical: never class 2


def test_loop_saves_vocabulary_and_samples_by_label(tmp_path):
    images = torch.randint(0, 256, (16, 3, 32, 32), generator=torch.Generator().manual_seed(0),
                           dtype=torch.uint8)
    labels, names = encode_labels(["water", "fire", "grass", "water"] * 4)
    with pytest.raises(ValueError, match="needs labels"):
        train("c", TINY, images, data_fingerprint="d", model_dir=tmp_path / "x", progress=False,
              log=lambda m: None)
    train("c", TINY, images, data_fingerprint="d", model_dir=tmp_path / "m", progress=False,
          log=lambda m: None, labels=labels, label_names=names)
    G, meta = load_generator(tmp_path / "m")
    assert isinstance(G, ConditionalGenerator)
    assert meta["labels"] == ["fire", "grass", "water"] and meta["label_counts"] == [4, 4, 8]
    _, ck_meta = load_generator(tmp_path / "m" / "checkpoints" / "epoch_0001.pt")
    assert ck_meta["labels"] == meta["labels"]
    a = sample(G, 3, seed=0, labels=torch.tensor([0, 1, 2]))
    assert a.shape == (3, 3, 32, 32) and a.dtype == torch.uint8
    assert torch.equal(sample(G, 3, seed=0), sample(G, 3, seed=0, batch_size=1))
    with pytest.raises(ValueError, match="class indices"):
        sample(G, 2, seed=0, labels=torch.tensor([0, 3]))
    assert (tmp_path / "m" / "grids" / "epoch_0001.png").is_file()


class _FakeFeatureNet:
    """Stands in for the Inception network: a fixed random projection of the pixels."""
    name, sha1, resize, dim = "fake", "fake-sha1", "none", 8

    def __init__(self):
        self.w = torch.randn(3 * 32 * 32, self.dim, generator=torch.Generator().manual_seed(0))

    def info(self):
        return {"name": self.name, "sha1": self.sha1, "resize": self.resize}

    def extract(self, images, batch_size=50, desc=None):
        return (torch.as_tensor(images).float().flatten(1) / 255 @ self.w).numpy()


def test_evaluate_reports_kid_per_type(tmp_path, monkeypatch):
    import json

    import numpy as np
    import pandas as pd

    from pokegan import config
    from pokegan.metrics import evaluate as ev_mod
    from pokegan.metrics.features import load_reference
    from pokegan.metrics.references import build_references

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))   # no IS weights
    types = ["water"] * 12 + ["fire"] * 8 + ["grass"] * 4
    ds = tmp_path / "prepared/artwork"
    ds.mkdir(parents=True)
    images = torch.randint(0, 256, (24, 3, 32, 32), generator=torch.Generator().manual_seed(1),
                           dtype=torch.uint8)
    np.save(ds / "images.npy", images.numpy())
    pd.DataFrame({"row": range(24), "file": [f"{i}.png" for i in range(24)],
                  "augmentation": "original", "species_id": range(24), "species": "x",
                  "type1": types, "type2": "", "colour": "blue"}).to_csv(ds / "index.csv", index=False)
    (ds / "meta.json").write_text(json.dumps({"count": 24, "image_size": 32, "fingerprint": "f"}))
    cfg = config.parse({
        "seed": 0, "image_size": 32, "latent_dim": 16,
        "data": {"npm_integrity": "sha512-x"},
        "eval": {"samples": 40, "samples_curve": 10, "real_max": 20, "kid_subsets": 5,
                 "batch_size": 8, "is_splits": 2},
        "variants": {"c": {"model": "cdcgan", "dataset": "artwork", "epochs": 1,
                           "checkpoint_every": 1, "batch_size": 8, "precision": "fp32",
                           "device": "cpu", "grid_size": 4}}})
    labels, names = encode_labels(types)
    train("c", cfg.variant("c"), images, data_fingerprint="f", model_dir=tmp_path / "models/c",
          progress=False, log=lambda m: None, labels=labels, label_names=names)
    net = _FakeFeatureNet()
    build_references(cfg, tmp_path / "prepared", tmp_path / "reference", net=net,
                     log=lambda m: None)
    ref = load_reference(tmp_path / "reference/artwork.npz")
    assert ref.rows is not None and len(ref.rows) == 20
    monkeypatch.setattr(ev_mod, "KID_PER_TYPE_MIN_REAL", 5)
    result = ev_mod.evaluate_variant(cfg, "c", tmp_path / "models", tmp_path / "reference",
                                     tmp_path / "prepared", tmp_path / "metrics",
                                     tmp_path / "plots", net=net, log=lambda m: None)
    real_types = ev_mod.reference_types(ref, "artwork", tmp_path / "prepared")
    kept = {t for t in set(real_types) if (real_types == t).sum() >= 5}
    assert set(result["kid_per_type"]) == kept and "water" in kept and "grass" not in kept
    assert all(np.isfinite(v) for v in result["kid_per_type"].values())
    assert sum(c["fake"] for c in result["kid_per_type_samples"].values()) <= 40
    saved = json.loads((tmp_path / "metrics/c.json").read_text())
    assert saved["kid_per_type"] == pytest.approx(result["kid_per_type"])
