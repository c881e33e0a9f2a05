"""Adam per network role and the lr schedule: every role at its lr, times ``lr_drop`` after
``lr_drop_after`` epochs (a step decay)."""
from __future__ import annotations

import torch
from torch import nn

from pokegan.config import TrainConfig


def adam(cfg: TrainConfig, nets: dict[str, nn.Module], lrs: dict[str, float]) -> dict[str, torch.optim.Optimizer]:
    """Adam per network role at ``lrs[role]``, betas (beta1, beta2)."""
    return {role: torch.optim.Adam(net.parameters(), lr=lrs[role], betas=(cfg.beta1, cfg.beta2))
            for role, net in nets.items()}


def lr_scale(cfg: TrainConfig, epoch: int) -> float:
    """The factor on every role's lr in (1-based) ``epoch``: ``lr_drop`` after ``lr_drop_after``."""
    return cfg.lr_drop if 0 < cfg.lr_drop_after < epoch else 1.0


def set_epoch_lr(cfg: TrainConfig, opts: dict[str, torch.optim.Optimizer],
                 lrs: dict[str, float], epoch: int) -> float:
    """Set each optimiser to its role's lr for ``epoch``, from the config rather than from the
    optimiser's state: a resumed run then follows the same schedule as an unbroken one."""
    scale = lr_scale(cfg, epoch)
    for role, opt in opts.items():
        for group in opt.param_groups:
            group["lr"] = lrs[role] * scale
    return scale
