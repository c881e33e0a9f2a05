"""Lazarou's Autoencoding GAN (arXiv:2004.05472): the DCGAN's G and D (= Dx) plus an encoder E
and a latent discriminator Dz, and the AEGAN step that trains all four."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from pokegan.config import key
from pokegan.models.aegan import Encoder, LatentDiscriminator
from pokegan.models.dcgan import Discriminator, Generator
from pokegan.ops.losses import bce, l1, mse
from pokegan.ops.step import Nets, Opts, StepContext, frozen, update

from . import Family, register
from .dcgan import build_dcgan


@dataclass(frozen=True)
class AEGANParams:
    """Lazarou's final weights of the four losses, and the lrs of the two extra networks."""
    alpha_x: float = key(0.005, lo=0.0, doc="weight of G's adversarial loss in image space")
    alpha_z: float = key(0.1, lo=0.0, doc="weight of the adversarial loss in latent space")
    rec_x: float = key(1.0, lo=0.0, doc="weight of the image reconstruction loss (L1)")
    rec_z: float = key(0.5, lo=0.0, doc="weight of the latent reconstruction loss (MSE)")
    lr_e: Optional[float] = key(None, lo=0.0, lo_open=True, hi=1.0, doc="encoder lr; null = lr")
    lr_dz: Optional[float] = key(None, lo=0.0, lo_open=True, hi=1.0,
                                 doc="latent D lr; null = lr_d")


def build_aegan(cfg, num_classes: int = 0):
    nets = build_dcgan(cfg)        # G and Dx first: the study's initialisation order
    nets["E"] = Encoder(cfg.latent_dim, cfg.image_size, cfg.kernel_size)
    nets["Dz"] = LatentDiscriminator(cfg.latent_dim, spectral_norm=cfg.spectral_norm)
    return nets


def aegan_lrs(cfg) -> dict[str, float]:
    return {"G": cfg.lr, "D": cfg.d_lr, "E": cfg.lr_e or cfg.lr, "Dz": cfg.lr_dz or cfg.d_lr}


def aegan_step(nets: Nets, opts: Opts, x: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
    """Lazarou's AEGAN step (arXiv:2004.05472; docs/study.md): L_Dx and L_Dz, then G and E jointly."""
    G, E, Dx, Dz = nets["G"], nets["E"], nets["D"], nets["Dz"]
    c = ctx.cfg
    n = x.shape[0]
    z = ctx.latents(n)
    with ctx.autocast():
        x_fake = G(z)          # G(z)
        z_enc = E(x)           # E(x)
        x_rec = G(z_enc)       # G(E(x))
        z_rec = E(x_fake)      # E(G(z))
    # discriminators: real x / z (weight 2) against the two generated kinds each
    yx_real, yx_fake, yx_rec = ctx.labels(n, True), ctx.labels(n, False), ctx.labels(n, False)
    yz_real, yz_enc, yz_rec = ctx.labels(n, True), ctx.labels(n, False), ctx.labels(n, False)
    with ctx.autocast():
        lx_real = Dx(ctx.aug(x))
        lx_fake = Dx(ctx.aug(x_fake.detach()))
        lx_rec = Dx(ctx.aug(x_rec.detach()))
        lz_real = Dz(z)
        lz_enc = Dz(z_enc.detach())
        lz_rec = Dz(z_rec.detach())
    dx_loss = (2 * bce(lx_real, yx_real) + bce(lx_fake, yx_fake) + bce(lx_rec, yx_rec)) / 4
    dz_loss = (2 * bce(lz_real, yz_real) + bce(lz_enc, yz_enc) + bce(lz_rec, yz_rec)) / 4
    update(ctx, dx_loss + dz_loss, opts["D"], opts["Dz"])   # disjoint parameters: one backward
    # G and E jointly against the updated discriminators, plus both reconstructions
    with frozen(Dx, Dz), ctx.autocast():
        gx_fake = Dx(ctx.aug(x_fake))
        gx_rec = Dx(ctx.aug(x_rec))
        gz_enc = Dz(z_enc)
        gz_rec = Dz(z_rec)
    adv_x = (bce(gx_fake, 1.0) + bce(gx_rec, 1.0)) / 2
    adv_z = (bce(gz_enc, 1.0) + bce(gz_rec, 1.0)) / 2
    rec_x = l1(x_rec, x)
    rec_z = mse(z_rec, z)
    ge_loss = c.alpha_x * adv_x + c.alpha_z * adv_z + c.rec_x * rec_x + c.rec_z * rec_z
    update(ctx, ge_loss, opts["G"], opts["E"])
    return {"d_loss": dx_loss.detach(), "g_loss": ge_loss.detach(),
            "d_real": torch.sigmoid(lx_real.detach().float()).mean(),
            "d_fake": torch.sigmoid(lx_fake.detach().float()).mean(),
            "dz_loss": dz_loss.detach(), "g_adv_x": adv_x.detach(), "g_adv_z": adv_z.detach(),
            "rec_x": rec_x.detach(), "rec_z": rec_z.detach()}


AEGAN = register(Family(
    name="aegan", build=build_aegan, step=aegan_step, lrs=aegan_lrs,
    classes=(Generator, Discriminator, Encoder, LatentDiscriminator), generator=("Generator",),
    finals=("G", "E"), params=AEGANParams,
    requires={"loss": "bce", "r1": 0.0, "ada_target": 0.0, "lecam": 0.0},
    doc="Lazarou's AEGAN (encoder + latent discriminator)"))
