"""What every family's optimisation step is made of: the :class:`StepContext` the loop hands it,
:func:`update` (one optimiser step of a loss, gradients averaged over processes) and
:func:`frozen` (a D without weight gradients during G's step).

A step (each family's module defines its own) takes the networks, their optimisers, one batch of
real images in [-1, 1] and a :class:`StepContext`, and returns detached 0-dim tensors (the loop
turns them into floats once). Every random draw (latents, labels, flips, DiffAugment) comes from
``ctx.generator``.
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
from .losses import soft_labels

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
