"""Data-efficient levers whose state lives across steps, both off by default:

* **Adaptive augmentation** (Karras et al. 2020, StyleGAN2-ADA). Each op of the variant's
  DiffAugment policy is applied to an image with probability ``p`` (independently per op and per
  image, the same ``p`` for real and fake, D step and G step). ``p`` starts at 0 and every
  ``ada_interval`` D steps moves by ``sign(r_t − ada_target) · batch · ada_interval / ada_images``,
  where ``r_t = E[sign(D(real))]`` over those steps — D calling too many reals real is the
  overfitting signal. The paper moves p by 1 over 500k images; our runs show a few hundred
  thousand in all, so ``ada_images`` defaults to 100k.
* **LeCam regularisation** (Tseng et al. 2021): D's loss gains
  ``lecam · (E[relu(D(x) − α_fake)²] + E[relu(α_real − D(G(z)))²])`` where ``α`` are EMAs of D's
  mean logits on real and fake images; it keeps D's outputs near its own history.

The state is three 0-dim tensors on the training device (no host sync per step), saved in every
checkpoint so a resumed run continues bit-identically.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


class AdaptiveState:
    """``p`` of adaptive augmentation and LeCam's EMAs, as tensors on ``device``."""

    def __init__(self, cfg, device: torch.device):
        self.cfg = cfg
        on = cfg.ada_target > 0
        self.p = torch.zeros((), device=device) if on else torch.ones((), device=device)
        self.sign_sum = torch.zeros((), device=device)
        self.steps = 0
        self.ema_real = torch.zeros((), device=device)
        self.ema_fake = torch.zeros((), device=device)

    # ------------------------------------------------------------------ ADA
    def observe_real(self, logit_real: torch.Tensor) -> None:
        """Feed one D step's logits on real images; adjusts ``p`` every ``ada_interval`` steps."""
        c = self.cfg
        if c.ada_target <= 0:
            return
        self.sign_sum += torch.sign(logit_real.detach().float()).mean()
        self.steps += 1
        if self.steps % c.ada_interval == 0:
            r_t = self.sign_sum / c.ada_interval
            step = c.batch_size * c.ada_interval / c.ada_images
            self.p = (self.p + torch.sign(r_t - c.ada_target) * step).clamp(0.0, 1.0)
            self.sign_sum = torch.zeros_like(self.sign_sum)

    # ------------------------------------------------------------------ LeCam
    def lecam_penalty(self, logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
        """Update the EMAs with this step's mean logits, then the (weighted) penalty."""
        c = self.cfg
        d = c.lecam_decay
        self.ema_real = d * self.ema_real + (1 - d) * logit_real.detach().float().mean()
        self.ema_fake = d * self.ema_fake + (1 - d) * logit_fake.detach().float().mean()
        reg = (F.relu(logit_real.float() - self.ema_fake).pow(2).mean()
               + F.relu(self.ema_real - logit_fake.float()).pow(2).mean())
        return c.lecam * reg

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict:
        return {"p": self.p.cpu(), "sign_sum": self.sign_sum.cpu(), "steps": self.steps,
                "ema_real": self.ema_real.cpu(), "ema_fake": self.ema_fake.cpu()}

    def load_state_dict(self, state: dict) -> None:
        dev = self.p.device
        self.p, self.sign_sum = state["p"].to(dev), state["sign_sum"].to(dev)
        self.steps = int(state["steps"])
        self.ema_real, self.ema_fake = state["ema_real"].to(dev), state["ema_fake"].to(dev)
