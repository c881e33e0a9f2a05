"""The tables of ``bench/ablation.py``: its CSV rows (one per run and generator, or per
checkpoint for a curve), several processes' CSVs merged into one, and their markdown."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from pokegan.files import atomic_path

CURVE_COLUMNS = ["config", "seed", "generator", "epoch", "images_seen", "fid", "kid", "kid_std",
                 "precision", "recall", "samples"]
COLUMNS = ["config", "generator", "seed", "fid", "kid", "kid_std", "precision", "recall",
           "copies", "copies_real", "epochs", "images_seen", "samples", "train_s", "threads", "precision_mode", "overrides"]


def read_rows(path: Path) -> list[dict]:
    """The rows of a CSV :func:`write_tables` wrote; none where there is no such file yet."""
    if not path.is_file():
        return []
    return pd.read_csv(path, keep_default_na=False).to_dict("records")


def row_key(row: dict) -> tuple:
    """A row's identity: (config, seed, generator), and the epoch for a curve row. Seeds and
    epochs as ints, however the CSV was read."""
    key = (row["config"], int(row["seed"]), row["generator"])
    return key + (int(row["epoch"]),) if "epoch" in row else key


def put_row(rows: list[dict], row: dict) -> list[dict]:
    """``rows`` with ``row`` in place of any row of the same identity (appended last)."""
    return [r for r in rows if row_key(r) != row_key(row)] + [row]


def merge_rows(*tables: list[dict]) -> list[dict]:
    """Rows of several ablation CSVs (e.g. two processes' halves) as one table; for the same
    (config, seed, generator) the later table's row wins. Order: first appearance."""
    merged: dict[tuple, dict] = {}
    for rows in tables:
        for r in rows:
            merged[row_key(r)] = r
    return list(merged.values())


def write_tables(rows: list[dict], csv_path: Path, md_path: Path, meta: str, columns=COLUMNS,
                 render=None) -> None:
    """The CSV and its markdown table (``render``, default :func:`markdown`), each atomically."""
    df = pd.DataFrame(rows, columns=columns)
    with atomic_path(csv_path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(md_path, suffix=".md") as tmp:
        Path(tmp).write_text((render or markdown)(df, meta))


def description(md_path: Path) -> str | None:
    """The paragraph under the title of a table :func:`markdown` wrote (what its runs were)."""
    parts = md_path.read_text().split("\n\n") if md_path.is_file() else []
    return parts[1] if len(parts) > 1 and parts[0].startswith("# ") else None


def merged_description(md_path: Path, sources: list[str]) -> str | None:
    """What a merge keeps: the table's own description, or, for a new table, that of the first
    merged CSV's table (its runs' budget), never the merging command line's."""
    found = (description(p) for p in [md_path, *(Path(s).with_suffix(".md") for s in sources)])
    return next((d for d in found if d), None)


def _copies(rows) -> str:
    """The mean copy share of ``rows`` and, in brackets, that of real halves; "—" for rows
    scored before the bench measured it."""
    if "copies" not in rows:
        return "—"
    share, real = (pd.to_numeric(rows[k], errors="coerce")    # older rows: empty CSV cells
                   for k in ("copies", "copies_real"))
    return "—" if share.isna().all() else f"{share.mean():.3f} ({real.mean():.3f})"


def markdown(df, meta: str) -> str:
    """Per-run rows, then one summary line per lever: mean ± half the range over seeds."""
    lines = ["# Ablation of the generation-quality levers", "", meta, "",
             "Lower is better for both. ± is half the range over the seeds (the spread); a lever "
             "helps only where its mean beats the baseline's by more than both spreads. `copies`: "
             "the share of samples the memorisation test calls copies of a training image, and "
             "in brackets the share one half of the real images scores against the other.", "",
             "## Summary (mean over seeds)", "",
             "| lever | seeds | FID | KID | copies (real halves) |", "|---|---|---|---|---|"]
    if len(df):
        df = df.assign(lever=df["config"].where(df["generator"] == "live",
                                                df["config"] + "+ema"))
        df.loc[df["lever"] == "baseline+ema", "lever"] = "ema"
        order = list(dict.fromkeys(df["lever"]))
        for lever in order:
            g = df[df["lever"] == lever]
            f, k = g["fid"].astype(float), g["kid"].astype(float)
            seeds = ", ".join(str(s) for s in sorted(g["seed"]))
            spread = lambda s: f" ± {(s.max() - s.min()) / 2:.{3 if s is k else 1}f}" if len(s) > 1 else ""
            lines.append(f"| {lever} | {seeds} | {f.mean():.1f}{spread(f)} | {k.mean():.3f}{spread(k)} "
                         f"| {_copies(g)} |")
        lines += ["", "## Every run", "",
                  "| lever | seed | FID | KID | precision | recall | copies (real halves) | train s "
                  "| threads | overrides |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for i, r in df.iterrows():
            lines.append(f"| {r['lever']} | {r['seed']} | {float(r['fid']):.1f} | {float(r['kid']):.3f} "
                         f"| {float(r['precision']):.3f} | {float(r['recall']):.3f} | {_copies(df.loc[[i]])} "
                         f"| {float(r['train_s']):.0f} | {r['threads']} | `{r['overrides']}` |")
    return "\n".join(lines) + "\n"


def curve_markdown(df, meta: str) -> str:
    """One line per run and generator: KID at each checkpoint, by thousands of images shown."""
    lines = ["# Ablation runs over images shown", "", meta, "",
             "| config | seed | G | KID at k images shown |", "|---|---|---|---|"]
    for (config, seed, gen), g in df.groupby(["config", "seed", "generator"], sort=False):
        g = g.sort_values("images_seen")
        cells = " · ".join(f"{int(r.images_seen) / 1000:.0f}k {float(r.kid):.3f}"
                           for r in g.itertuples())
        lines.append(f"| {config} | {seed} | {gen} | {cells} |")
    return "\n".join(lines) + "\n"
