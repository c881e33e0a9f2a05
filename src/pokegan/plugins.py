"""Registries that the modules of one package fill as they are imported (model families in
:mod:`pokegan.families`, metrics in :mod:`pokegan.metrics.registry`).

Each module of the package registers its entries at import; the first lookup imports every
module of the package, so adding an entry is adding a file and nothing lists the entries by hand.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any


class Registry:
    """Entries (objects with a ``name``) by name, registered by the modules of ``package``."""

    def __init__(self, package: str, what: str):
        self.package, self.what = package, what      # what: how errors name an entry
        self.entries: dict[str, Any] = {}
        self._loaded = False

    def register(self, entry):
        if entry.name in self.entries and self.entries[entry.name] is not entry:
            raise ValueError(f"{self.what} {entry.name!r} is registered twice")
        self.entries[entry.name] = entry
        return entry

    def load_all(self) -> dict[str, Any]:
        """Every entry, after importing each module of the package once."""
        if not self._loaded:
            self._loaded = True
            for mod in pkgutil.iter_modules(importlib.import_module(self.package).__path__):
                importlib.import_module(f"{self.package}.{mod.name}")
        return self.entries
