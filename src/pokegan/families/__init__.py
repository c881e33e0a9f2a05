"""Model families, one module each, registered in one place.

A family declares everything the rest of pokegan needs to know about it: how its networks are
built from a :class:`~pokegan.config.TrainConfig`, the step that trains them, the learning rate of
each optimiser role, the network classes its files may hold (and which of them a generator file
is), whether it is conditional, which roles a finished run saves, and the keys only it reads
(a dataclass of :func:`pokegan.config.key` fields) with the shared keys it needs at one value.

Registering a family hands the config loader its keys and the model files its network classes
(both sit below the families and never import them); ``import pokegan`` imports every module of
this package, so adding a family is one new file that calls :func:`register`, plus a variant in
params.yaml. The training loop, the evaluation and the CLI read this registry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import nn

from pokegan import config
from pokegan.config import TrainConfig
from pokegan.models import catalog
from pokegan.ops.optim import adam
from pokegan.plugins import Registry

Nets = dict[str, nn.Module]


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[[TrainConfig, int], Nets]        # (cfg, num_classes) -> networks by role
    step: Callable[..., dict[str, torch.Tensor]]     # one optimisation step (pokegan.ops.step)
    lrs: Callable[[TrainConfig], dict[str, float]]   # optimiser role -> learning rate
    classes: tuple[type[nn.Module], ...]             # every network class its files may hold
    generator: tuple[str, ...]                       # class names a generator file of it holds
    conditional: bool = False                        # G(z, y), D(x, y): labels = type1
    finals: tuple[str, ...] = ("G",)                 # roles a finished run saves (E: encoder.pt)
    params: Optional[type] = None                    # dataclass of the keys only this family reads
    requires: dict[str, Any] = field(default_factory=dict)   # shared keys it needs at one value
    doc: str = ""


_families = Registry(__name__, "model family")
REGISTRY: dict[str, Family] = _families.entries
load_all = _families.load_all


def register(family: Family) -> Family:
    """Add ``family`` to the registry, its keys to the config loader's and its networks to the
    model files' catalogue."""
    _families.register(family)
    config.register_family(config.FamilySpec(family.name, family.params, dict(family.requires)))
    for cls in family.classes:
        catalog.register(cls, generator=cls.__name__ in family.generator)
    return family


def names() -> tuple[str, ...]:
    load_all()
    return tuple(sorted(REGISTRY))


def get(name: str) -> Family:
    """The family called ``name``; a ValueError lists the registered ones."""
    load_all()
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(names())}")
    return REGISTRY[name]


def conditional(meta: dict) -> bool:
    """Whether the generator a model file's ``meta`` describes takes labels: what its family
    declares (a file that names no model is the study's unconditional DCGAN)."""
    return get(meta.get("model") or "dcgan").conditional


def build(cfg: TrainConfig, num_classes: int = 0) -> Nets:
    """The networks of ``cfg.model`` by role, initialised from the current torch RNG."""
    return get(cfg.model).build(cfg, num_classes)


def make_optimizers(cfg: TrainConfig, nets: Nets) -> dict[str, torch.optim.Optimizer]:
    """Adam per network role, at the lr its family gives the role, betas (beta1, beta2)."""
    return adam(cfg, nets, get(cfg.model).lrs(cfg))
