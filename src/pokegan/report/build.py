"""The report stage's work: plots/report.md and the figures under plots/report/.

Reads what the other stages wrote (metrics/, plots/eval/, plots/train/, models/) and the real
images; draws every variant's samples from the same seeded latents so rows are comparable.
Every path is relative to ``root`` (the repository when the stage runs).
"""
from __future__ import annotations

import json
from pathlib import Path

from pokegan.config import Config
from pokegan.files import write_text
from pokegan.metrics.evaluate import provenance_path
from pokegan.models.io import final_path, list_grids, load_generator
from pokegan.report import figures
from pokegan.report.combined import read_curves, read_logs, reconstructing, write_combined
from pokegan.report.markdown import machine_description, report_markdown
from pokegan.report.tables import load_metrics

OUT = Path("plots/report")
REPORT = Path("plots/report.md")
N_SIDE = 10          # images per row of the side-by-side figure


def recorded_minutes(variants: list[str], root: Path = Path(".")) -> dict[str, float]:
    """Training and evaluation minutes that the outputs recorded, so the report states what a
    run really took (the data stages take ~1 min and keep no timings: their outputs must be
    byte-identical across reruns)."""
    minutes: dict[str, float] = {}
    for kind, where in (("train", lambda v: root / "plots/train" / v / "run.json"),
                        ("evaluate", lambda v: provenance_path(v, root / "metrics"))):
        total = 0.0
        for name in variants:
            path = where(name)
            if path.exists():
                total += json.loads(path.read_text()).get("seconds", 0) or 0
        minutes[kind] = total / 60
    return {k: v for k, v in minutes.items() if v > 0}


def resumed_runs(variants: list[str], root: Path = Path(".")) -> dict[str, int]:
    """The epoch each resumed run restarted from: its run.json times only that last leg, so
    the report says whose minutes are partial."""
    out = {}
    for name in variants:
        path = root / "plots/train" / name / "run.json"
        if path.exists():
            epoch = json.loads(path.read_text()).get("resumed_from_epoch") or 0
            if epoch:
                out[name] = epoch
    return out


def _listing(words: list[str]) -> str:
    """'a, b and c'"""
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def build_report(cfg: Config, root: str | Path = ".", log=print) -> Path:
    """Write plots/report.md and its figures for the variants that have metrics; returns the
    report's path."""
    root = Path(root)
    out = root / OUT
    metrics = load_metrics(root / "metrics")
    variants = [v for v in cfg.variants if v in metrics]
    out.mkdir(parents=True, exist_ok=True)
    figs: dict[str, str] = {}

    curves, logs = read_curves(variants, root), read_logs(variants, root)
    write_combined(curves, logs, root)   # eval, losses, reconstruction: what dvc.yaml's plots draw
    panels = figures.curve_panels()
    figures.curves_figure(curves, out / "curves.png", panels)
    figs[f"{_listing([label for _, label in panels])} per checkpoint"] = "report/curves.png"

    figures.losses_figure(logs, out / "losses.png")
    caption = "Discriminator and generator losses"
    reconstructs = reconstructing(logs)
    if reconstructs:
        caption += f" (dashed: {_listing(reconstructs)}'s reconstruction errors)"
    figs[caption] = "report/losses.png"

    if variants:
        from pokegan.data.prepared import load_prepared
        first_ds = cfg.variant(variants[0]).dataset
        originals = load_prepared(first_ds, root=root / "data/prepared", originals_only=True)[0]
        figures.reals_and_samples(
            originals, {v: load_generator(final_path(root / "models" / v)) for v in variants},
            N_SIDE, cfg.seed, out / "side_by_side.png")
        figs[f"Real {first_ds} images (top), then each variant from the same latents"] = \
            "report/side_by_side.png"

    for v in variants:
        frames = [path for _, path in list_grids(root / "models" / v)]
        figures.progress_gif(frames, out / f"progress_{v}.gif", tile_px=cfg.variant(v).image_size)
        if frames:
            figs[f"{v}: the fixed-latent grid over {len(frames)} epochs"] = f"report/progress_{v}.gif"

    body = report_markdown(metrics, figs, recorded_minutes(variants, root), machine_description(),
                           resumed=resumed_runs(variants, root))
    write_text(root / REPORT, "# pokegan report\n\n" + body + "\n")
    log(f"report: {len(variants)} variants -> {REPORT}")
    return root / REPORT
