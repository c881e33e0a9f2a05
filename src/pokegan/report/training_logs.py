"""Read the per-epoch training curves that DVCLive wrote under plots/train/<variant>/."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_training_log(live_dir: Path) -> pd.DataFrame:
    """One row per logged epoch with a column per metric (the loop logs DVCLive step = epoch)."""
    frames = []
    for tsv in sorted((Path(live_dir) / "plots" / "metrics").rglob("*.tsv")):
        df = pd.read_csv(tsv, sep="\t")
        value_cols = [c for c in df.columns if c not in ("step", "timestamp")]
        if "step" not in df or not value_cols:
            continue
        frames.append(df[["step", value_cols[0]]].set_index("step"))
    if not frames:
        return pd.DataFrame()
    log = pd.concat(frames, axis=1).reset_index()
    if "epoch" not in log:
        log["epoch"] = log["step"]
    return log
