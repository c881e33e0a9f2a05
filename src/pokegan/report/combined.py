"""Every variant's curves in one file per kind, each row tagged with its ``variant``.

dvc.yaml's ``plots:`` read these files once and colour the lines by ``variant``, so a new variant
needs no plot lines of its own:

- ``plots/report/eval.csv``: the rows of every ``plots/eval/<variant>.csv`` (one per checkpoint);
- ``plots/report/losses.csv``: ``epoch, variant, d_loss, g_loss`` from the DVCLive logs under
  ``plots/train/<variant>/plots/metrics/`` (DVCLive's step is the epoch).

Both lie inside the report stage's ``plots/report`` output.
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


def tag_variants(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``frames`` (variant -> frame) one after another, in the mapping's order, with
    ``variant`` as the first column; a column one frame lacks is empty in its rows."""
    tagged = [df.assign(variant=name) for name, df in frames.items()]
    if not tagged:
        return pd.DataFrame(columns=["variant"])
    out = pd.concat(tagged, ignore_index=True)
    return out[["variant", *[c for c in out.columns if c != "variant"]]]


def combined_eval(variants: list[str], root: str | Path = ".") -> pd.DataFrame:
    """Every ``plots/eval/<variant>.csv`` of ``variants`` that exists, as one frame."""
    root = Path(root)
    paths = {v: root / "plots/eval" / f"{v}.csv" for v in variants}
    return tag_variants({v: pd.read_csv(p) for v, p in paths.items() if p.exists()})


def combined_losses(variants: list[str], root: str | Path = ".") -> pd.DataFrame:
    """``variant, epoch, d_loss, g_loss`` of every variant of ``variants`` with a training log."""
    logs = {v: read_training_log(Path(root) / "plots/train" / v) for v in variants}
    return tag_variants({v: log.reindex(columns=["epoch", *LOSS_COLUMNS])
                         for v, log in logs.items() if not log.empty})


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """``df`` as CSV at ``path`` (no index), written atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)


def write_combined(variants: list[str], root: str | Path = ".") -> list[Path]:
    """Write ``plots/report/eval.csv`` and ``plots/report/losses.csv`` under ``root``."""
    root = Path(root)
    return [write_csv(combined_eval(variants, root), root / EVAL),
            write_csv(combined_losses(variants, root), root / LOSSES)]
