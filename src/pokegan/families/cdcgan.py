"""The type-conditional DCGAN (labels = type1): :mod:`pokegan.models.conditional`'s G(z, y) and
projection D(x, y), trained by the DCGAN step with the batch's classes (:func:`.dcgan.dcgan_step`)."""
from __future__ import annotations

from pokegan.models.conditional import ConditionalGenerator, ProjectionDiscriminator
from . import Family, register
from .dcgan import build_dcgan, dcgan_step, gan_lrs


def build_cdcgan(cfg, num_classes: int = 0):
    if num_classes < 2:
        raise ValueError(f"model 'cdcgan' needs num_classes >= 2, got {num_classes}")
    build_dcgan(cfg)   # drawn and dropped: keeps the RNG stream (and the weights) of earlier runs
    return {"G": ConditionalGenerator(cfg.latent_dim, cfg.image_size, cfg.kernel_size, num_classes,
                                      upsample=cfg.upsample),
            "D": ProjectionDiscriminator(cfg.image_size, cfg.kernel_size, cfg.spectral_norm,
                                         num_classes, mbstd=cfg.mbstd)}


CDCGAN = register(Family(
    name="cdcgan", build=build_cdcgan, step=dcgan_step, lrs=gan_lrs,
    classes=(ConditionalGenerator, ProjectionDiscriminator), generator=("ConditionalGenerator",),
    conditional=True, doc="type-conditional DCGAN (projection discriminator)"))
