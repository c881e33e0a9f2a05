"""Lazarou's Autoencoding GAN (arXiv:2004.05472): the DCGAN's G and D (= Dx) plus an encoder E
and a latent discriminator Dz, trained by :func:`pokegan.training.steps.aegan_step`."""
from __future__ import annotations

from pokegan.models.aegan import Encoder, LatentDiscriminator
from pokegan.models.dcgan import Discriminator, Generator
from pokegan.training.steps import aegan_step

from . import Family, register
from .dcgan import build_dcgan


def build_aegan(cfg, num_classes: int = 0):
    nets = build_dcgan(cfg)        # G and Dx first: the study's initialisation order
    nets["E"] = Encoder(cfg.latent_dim, cfg.image_size, cfg.kernel_size)
    nets["Dz"] = LatentDiscriminator(cfg.latent_dim, spectral_norm=cfg.spectral_norm)
    return nets


def aegan_lrs(cfg) -> dict[str, float]:
    return {"G": cfg.lr, "D": cfg.d_lr, "E": cfg.lr_e or cfg.lr, "Dz": cfg.lr_dz or cfg.d_lr}


AEGAN = register(Family(
    name="aegan", build=build_aegan, step=aegan_step, lrs=aegan_lrs,
    classes=(Generator, Discriminator, Encoder, LatentDiscriminator), generator=("Generator",),
    encoder=True, keys=("alpha_x", "alpha_z", "rec_x", "rec_z", "lr_e", "lr_dz"),
    requires={"loss": "bce", "r1": 0.0, "ada_target": 0.0, "lecam": 0.0},
    doc="Lazarou's AEGAN (encoder + latent discriminator)"))
