"""report stage: plots/report.md + plots/report/*.png|gif (its declared outputs, nothing else:
README links to plots/report.md instead of carrying a copy).

Reads what the other stages wrote (metrics/, plots/eval/, plots/train/, models/) and the real
images; draws every variant's samples from one shared latent batch so rows are comparable.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import torch

from pokegan import config
from pokegan.report import figures
from pokegan.metrics.evaluate import provenance_path
from pokegan.report.markdown import machine_description, report_markdown
from pokegan.report.tables import load_metrics
from pokegan.report.training_logs import read_training_log

OUT = Path("plots/report")
N_SIDE = 10


def _recorded_minutes(variants) -> dict[str, float]:
    """Training and evaluation seconds that the outputs recorded, so the report states what a
    run really took (the data stages take ~1 min and keep no timings: their outputs must be
    byte-identical across reruns)."""
    minutes: dict[str, float] = {}
    for kind, where in (("train", lambda v: Path("plots/train") / v / "run.json"),
                        ("evaluate", provenance_path)):
        total = 0.0
        for name in variants:
            path = where(name)
            if path.exists():
                total += json.loads(path.read_text()).get("seconds", 0) or 0
        minutes[kind] = total / 60
    return {k: v for k, v in minutes.items() if v > 0}


def main() -> int:
    cfg = config.load()
    from pokegan.data.prepared import load_prepared
    from pokegan.models.io import load_generator, sample
    from pokegan.models.latents import seeded_latents

    metrics = load_metrics("metrics")
    variants = [v for v in cfg.variants if v in metrics]
    OUT.mkdir(parents=True, exist_ok=True)
    figs: dict[str, str] = {}

    curves = {v: pd.read_csv(f"plots/eval/{v}.csv") for v in variants
              if Path(f"plots/eval/{v}.csv").exists()}
    figures.curves_figure(curves, OUT / "curves.png")
    figs["FID, KID, precision and recall per checkpoint"] = "report/curves.png"

    logs = {v: read_training_log(Path("plots/train") / v) for v in variants}
    figures.losses_figure(logs, OUT / "losses.png")
    figs["Discriminator and generator losses"] = "report/losses.png"

    # Real images on top, then every variant from the same latents (one per latent size).
    gen = torch.Generator().manual_seed(cfg.seed)
    real_by_ds, samples, latents = {}, {}, {}
    for v in variants:
        vc = cfg.variant(v)
        if vc.dataset not in real_by_ds:
            real, _, _ = load_prepared(vc.dataset, originals_only=True)
            pick = torch.randperm(len(real), generator=gen)[:N_SIDE]
            real_by_ds[vc.dataset] = real[pick]
        G, _ = load_generator(Path("models") / v / "generator.pt")
        z = latents.setdefault(vc.latent_dim, seeded_latents(cfg.seed, N_SIDE, vc.latent_dim))
        samples[v] = sample(G, N_SIDE, seed=cfg.seed, latents=z)
    first_ds = cfg.variant(variants[0]).dataset if variants else None
    if first_ds:
        rows = {f"{v}": s for v, s in samples.items()}
        figures.side_by_side(real_by_ds[first_ds], rows, OUT / "side_by_side.png")
        figs[f"Real {first_ds} images (top), then each variant from the same latents"] = \
            "report/side_by_side.png"

    for v in variants:
        frames = sorted((Path("models") / v / "grids").glob("epoch_*.png"))
        figures.progress_gif(frames, OUT / f"progress_{v}.gif", tile_px=cfg.variant(v).image_size)
        if frames:
            figs[f"{v}: the fixed-latent grid over {len(frames)} epochs"] = f"report/progress_{v}.gif"

    body = report_markdown(metrics, figs, _recorded_minutes(variants), machine_description())
    from pokegan.files import write_text
    write_text("plots/report.md", "# pokegan report\n\n" + body + "\n")
    print(f"report: {len(variants)} variants -> plots/report.md")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (config.ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"report: error: {exc}", file=sys.stderr)
        sys.exit(1)
