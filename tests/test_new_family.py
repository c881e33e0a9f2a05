"""A new model family is one file: the module below, dropped beside the others, is all it takes
for params.yaml to accept a variant of it with its own key, for the loop to train it, for its
checkpoints to resume and for the model files to load its generator."""
import importlib.util

import pytest
import torch

from fixtures.training import run_tiny, tiny_images
from pokegan import config, families
from pokegan.config import ConfigError
from pokegan.models import catalog
from pokegan.models.io import load_generator

NEW_FAMILY = '''
from dataclasses import dataclass

import torch
from torch import nn

from pokegan.config import key
from pokegan.families import Family, register
from pokegan.ops.levers import hinge_d, hinge_g
from pokegan.ops.step import frozen, update


@dataclass(frozen=True)
class LinearParams:
    width: int = key(32, lo=1, hi=4096, doc="hidden units of G and D")


class LinearG(nn.Module):
    def __init__(self, latent_dim=16, image_size=32, width=32):
        super().__init__()
        self.kwargs = dict(latent_dim=latent_dim, image_size=image_size, width=width)
        self.latent_dim, self.image_size = latent_dim, image_size
        self.net = nn.Sequential(nn.Linear(latent_dim, width), nn.ReLU(),
                                 nn.Linear(width, 3 * image_size ** 2), nn.Tanh())

    def forward(self, z):
        return self.net(z).view(-1, 3, self.image_size, self.image_size)


class LinearD(nn.Module):
    def __init__(self, image_size=32, width=32):
        super().__init__()
        self.kwargs = dict(image_size=image_size, width=width)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * image_size ** 2, width),
                                 nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x).flatten()


def step(nets, opts, real, ctx):
    G, D = nets["G"], nets["D"]
    fake = G(ctx.latents(real.shape[0]))
    d_loss = hinge_d(D(ctx.aug(real)), D(ctx.aug(fake.detach())))
    update(ctx, d_loss, opts["D"])
    with frozen(D):
        g_loss = hinge_g(D(ctx.aug(fake)))
    update(ctx, g_loss, opts["G"])
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


register(Family(
    name="linear", step=step, lrs=lambda cfg: {"G": cfg.lr, "D": cfg.d_lr},
    build=lambda cfg, num_classes=0: {"G": LinearG(cfg.latent_dim, cfg.image_size, cfg.width),
                                      "D": LinearD(cfg.image_size, cfg.width)},
    classes=(LinearG, LinearD), generator=("LinearG",), params=LinearParams,
    requires={"loss": "hinge"}))
'''


@pytest.fixture
def new_family(tmp_path):
    """The module above, imported as a family module is; the registries it fills are restored."""
    registries = (families.REGISTRY, config._FAMILIES, catalog.NETWORKS)
    saved = [dict(r) for r in registries] + [set(catalog.GENERATORS)]
    path = tmp_path / "linear.py"
    path.write_text(NEW_FAMILY)
    spec = importlib.util.spec_from_file_location("pokegan.families.linear", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    for registry, before in zip((*registries, catalog.GENERATORS), saved):
        registry.clear()
        registry.update(before)


def _params(**variant) -> dict:
    return {"image_size": 32, "latent_dim": 16, "batch_size": 8, "epochs": 2, "grid_size": 4,
            "precision": "fp32", "device": "cpu", "loss": "hinge",
            "variants": {"lin": {"model": "linear", "dataset": "artwork", **variant}}}


def test_the_config_accepts_its_keys_and_refuses_others(new_family):
    cfg = config.parse(_params(width=8)).variant("lin")
    assert cfg.width == 8 and config.as_dict(cfg)["width"] == 8
    assert config.parse(_params()).variant("lin").width == 32            # the family's default
    with pytest.raises(ConfigError, match=r"variants.lin.width: 0 is out of range; must be >= 1"):
        config.parse(_params(width=0))
    with pytest.raises(ConfigError, match=r"variants.lin.loss: 'bce' is not implemented for "
                                          r"model linear; use 'hinge'"):
        config.parse({**_params(), "loss": "bce"})
    with pytest.raises(ConfigError, match=r"variants.lin.recon: belongs to model fastgan"):
        config.parse(_params(recon=2.0))
    with pytest.raises(ConfigError, match=r"width: belongs to model linear; set it in the variants"):
        config.parse({**_params(), "width": 8})


def test_it_trains_resumes_and_loads(new_family, tmp_path):
    cfg = config.parse(_params(width=8)).variant("lin")
    images = tiny_images()
    whole = run_tiny(tmp_path / "whole", images, cfg)
    run_tiny(tmp_path / "cut", images, config.replace(cfg, epochs=1))
    run_tiny(tmp_path / "cut", images, cfg)                             # resumes at epoch 2
    a = torch.load(tmp_path / "whole/models/generator.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "cut/models/generator.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    G, meta = load_generator(tmp_path / "whole/models")
    assert type(G).__name__ == "LinearG" and G.kwargs["width"] == 8
    assert meta["config"]["width"] == 8 and whole["params"]["width"] == 8
    assert "width" in whole["fingerprint_parts"]["params"]
