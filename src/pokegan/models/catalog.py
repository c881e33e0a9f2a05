"""The network classes model files may name, by class name (files never pickle a class). The
model families register theirs (:func:`pokegan.families.register`); ``import pokegan`` imports
every family, so the catalogue is complete before any file is read."""
from __future__ import annotations

from torch import nn

NETWORKS: dict[str, type[nn.Module]] = {}
GENERATORS: set[str] = set()     # class names a generator file may hold


def register(cls: type[nn.Module], generator: bool = False) -> None:
    known = NETWORKS.setdefault(cls.__name__, cls)
    if known is not cls:
        raise ValueError(f"two network classes are called {cls.__name__}")
    if generator:
        GENERATORS.add(cls.__name__)
