"""Every variant's curves in one file per kind, each row tagged with its ``variant``.

dvc.yaml's ``plots:`` read these files once and colour the lines by ``variant``, so a new variant
needs no plot lines of its own:

- ``plots/report/eval.csv``: the rows of every ``plots/eval/<variant>.csv`` (one per checkpoint);
- ``plots/report/losses.csv``: ``epoch, variant, d_loss, g_loss`` from the DVCLive logs under
  ``plots/train/<variant>/plots/metrics/`` (DVCLive's step is the epoch);
- ``plots/report/reconstruction.csv``: ``epoch, variant, rec_x, rec_z`` of the variants whose
  model reconstructs (the AEGAN's image L1 and latent MSE), in a file of their own because DVC's
  plots draw an empty cell as zero.

All three lie inside the report stage's ``plots/report`` output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from pokegan.files import atomic_path
from pokegan.report.training_logs import read_training_log

EVAL = Path("plots/report/eval.csv")
LOSSES = Path("plots/report/losses.csv")
LOSS_COLUMNS = ["d_loss", "g_loss"]
RECONSTRUCTION = Path("plots/report/reconstruction.csv")
RECONSTRUCTION_COLUMNS = ["rec_x", "rec_z"]


def tag_variants(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``frames`` (variant -> frame) one after another, in the mapping's order, with
    ``variant`` as the first column; a column one frame lacks is empty in its rows."""
    tagged = [df.assign(variant=name) for name, df in frames.items()]
    if not tagged:
        return pd.DataFrame(columns=["variant"])
    out = pd.concat(tagged, ignore_index=True)
    return out[["variant", *[c for c in out.columns if c != "variant"]]]


def read_curves(variants: list[str], root: str | Path = ".") -> dict[str, pd.DataFrame]:
    """Each variant's ``plots/eval/<variant>.csv`` that exists (the report's curves too)."""
    paths = {v: Path(root) / "plots/eval" / f"{v}.csv" for v in variants}
    return {v: pd.read_csv(p) for v, p in paths.items() if p.exists()}


def read_logs(variants: list[str], root: str | Path = ".") -> dict[str, pd.DataFrame]:
    """Each variant's per-epoch training log (empty where it has none)."""
    return {v: read_training_log(Path(root) / "plots/train" / v) for v in variants}


def combined_eval(curves: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The curves of :func:`read_curves` as one frame."""
    return tag_variants(curves)


def combined_losses(logs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """``variant, epoch, d_loss, g_loss`` of every log of :func:`read_logs` that has rows."""
    return tag_variants({v: log.reindex(columns=["epoch", *LOSS_COLUMNS])
                         for v, log in logs.items() if not log.empty})


def reconstructing(logs: Mapping[str, pd.DataFrame]) -> list[str]:
    """The variants of :func:`read_logs` whose log has a reconstruction loss (the AEGAN's)."""
    return [v for v, log in logs.items() if set(RECONSTRUCTION_COLUMNS) & set(log.columns)]


def combined_reconstruction(logs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """``variant, epoch, rec_x, rec_z`` of the :func:`reconstructing` variants' logs; the header
    alone when there are none."""
    columns = ["epoch", *RECONSTRUCTION_COLUMNS]
    frames = {v: logs[v].reindex(columns=columns) for v in reconstructing(logs)}
    return tag_variants(frames) if frames else pd.DataFrame(columns=["variant", *columns])


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """``df`` as CSV at ``path`` (no index), written atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)


def write_combined(curves: Mapping[str, pd.DataFrame], logs: Mapping[str, pd.DataFrame],
                   root: str | Path = ".") -> list[Path]:
    """Write ``plots/report/eval.csv``, ``losses.csv`` and ``reconstruction.csv`` under ``root``
    from what the report read once (:func:`read_curves`, :func:`read_logs`)."""
    root = Path(root)
    return [write_csv(combined_eval(curves), root / EVAL),
            write_csv(combined_losses(logs), root / LOSSES),
            write_csv(combined_reconstruction(logs), root / RECONSTRUCTION)]
