"""Training: the loop every family shares (:mod:`.loop`) and its checkpoints
(:mod:`.checkpoint`). What a step is made of lives below, in :mod:`pokegan.ops`; each family's
step in its module of :mod:`pokegan.families`."""
from __future__ import annotations

from .loop import TrainingDiverged, train

__all__ = ["TrainingDiverged", "train"]
