"""The study's DCGAN (DCGAN819, docs/study.md): G and D of :mod:`pokegan.models.dcgan` and its
step: soft/noisy labels (loss bce), or the hinge/ns levers, R1, DiffAugment/ADA and LeCam from
the variant's params. The type-conditional family (:mod:`.cdcgan`) runs the same step with each
batch's classes."""
from __future__ import annotations

import torch

from pokegan.models.dcgan import Discriminator, Generator
from pokegan.ops.levers import d_adversarial, g_adversarial, r1_due, r1_penalty
from pokegan.ops.step import Nets, Opts, StepContext, frozen, update

from . import Family, register


def build_dcgan(cfg, num_classes: int = 0):
    return {"G": Generator(cfg.latent_dim, cfg.image_size, cfg.kernel_size, cfg.upsample),
            "D": Discriminator(cfg.image_size, cfg.kernel_size, cfg.spectral_norm, cfg.mbstd)}


def gan_lrs(cfg) -> dict[str, float]:
    return {"G": cfg.lr, "D": cfg.d_lr}


def dcgan_step(nets: Nets, opts: Opts, real: torch.Tensor, ctx: StepContext, *,
               classes: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The study's DCGAN step; with ``classes`` (the batch's type labels) the type-conditional
    one: D(x, y) on real images with their ``classes`` and on G(z, y') with y' drawn from the
    data's type distribution (same losses, soft labels, flips, R1 and DiffAugment)."""
    G, D = nets["G"], nets["D"]
    n = real.shape[0]
    z = ctx.latents(n)
    y_real, y_gen = ((), ()) if classes is None else ((classes,), (ctx.fake_classes(n),))
    with ctx.autocast():
        fake = G(z, *y_gen)
    c = ctx.cfg
    # D: soft noisy labels (loss bce, the study), real and fake (DiffAugment on both)
    t_real, t_fake = (ctx.labels(n, True), ctx.labels(n, False)) if c.loss == "bce" else (None, None)
    r1 = r1_due(c, ctx.steps_done)
    ctx.steps_done += 1
    with ctx.autocast():
        real_in = ctx.aug(real)
        if r1:
            real_in = real_in.detach().requires_grad_(True)
        logit_real = D(real_in, *y_real)
        logit_fake = D(ctx.aug(fake.detach()), *y_gen)
    d_loss = d_adversarial(c.loss, logit_real, logit_fake, t_real, t_fake)
    d_total = ctx.d_regularised(d_loss, logit_real, logit_fake)   # d_loss stays the logged part
    if r1:   # lazy R1: weight × k every k-th step
        update(ctx, d_total + 0.5 * c.r1 * c.r1_every * r1_penalty(logit_real, real_in), opts["D"])
    else:
        update(ctx, d_total, opts["D"])
    # G: make the updated D call the same fakes real (target 1; hinge: raise D's logit)
    with frozen(D), ctx.autocast():
        logit_gen = D(ctx.aug(fake), *y_gen)
    g_loss = g_adversarial(c.loss, logit_gen)
    update(ctx, g_loss, opts["G"])
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
            "d_real": torch.sigmoid(logit_real.detach().float()).mean(),
            "d_fake": torch.sigmoid(logit_fake.detach().float()).mean()}


DCGAN = register(Family(
    name="dcgan", build=build_dcgan, step=dcgan_step, lrs=gan_lrs,
    classes=(Generator, Discriminator), generator=("Generator",),
    doc="the study's DCGAN"))
