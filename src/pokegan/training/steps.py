"""One optimisation step per variant: D first, then G (and E for AEGAN).

A step takes the networks, their optimisers, one batch of real images in [-1, 1] and a
:class:`StepContext`, and returns detached 0-dim tensors (the loop turns them into floats once).
Every random draw (latents, labels, flips, DiffAugment) comes from ``ctx.generator``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
import torch
from torch import nn

from pokegan.config import TrainConfig

from .adaptive import AdaptiveState
from .device import autocast
from .diffaugment import diff_augment, parse_policy
from .distributed import World, average_gradients
from .levers import d_adversarial, g_adversarial, r1_due, r1_penalty
from .losses import bce, l1, mse, soft_labels

Nets = dict[str, nn.Module]
Opts = dict[str, torch.optim.Optimizer]


@dataclass
class StepContext:
    cfg: TrainConfig
    device: torch.device
    precision: str
    generator: torch.Generator
    label_probs: torch.Tensor | None = None   # conditional models: the type distribution of the data
    steps_done: int = 0                       # D steps so far (the loop sets it on resume; lazy R1)
    world: World = World()                    # data-parallel processes (torchrun); 1 = alone

    def __post_init__(self):
        self.policy = parse_policy(self.cfg.diffaugment)
        self.adaptive = AdaptiveState(self.cfg, self.device)   # ADA's p, LeCam's EMAs

    def autocast(self):
        return autocast(self.device, self.precision)

    def aug(self, x: torch.Tensor) -> torch.Tensor:
        if not self.policy:
            return x
        p = self.adaptive.p if self.cfg.ada_target > 0 else None
        return diff_augment(x, self.policy, self.generator, p)

    def d_regularised(self, d_loss: torch.Tensor, logit_real: torch.Tensor,
                      logit_fake: torch.Tensor) -> torch.Tensor:
        """D's loss plus LeCam (when on); also feeds ADA its overfitting signal."""
        self.adaptive.observe_real(logit_real)
        if self.cfg.lecam > 0:
            return d_loss + self.adaptive.lecam_penalty(logit_real, logit_fake)
        return d_loss

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.latent_dim, generator=self.generator, device=self.device)

    def labels(self, n: int, real: bool) -> torch.Tensor:
        c = self.cfg
        return soft_labels(n, real, soft_real=c.soft_real, soft_fake=c.soft_fake,
                           spread=c.label_spread, flip=c.label_flip,
                           generator=self.generator, device=self.device)

    def fake_classes(self, n: int) -> torch.Tensor:
        """Class labels for generated images, drawn from the data's empirical distribution."""
        if self.label_probs is None:
            raise ValueError("a conditional step needs StepContext.label_probs")
        return torch.multinomial(self.label_probs, n, replacement=True, generator=self.generator)


@contextlib.contextmanager
def frozen(*nets: nn.Module):
    """No weight gradients for ``nets`` (a D during the G step: cheaper, and its .grad stays clean)."""
    params = [p for n in nets for p in n.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)


def update(ctx: StepContext, loss: torch.Tensor, *opts: torch.optim.Optimizer) -> None:
    for o in opts:
        o.zero_grad(set_to_none=True)
    loss.backward()
    average_gradients([p for o in opts for g in o.param_groups for p in g["params"]], ctx.world)
    for o in opts:
        o.step()


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

