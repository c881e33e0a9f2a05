"""Training: the shared loop (:mod:`.loop`), per-variant steps (:mod:`.steps`), losses,
DiffAugment, checkpoints and device/precision choice."""
from .loop import TrainingDiverged, train

__all__ = ["TrainingDiverged", "train"]
