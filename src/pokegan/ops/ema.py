"""An exponential moving average of the generator's weights (Karras et al. 2018; Yazıcı et al.
2019), used for the per-epoch grid, ``generator.pt`` and therefore sampling and evaluation.

After every optimisation step the copy moves towards the live G::

    ema ← d·ema + (1 − d)·live,   d = min(decay, (1 + t) / (10 + t))

where ``t`` counts the updates so far. The warm-up term keeps the average from being dominated by
the random initial weights in runs of a few hundred steps (a CPU budget: 10 epochs of artwork×3 at
batch 32 are ~700 steps, shorter than the 1000-step memory of ``decay = 0.999``); it is 0 at the
first update (a plain copy) and passes 0.99 after ~900 updates.

BatchNorm buffers are **recomputed**, not copied: the live G's running statistics describe the
live weights' activations, which drift from the averaged weights' activations (most at the start
of a run, when the weights move fastest), and a G in eval mode with mismatched statistics draws
washed-out or saturated images. :meth:`EMA.model_for_sampling` re-estimates them ("standing
statistics", BigGAN) as the plain average over a few batches of latents drawn from a fixed
seed in train mode. That is a pure function of the averaged weights — it neither reads nor
advances the training RNG — so resume stays bit-identical and costs a few G forward passes per
epoch. Checkpoints carry the averaged G (with its statistics) and ``t`` as their ``ema`` entry.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

STANDING_BATCHES = 4
STANDING_BATCH_SIZE = 64
STANDING_SEED = 31_337


class EMA:
    """Averaged copy of ``model``'s parameters; ``decay = 0`` makes it equal the live weights."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self._stale = True                      # BN statistics not yet recomputed

    def current_decay(self) -> float:
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p.detach(), 1.0 - d)        # e = d·e + (1−d)·p
        self.updates += 1
        self._stale = True

    @torch.no_grad()
    def recompute_batchnorm(self) -> None:
        """Re-estimate every BatchNorm's running mean/var for the averaged weights (see module doc)."""
        bns = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not bns:
            return
        momenta = [m.momentum for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None                   # cumulative average over the batches below
        device = next(self.model.parameters()).device
        gen = torch.Generator().manual_seed(STANDING_SEED)
        self.model.train()
        try:
            for _ in range(STANDING_BATCHES):
                z = torch.randn(STANDING_BATCH_SIZE, self.model.latent_dim, generator=gen)
                classes = getattr(self.model, "num_classes", 0)
                if classes:                     # a conditional G: labels uniformly at random
                    y = torch.randint(0, classes, (STANDING_BATCH_SIZE,), generator=gen)
                    self.model(z.to(device), y.to(device))
                else:
                    self.model(z.to(device))
        finally:
            self.model.eval()
            for m, mom in zip(bns, momenta):
                m.momentum = mom

    def model_for_sampling(self) -> nn.Module:
        """The averaged G in eval mode with BatchNorm statistics matching its weights."""
        if self._stale:
            self.recompute_batchnorm()
            self._stale = False
        return self.model

    # -------------------------------------------------------------- checkpoint state
    def state_dict(self) -> dict:
        """``{"decay", "updates", "model"}``; ``model`` is :func:`pokegan.models.io.pack` of the
        averaged G with its recomputed BatchNorm statistics, so ``load_generator`` on a
        checkpoint can hand it out as is."""
        from pokegan.models.io import pack
        return {"decay": self.decay, "updates": self.updates,
                "model": pack(self.model_for_sampling())}

    def load_state_dict(self, state: dict) -> None:
        self.updates = int(state["updates"])
        self.model.load_state_dict(state["model"]["state_dict"])
        self._stale = False                     # the saved statistics belong to these weights
