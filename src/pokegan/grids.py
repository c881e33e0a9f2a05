"""Image grids: many uint8 images as one PNG (the per-epoch grids, ``pokegan sample``), and the
corner of a grid the progress GIF and the DVCLive step images show."""
from __future__ import annotations

import math
from pathlib import Path

import torch

from pokegan.files import atomic_path

GRID_PAD = 2   # px of white between the tiles of every grid PNG (the report's GIF crops by it)


def grid_corner(grid, tile_px: int, tiles: int = 4, pad: int = GRID_PAD):
    """The top-left ``tiles``×``tiles`` images of a PIL grid written by :func:`save_grid_png`
    with ``tile_px`` px tiles (what the progress GIF and the DVCLive step images show: the
    whole 8×8 grid of every epoch would weigh ~0.6 MB each in git)."""
    side = pad + tiles * (tile_px + pad)
    return grid.crop((0, 0, min(side, grid.width), min(side, grid.height)))


def save_grid_png(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """uint8 N×3×S×S → one grid image, ``nrow`` tiles per row (default: a square), written
    atomically (parent folders created) so a killed run never leaves half an image. PNG unless
    the suffix names another format PIL writes (``pokegan sample -o grid.jpg``)."""
    from PIL import Image
    from torchvision.utils import make_grid

    nrow = nrow or max(1, math.ceil(math.sqrt(len(images))))
    grid = make_grid(images, nrow=nrow, padding=GRID_PAD, pad_value=255)
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    with atomic_path(path, suffix=path.suffix or ".png") as tmp:
        Image.fromarray(grid.permute(1, 2, 0).numpy()).save(tmp, format=fmt)
    return path
