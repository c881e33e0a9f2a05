"""Generation-quality levers beyond the study: alternative adversarial losses and the
R1 gradient penalty. Each is off by default (``loss: bce``, ``r1: 0``), which leaves the
study's step untouched; the EMA of G lives in :mod:`.ema`, the generator's resize-conv
upsampling and D's minibatch-stddev layer in :mod:`pokegan.models`.

* ``hinge`` (Lim & Ye 2017; SN-GAN, BigGAN): D minimises ``relu(1 − D(x)) + relu(1 + D(G(z)))``,
  G minimises ``−D(G(z))``. No soft/noisy labels, no flips.
* ``ns``: the non-saturating BCE loss of Goodfellow et al. with hard 1/0 targets (the study's
  loss without its label smoothing, noise and flips).
* R1 (Mescheder et al. 2018): ``r1/2 · E‖∇ₓD(x)‖²`` on real images, added to D's loss;
  with ``r1_every = k`` it is computed every k-th D step with weight ``k·r1`` (lazy
  regularisation, StyleGAN2), so it costs one double-backward every k steps.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .losses import bce

# The study's values; a lever at its default leaves the run (and its fingerprint) as before.
LEVER_DEFAULTS = {"ema": 0.0, "upsample": "convtranspose", "loss": "bce", "r1": 0.0,
                  "r1_every": 1, "mbstd": False, "train_on": "all", "ada_target": 0.0,
                  "ada_images": 100_000, "ada_interval": 4, "lecam": 0.0, "lecam_decay": 0.99,
                  "lr_drop_after": 0, "lr_drop": 0.25}


def hinge_d(logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - logit_real.float()).mean() + F.relu(1.0 + logit_fake.float()).mean()


def hinge_g(logit_gen: torch.Tensor) -> torch.Tensor:
    return -logit_gen.float().mean()


def ns_d(logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
    return bce(logit_real, 1.0) + bce(logit_fake, 0.0)


def d_adversarial(loss: str, logit_real, logit_fake, y_real=None, y_fake=None) -> torch.Tensor:
    """D's loss; ``bce`` uses the study's soft noisy targets ``y_real`` / ``y_fake``."""
    if loss == "bce":
        return bce(logit_real, y_real) + bce(logit_fake, y_fake)
    if loss == "hinge":
        return hinge_d(logit_real, logit_fake)
    if loss == "ns":
        return ns_d(logit_real, logit_fake)
    raise ValueError(f"unknown loss {loss!r}; allowed: bce, hinge, ns")


def g_adversarial(loss: str, logit_gen: torch.Tensor) -> torch.Tensor:
    """G's loss: non-saturating BCE against target 1 (bce, ns) or ``−D(G(z))`` (hinge)."""
    if loss == "hinge":
        return hinge_g(logit_gen)
    return bce(logit_gen, 1.0)


def r1_penalty(logit_real: torch.Tensor, real_in: torch.Tensor) -> torch.Tensor:
    """``E‖∇ₓD(x)‖²`` (per-sample squared gradient norm, averaged); ``real_in`` must be the
    leaf D was applied to, with ``requires_grad``. Differentiable (create_graph) for D's update."""
    (grad,) = torch.autograd.grad(logit_real.float().sum(), real_in, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def r1_due(cfg, steps_done: int) -> bool:
    """Whether the D step after ``steps_done`` earlier steps carries the (lazy) R1 penalty."""
    return cfg.r1 > 0 and steps_done % cfg.r1_every == 0
