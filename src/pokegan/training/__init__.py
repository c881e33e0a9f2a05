"""Training: the shared loop (:mod:`.loop`), per-variant steps (:mod:`.steps`), losses,
DiffAugment, checkpoints and device/precision choice."""
from __future__ import annotations

__all__ = ["TrainingDiverged", "train"]


def __getattr__(name: str):
    # Lazy: model families (pokegan.families) import training.steps, and the loop imports the
    # families; importing the loop here eagerly would make that a cycle.
    if name in __all__:
        from . import loop
        return getattr(loop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
