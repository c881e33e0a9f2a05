"""Model families, one module each, registered in one place.

A family declares everything the rest of pokegan needs to know about it: how its networks are
built from a :class:`~pokegan.config.TrainConfig`, the step that trains them, the learning rate of
each optimiser role, the network classes its files may hold (and which of them a generator file
is), whether it is conditional or has an encoder, and the config keys that belong to it. The
loop, the config checks, the model files and the CLI read this registry and nothing else.

Every module of this package is imported on first use, so adding a family is one new file that
calls :func:`register`, plus a variant in params.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from pokegan.config import TrainConfig
from pokegan.plugins import Registry

Nets = dict[str, nn.Module]


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[[TrainConfig, int], Nets]        # (cfg, num_classes) -> networks by role
    step: Callable[..., dict[str, torch.Tensor]]     # one optimisation step (see training.steps)
    lrs: Callable[[TrainConfig], dict[str, float]]   # optimiser role -> learning rate
    classes: tuple[type[nn.Module], ...]             # every network class its files may hold
    generator: tuple[str, ...]                       # class names a generator file of it holds
    conditional: bool = False                        # G(z, y), D(x, y): labels = type1
    encoder: bool = False                            # role "E" is saved as encoder.pt
    keys: tuple[str, ...] = ()                       # TrainConfig keys only this family reads
    requires: dict[str, Any] = field(default_factory=dict)   # shared keys it needs at one value
    doc: str = ""


_families = Registry(__name__, "model family")
REGISTRY: dict[str, Family] = _families.entries
register = _families.register
_load_all = _families.load_all


def names() -> tuple[str, ...]:
    _load_all()
    return tuple(sorted(REGISTRY))


def get(name: str) -> Family:
    """The family called ``name``; a ValueError lists the registered ones."""
    _load_all()
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(names())}")
    return REGISTRY[name]


def network_classes() -> dict[str, type[nn.Module]]:
    """Class name -> class of every network any family saves (model files name classes by these
    keys, never by a pickled reference)."""
    _load_all()
    return {cls.__name__: cls for fam in REGISTRY.values() for cls in fam.classes}


def generator_classes() -> tuple[str, ...]:
    _load_all()
    return tuple(dict.fromkeys(c for fam in REGISTRY.values() for c in fam.generator))


def family_keys() -> dict[str, str]:
    """Config key -> the family that owns it (keys no other family reads)."""
    _load_all()
    return {key: fam.name for fam in REGISTRY.values() for key in fam.keys}


def build(cfg: TrainConfig, num_classes: int = 0) -> Nets:
    """The networks of ``cfg.model`` by role, initialised from the current torch RNG."""
    return get(cfg.model).build(cfg, num_classes)


def make_optimizers(cfg: TrainConfig, nets: Nets) -> dict[str, torch.optim.Optimizer]:
    """Adam per network role, at the lr its family gives the role, betas (beta1, beta2)."""
    lrs = get(cfg.model).lrs(cfg)
    return {role: torch.optim.Adam(net.parameters(), lr=lrs[role], betas=(cfg.beta1, cfg.beta2))
            for role, net in nets.items()}


def lr_scale(cfg: TrainConfig, epoch: int) -> float:
    """The factor on every role's lr in (1-based) ``epoch``: ``lr_drop`` after ``lr_drop_after``."""
    return cfg.lr_drop if 0 < cfg.lr_drop_after < epoch else 1.0


def set_epoch_lr(cfg: TrainConfig, opts: dict[str, torch.optim.Optimizer], epoch: int) -> float:
    """Set each optimiser to its role's lr for ``epoch``, from the config rather than from the
    optimiser's state: a resumed run then follows the same schedule as an unbroken one."""
    scale, lrs = lr_scale(cfg, epoch), get(cfg.model).lrs(cfg)
    for role, opt in opts.items():
        for group in opt.param_groups:
            group["lr"] = lrs[role] * scale
    return scale
