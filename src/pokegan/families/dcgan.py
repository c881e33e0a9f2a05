"""The study's DCGAN (DCGAN819, docs/study.md): G and D of :mod:`pokegan.models.dcgan`, trained by
:func:`pokegan.training.steps.dcgan_step` (soft/noisy labels, or the hinge/ns levers)."""
from __future__ import annotations

from pokegan.models.dcgan import Discriminator, Generator
from pokegan.training.steps import dcgan_step

from . import Family, register


def build_dcgan(cfg, num_classes: int = 0):
    return {"G": Generator(cfg.latent_dim, cfg.image_size, cfg.kernel_size, cfg.upsample),
            "D": Discriminator(cfg.image_size, cfg.kernel_size, cfg.spectral_norm, cfg.mbstd)}


def gan_lrs(cfg) -> dict[str, float]:
    return {"G": cfg.lr, "D": cfg.d_lr}


DCGAN = register(Family(
    name="dcgan", build=build_dcgan, step=dcgan_step, lrs=gan_lrs,
    classes=(Generator, Discriminator), generator=("Generator",),
    doc="the study's DCGAN"))
