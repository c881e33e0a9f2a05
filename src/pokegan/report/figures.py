"""Matplotlib figures for readers without DVC: curves, losses, side-by-side samples, progress GIFs."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # stages run headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from pokegan.files import atomic_path  # noqa: E402
from pokegan.grids import GRID_PAD, grid_corner  # noqa: E402


def _save(fig, out: Path) -> None:
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png",
                    metadata={"Software": None})  # no version stamp: same inputs, same bytes
    plt.close(fig)


def curve_panels() -> list[tuple[str, str]]:
    """(curve CSV column, label) of every panel of :func:`curves_figure`: the metric registry's
    shown curve keys."""
    from pokegan.metrics import registry
    return [(k.name, k.label) for k in registry.shown(curve=True)]


def curve_x(curves: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """(column, axis label) the curves are drawn against: images shown when every curve records
    it, so that variants whose epochs differ in size (14,000 sprites, 2,240 artworks) line up;
    else the epoch (curves written before ``images_seen`` was a column)."""
    if curves and all("images_seen" in df and df["images_seen"].notna().all()
                      for df in curves.values()):
        return "images_seen", "images shown"
    return "epoch", "epoch"


def curves_figure(curves: dict[str, pd.DataFrame], out: Path,
                  columns: list[tuple[str, str]] | None = None) -> None:
    """One panel per metric (default :func:`curve_panels`), metric against images shown
    (:func:`curve_x`), one colour per variant."""
    columns = columns or curve_panels()
    x, x_label = curve_x(curves)
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 3.4))
    for ax, (col, label) in zip(np.atleast_1d(axes), columns):
        for i, (name, df) in enumerate(curves.items()):
            if col in df and df[col].notna().any():
                ax.plot(df[x], df[col], marker="o", color=f"C{i}", label=name)
        ax.set_xlabel(x_label)
        ax.set_ylabel(label)
        ax.set_title(f"{label} per checkpoint")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=8)
    _save(fig, out)


# Logged curves each variant's panel draws (when logged): the adversarial losses solid, the
# reconstruction errors of a model with an encoder (the AEGAN) dashed.
LOSS_LINES = {"d_loss": ("d_loss", "-"), "g_loss": ("g_loss", "-"),
              "rec_x": ("rec_x: image L1, G(E(x)) vs x", "--"),
              "rec_z": ("rec_z: latent MSE, E(G(z)) vs z", "--")}


def losses_figure(logs: dict[str, pd.DataFrame], out: Path) -> None:
    """Discriminator and generator losses per epoch, and the reconstruction errors where a
    variant logged them, one panel per variant."""
    names = [n for n, df in logs.items() if not df.empty]
    if not names:
        return
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        df = logs[name]
        for col, (label, style) in LOSS_LINES.items():
            if col in df:
                ax.plot(df["epoch"], df[col], style, marker=".", label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, out)


def _strip(images: torch.Tensor) -> np.ndarray:
    """uint8 N×3×S×S -> one H×W×3 row with a 2-px white gutter."""
    imgs = images.permute(0, 2, 3, 1).numpy()
    gutter = np.full((imgs.shape[1], 2, 3), 255, np.uint8)
    parts = []
    for img in imgs:
        parts += [img, gutter]
    return np.concatenate(parts[:-1], axis=1)


def comparison_rows(real: torch.Tensor, generators: dict[str, tuple[torch.nn.Module, dict]],
                    n: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The rows of the comparison figure: ``n`` of the ``real`` images picked by ``seed``, and
    each labelled (generator, meta)'s ``n`` images from ``seed``'s latents, as it is scored
    (:func:`pokegan.metrics.evaluate.generated`)."""
    from pokegan.metrics.evaluate import generated
    picked = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))[:n]]
    return picked, {label: generated(G, meta, n, seed) for label, (G, meta) in generators.items()}


def reals_and_samples(real: torch.Tensor, generators: dict[str, tuple[torch.nn.Module, dict]],
                      n: int, seed: int, out: Path) -> None:
    """The comparison figure (:func:`comparison_rows` drawn by :func:`side_by_side`): the report's,
    the bench's and the README's."""
    side_by_side(*comparison_rows(real, generators, n, seed), out)


def side_by_side(real: torch.Tensor, samples: dict[str, torch.Tensor], out: Path) -> None:
    """Real images on the first row, then each variant's samples from the same latents."""
    rows = [("real", real)] + list(samples.items())
    fig, axes = plt.subplots(len(rows), 1, figsize=(1.1 * real.shape[0], 1.25 * len(rows)),
                             squeeze=False)
    for ax, (label, imgs) in zip(axes[:, 0], rows):
        ax.imshow(_strip(imgs), interpolation="nearest")
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    _save(fig, out)


def progress_gif(frames: list[Path], out: Path, ms_per_frame: int = 400, *,
                 tile_px: int | None = None, tiles: int = 4, pad: int = GRID_PAD,
                 max_frames: int = 24) -> None:
    """The study's 'video of progress': the fixed-latent grid of every epoch as one GIF.

    With ``tile_px`` (the image size of a grid made with ``pad`` px padding) only the top-left
    ``tiles``×``tiles`` images are kept: the whole 8×8 grid over every epoch made ~2 MB per
    variant, rewritten into git history by every run. A longer run keeps ``max_frames`` evenly
    spaced epochs, the first and last among them: 150-200 epochs made ~10 MB per GIF."""
    if not frames:
        return
    if len(frames) > max_frames:
        frames = [frames[round(i * (len(frames) - 1) / (max_frames - 1))] for i in range(max_frames)]
    images = [Image.open(p).convert("RGB") for p in frames]
    if tile_px:
        images = [grid_corner(im, tile_px, tiles, pad) for im in images]
    images = [im.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
              for im in images]
    durations = [ms_per_frame] * (len(images) - 1) + [ms_per_frame * 4]  # linger on the last
    with atomic_path(out, suffix=".gif") as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=durations, loop=0)
