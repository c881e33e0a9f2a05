"""Ablation of the generation-quality levers, each alone and together, measured.

Every config trains the study's DCGAN on the prepared artwork ×3 set for one fixed small budget
(``--epochs``, default 5: ~11k images shown) per seed, then scores ``--samples`` images
(the evaluate stage's seeded latents) with the project's own metric code (TF-Inception
features, FID, KID) against ``data/reference/artwork.npz``.

EMA does not change training (it only reads G's weights after each step and never touches the
training RNG), so every run keeps one (``--ema``) and is scored twice: the live generator
(the row ``<config>``) and the averaged one (``<config>+ema``). The ``baseline`` run thus also
gives the ``ema``-alone row.

Incremental and resumable: rows already in the CSV are skipped, and each run trains in its own
folder under ``--work`` with checkpoints, so a killed run resumes where it stopped.

    POKEGAN_THREADS=1 python bench/ablation.py [--configs baseline hinge ...] [--seeds 0 1]
    python bench/ablation.py --merge /tmp/abl_b.csv   # after a 2nd process wrote --csv /tmp/abl_b.csv
    python bench/ablation.py --curve curve.csv --configs best --seeds 0 --samples 100
        # no training: KID of every checkpoint the runs under --work kept, live and EMA G
    python bench/ablation.py --figure out.png --configs best --seeds 0 --figure-epochs 20 50
        # no training: those checkpoints' live and EMA G from the same latents, reals on top
    python bench/ablation.py --train-only --images 449400 --configs best --seeds 0 --work W
        # training alone, no feature network needed (a GPU machine): score later with --curve
    python bench/ablation.py --export OUT --configs best --seeds 0 --work W --export-epochs 200
        # those checkpoints reduced to their EMA G (~10 MB each) under OUT, for --curve --work OUT
Writes ``docs/ablation/ablation_5ep.csv`` (one row per config, seed and generator) and
``docs/ablation/ablation_5ep.md``
(the table with mean ± half-range over seeds).
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from pathlib import Path

BEST = dict(upsample="resize_conv", lr=4e-4)   # best_artwork's levers (EMA: every run keeps one)
ADA_OPS = "color,translation,cutout"           # D-side ops: p adapted with ada_target, else p = 1
FASTGAN = dict(model="fastgan", loss="hinge", diffaugment="color,translation")
BEST_ADA04 = dict(BEST, diffaugment=ADA_OPS, ada_target=0.4)   # ADA on best; best+diffaug beats it
# the projected discriminator (frozen EfficientNet-Lite0 features) with the paper's optimiser:
# lr 2e-4 for both networks, Adam betas (0, 0.99); DiffAugment's three ops on every image
PROJ = dict(model="projected", loss="hinge", upsample="resize_conv", diffaugment=ADA_OPS,
            beta1=0.0, beta2=0.99)
# config name → TrainConfig overrides (on top of params.yaml's top-level values)
ALL = dict(upsample="resize_conv", loss="hinge", lr=1e-4, lr_d=4e-4, r1=0.1, r1_every=4)
CONFIGS: dict[str, dict] = {
    "baseline": {},
    "resize_conv": dict(upsample="resize_conv"),
    "hinge": dict(loss="hinge"),
    "ttur": dict(lr=1e-4, lr_d=4e-4),
    "r1": dict(r1=0.1, r1_every=4),
    "mbstd": dict(mbstd=True),
    "all": ALL,
    "diffaug+all": dict(ALL, diffaugment=ADA_OPS),
    "all+mbstd": dict(ALL, mbstd=True),
    "resize_conv+hinge": dict(upsample="resize_conv", loss="hinge"),
    "resize_conv+diffaug": dict(upsample="resize_conv", diffaugment=ADA_OPS),
    "ns": dict(loss="ns"),
    # twice the optimiser steps for the same images: at a few hundred steps, updates are scarce
    "resize_conv+b16": dict(upsample="resize_conv", batch_size=16),
    # not a lever: the study's settings in fp32, to check that bf16 autocast costs no quality
    "fp32": dict(precision="fp32"),
    "resize_conv+lr4e-4": dict(upsample="resize_conv", lr=4e-4),
    "resize_conv+lr8e-4": dict(upsample="resize_conv", lr=8e-4),
    "resize_conv+ns": dict(upsample="resize_conv", loss="ns"),
    # best_artwork's levers with the Adam betas of StyleGAN2 (0, 0.99): no momentum, a shorter
    # second-moment memory, against the study's (0.5, 0.999)
    "resize_conv+lr4e-4+b0": dict(upsample="resize_conv", lr=4e-4, beta1=0.0, beta2=0.99),
    # data-efficient levers: the FastGAN-style family, flips-only data, adaptive augmentation, LeCam
    "fastgan": FASTGAN,
    "fastgan+flips": dict(FASTGAN, train_on="flips"),
    "fastgan+flips+ada+lecam": dict(FASTGAN, train_on="flips", ada_target=0.6, lecam=0.3,
                                    diffaugment=ADA_OPS),
    "best+flips+ada+lecam": dict(BEST, train_on="flips", diffaugment=ADA_OPS, ada_target=0.6,
                                 lecam=0.3),
    # the mid-scale ablation (--images): best_artwork's levers, then each lever alone on top
    "best": BEST,
    "best+flips": dict(BEST, train_on="flips"),
    "best+ada": dict(BEST, diffaugment=ADA_OPS, ada_target=0.6),
    "best+lecam": dict(BEST, lecam=0.3),
    # ADA with a lower target: under the study's soft, 5%-flipped labels at lr 4e-4 the training-
    # time r_t averages ~0.6 from the start (measured: 0.597 over epoch 21 of best+ada, single
    # steps from -0.75 to 1), so at the paper's 0.6 p only random-walks near 0 until ~96k images
    "best+ada0.4": BEST_ADA04,
    # recall stays at 0.13-0.18 (2000 samples) from 448k to 672k while KID falls: G covers few
    # of the artworks' modes. The minibatch-stddev map lets D see a batch's lack of variety.
    "best+ada0.4+mbstd": dict(BEST_ADA04, mbstd=True),
    # training data that matches the evaluation set: no colour-jittered copies, colour
    # changes only in D's (adaptive) augmentation, on real and fake alike
    "best+ada0.4+flips": dict(BEST_ADA04, train_on="flips"),
    # best_artwork's levers with every op on every image (p = 1): at full scale the study's DCGAN
    # gained more from fixed DiffAugment (baseline+diffaug, 0.69x) than from ADA at 0.6 (1.00x)
    "best+diffaug": dict(BEST, diffaugment=ADA_OPS),
    # its recall stays at 0.16-0.18 at 851k (precision 0.42): the study's soft, 5%-flipped labels
    # may favour precision over coverage, so the same recipe with hard-label non-saturating BCE
    "best+diffaug+ns": dict(BEST, diffaugment=ADA_OPS, loss="ns"),
    # seed 0's 100-sample KID flattened near 0.03 past ~500k images at lr 4e-4 (lowest 493k-627k):
    # the same run with lr / 4 after epoch 220 (~493k); --branch-from best+diffaug:220 reuses its
    # first 220 epochs, the same computation
    "best+diffaug+drop220": dict(BEST, diffaugment=ADA_OPS, lr_drop_after=220),
    # the EMA's decay capped at 0.99 (half-life ~70 steps, ~2k images) instead of 0.999: the
    # warm-up (1+t)/(10+t) stays below 0.99 until ~890 steps, so runs differ only after ~28k images
    "best+ema0.99": dict(BEST, ema=0.99),
    # recall stays at 0.13-0.18 on every run above, and what G leaves out is not random: at 851k
    # best+diffaug seed 1's EMA G covers 6-11% of the grass, ice, psychic and bug artworks against
    # 23-35% of the normal, fire, dark and dragon ones (its images' nearest artworks are green
    # half as often as the artworks are). The type-conditional DCGAN (labels: type1, sampled in
    # the data's mix) is asked for every type in proportion, with the same levers
    "cbest+diffaug": dict(BEST, model="cdcgan", diffaugment=ADA_OPS),
    # the adaptive twin of dcgan_artwork (study/params.yaml's dcgan_artwork_ada: the study's
    # DCGAN and settings, ADA_OPS under ADA at the paper's target 0.6), at the bench's precision
    "baseline+ada": dict(diffaugment=ADA_OPS, ada_target=0.6),
    # and its DiffAugment twin (dcgan_artwork_diffaug: every op on every image, p = 1)
    "baseline+diffaug": dict(diffaugment=ADA_OPS),
    # a discriminator on pretrained features: the resize-conv DCGAN G or FastGAN's G against it,
    # with the frozen network seeing the 64 px images as they are or upsampled to 96 or 128 px
    # (its deepest map: 2×2, 3×3, 4×4; its cost grows with the square of the size)
    **{f"proj{size}{g_name}": dict(PROJ, proj_size=size, **g_keys)
       for size in (64, 96, 128) for g_name, g_keys in (("", {}), ("+fastg", {"proj_g": "fastgan"}))},
}
DEFAULT_ORDER = ["baseline", "all", "resize_conv", "hinge", "ttur", "r1", "resize_conv+hinge",
                 "resize_conv+diffaug", "mbstd", "diffaug+all"]
CURVE_COLUMNS = ["config", "seed", "generator", "epoch", "images_seen", "fid", "kid", "kid_std",
                 "precision", "recall", "samples"]
COLUMNS = ["config", "generator", "seed", "fid", "kid", "kid_std", "precision", "recall",
           "copies", "copies_real", "epochs", "images_seen", "samples", "train_s", "threads", "precision_mode", "overrides"]


def _read_rows(path: Path) -> list[dict]:
    import pandas as pd
    if not path.is_file():
        return []
    return pd.read_csv(path, keep_default_na=False).to_dict("records")


def _key(row: dict) -> tuple:
    """A row's identity: (config, seed, generator), and the epoch for a --curve row. Seeds and
    epochs as ints, however the CSV was read."""
    key = (row["config"], int(row["seed"]), row["generator"])
    return key + (int(row["epoch"]),) if "epoch" in row else key


def _put(rows: list[dict], row: dict) -> list[dict]:
    """``rows`` with ``row`` in place of any row of the same identity (appended last)."""
    return [r for r in rows if _key(r) != _key(row)] + [row]


def merge_rows(*tables: list[dict]) -> list[dict]:
    """Rows of several ablation CSVs (e.g. two processes' halves) as one table; for the same
    (config, seed, generator) the later table's row wins. Order: first appearance."""
    merged: dict[tuple, dict] = {}
    for rows in tables:
        for r in rows:
            merged[_key(r)] = r
    return list(merged.values())


def _write(rows: list[dict], csv_path: Path, md_path: Path, meta: str, columns=COLUMNS,
           render=None) -> None:
    """The CSV and its markdown table (``render``, default :func:`markdown`), each atomically."""
    import pandas as pd

    from pokegan.files import atomic_path
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


def export_dir(work: str | Path, name: str, seed: int) -> Path:
    """Where ``--export`` writes a run: the config's '+' spelt '_plus_' (the device's file
    transfer allows letters, digits, '.', '_' and '-' only)."""
    return Path(work) / f"{name.replace('+', '_plus_')}_s{seed}"


def run_dir(work: str | Path, name: str, seed: int) -> Path:
    """A run's training folder under ``work``, or its :func:`export_dir` where only that exists."""
    plain, exported = Path(work) / f"{name}_s{seed}", export_dir(work, name, seed)
    return exported if not plain.exists() and exported.exists() else plain


def export_ema(checkpoint: Path, out: Path) -> None:
    """``checkpoint`` without D, the live G and the optimiser states: the EMA G, the ADA state
    and the history, which :func:`pokegan.models.io.load_generator` and ``--curve`` read."""
    from pokegan.models.io import read_file, save_torch

    ckpt = read_file(checkpoint)
    if "ema" not in ckpt:
        raise SystemExit(f"{checkpoint}: the run kept no EMA of G, nothing to export")
    save_torch({k: v for k, v in ckpt.items() if k not in ("models", "train")}, out)


# keys that may differ between a run and the run it branches from: each acts only after its epoch
BRANCH_KEYS = {"lr_drop_after", "lr_drop"}


def branch_checkpoint(src: Path, folder: Path, cfg, data_fingerprint: str) -> None:
    """Start the run in ``folder`` from another run's checkpoint ``src`` instead of from scratch.

    Only where the two configs differ in :data:`BRANCH_KEYS` alone and neither run's lr drop
    acts by ``src``'s epoch: the epochs up to it are then the same computation, so the copy is
    what this config would have written there, and it is re-stamped with this run's identity. A
    checkpoint written by older code is accepted as is (the identity's code part cannot vouch
    for it)."""
    from pokegan.ops.optim import lr_scale
    from pokegan.models.io import read_file, save_torch
    from pokegan.training.checkpoint import checkpoint_path, run_identity
    from pokegan.ops.device import resolve_device, resolve_precision
    from pokegan.ops.levers import LEVER_DEFAULTS

    ckpt = read_file(src)
    device = resolve_device(cfg.device)
    fp, parts = run_identity(cfg, data_fingerprint, device, resolve_precision(cfg.precision, device))
    old = ckpt["meta"]["fingerprint_parts"]
    keys = set(old["params"]) | set(parts["params"])
    differ = {k for k in keys if old["params"].get(k) != parts["params"].get(k)}
    src_cfg = dataclasses.replace(cfg, **{k: old["params"].get(k, LEVER_DEFAULTS[k])
                                          for k in BRANCH_KEYS})
    why = ([f"params {sorted(differ - BRANCH_KEYS)} differ"] if differ - BRANCH_KEYS else []) + \
        [f"{k} differs" for k in ("data", "device", "precision") if old[k] != parts[k]] + \
        [f"{who}'s lr_drop_after {c.lr_drop_after} acts before epoch {ckpt['epoch']}"
         for who, c in (("this run", cfg), ("the source", src_cfg))
         if lr_scale(c, ckpt["epoch"]) != 1.0]
    if why:
        raise SystemExit(f"cannot branch from {src}: " + "; ".join(why))
    ckpt["fingerprint"] = fp
    ckpt["meta"].update(fingerprint=fp, fingerprint_parts=parts, config=dataclasses.asdict(cfg),
                        branched_from=str(src))
    save_torch(ckpt, checkpoint_path(folder, ckpt["epoch"]))


def check_configs(configs: dict[str, dict], params: str | Path, dataset: str = "artwork") -> None:
    """Each config as a variant of ``params`` through the project's loader, cross-checks included
    (``ada_target`` needs a diffaugment policy): a misspelt or contradictory lever stops the bench
    before any training, with the loader's ConfigError naming ``variants.<config>.<key>``."""
    import yaml

    from pokegan import config

    raw = yaml.safe_load(Path(params).read_text()) or {}
    raw["variants"] = {name: {"model": "dcgan", "dataset": dataset, **overrides}
                       for name, overrides in configs.items()}
    config.parse(raw, variant_folders=False)     # a lever's name ('best+ada0.4') is no folder


def _copies(rows) -> str:
    """The mean copy share of ``rows`` and, in brackets, that of real halves; "—" for rows
    scored before the bench measured it."""
    import pandas as pd
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=DEFAULT_ORDER, choices=sorted(CONFIGS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--images", type=int, default=None,
                    help="train each config for about this many images shown instead of --epochs "
                         "(epochs = ceil(images / its training-set size)), so configs that train "
                         "on fewer images per epoch (train_on=flips) get the same budget")
    ap.add_argument("--samples", type=int, default=250)
    ap.add_argument("--both-first", type=int, default=3,
                    help="run the first N configs at every seed before the others")
    ap.add_argument("--ema", type=float, default=0.999, help="decay of the EMA every run keeps")
    ap.add_argument("--dataset", default="artwork")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--prepared", default="data/prepared")
    ap.add_argument("--reference", default=None, help="default: data/reference/<dataset>.npz")
    ap.add_argument("--work", default="/tmp/abl", help="training folders (checkpoints, grids)")
    ap.add_argument("--csv", default="docs/ablation/ablation_5ep.csv")
    ap.add_argument("--md", default="docs/ablation/ablation_5ep.md")
    ap.add_argument("--merge", nargs="+", metavar="CSV", default=None,
                    help="no training: add these CSVs' rows (e.g. a second process's --csv) to "
                         "--csv and rewrite it and --md")
    ap.add_argument("--curve", metavar="CSV", default=None,
                    help="no training: score every checkpoint of the --configs x --seeds runs "
                         "under --work (live and EMA G, --samples each) into CSV and a .md "
                         "beside it; rows already there are kept")
    ap.add_argument("--figure", metavar="PNG", default=None,
                    help="no training: real artworks on top, then the live and EMA G of each "
                         "--configs x --seeds run's checkpoints at --figure-epochs (default: its "
                         "last), all from the same seeded latents")
    ap.add_argument("--figure-epochs", nargs="+", type=int, default=None)
    ap.add_argument("--train-only", action="store_true",
                    help="train the runs under --work and score nothing (no feature network "
                         "or reference needed, e.g. on a GPU machine); --curve scores them later")
    ap.add_argument("--checkpoint-every", type=int, default=None,
                    help="epochs between checkpoints (default: a fifth of the run's epochs)")
    ap.add_argument("--branch-from", metavar="CONFIG:EPOCH", default=None,
                    help="start each run that has no checkpoint from CONFIG's (same seed) "
                         "checkpoint at EPOCH; the configs may differ only in an lr drop after it")
    ap.add_argument("--export", metavar="DIR", default=None,
                    help="no training: write the --export-epochs checkpoints (default: the "
                         "last) of each run under --work, reduced to the EMA G, to "
                         "DIR/<config>_s<seed>/ ('+' spelt '_plus_')")
    ap.add_argument("--export-epochs", nargs="+", type=int, default=None)
    args = ap.parse_args(argv)

    import torch

    from pokegan import config
    from pokegan.config import EvalConfig
    from pokegan.data.prepared import TRAIN_ON_KINDS, load_prepared
    from pokegan import families
    from pokegan.metrics.evaluate import score_generator
    from pokegan.metrics.features import load_reference
    from pokegan.metrics.inception import load_feature_net
    from pokegan.models.conditional import LABEL_COLUMN, encode_labels
    from pokegan.models.io import final_path, list_checkpoints, load_generator, read_file
    from pokegan.training import TrainingDiverged, train
    from pokegan.training.checkpoint import checkpoint_path

    if os.environ.get("POKEGAN_THREADS"):
        torch.set_num_threads(int(os.environ["POKEGAN_THREADS"]))
    base = dataclasses.replace(config.load(args.params).train, dataset=args.dataset,
                               epochs=args.epochs, checkpoint_every=2, ema=args.ema)
    try:
        check_configs({c: CONFIGS[c] for c in args.configs}, args.params, args.dataset)
    except config.ConfigError as exc:
        raise SystemExit(f"{args.params}: {exc}") from None

    def live_and_ema(live_from: Path, ema_from: Path) -> dict[str, tuple[torch.nn.Module, dict]]:
        """The trained G (a checkpoint's ``models``; none in an ``--export``ed one) and its
        average (a checkpoint's ``ema``, or generator.pt), each with its meta."""
        gens = {"ema": load_generator(ema_from)}
        if "G" in read_file(live_from, mmap=True).get("models", {}):
            gens = {"live": load_generator(live_from, live=True), **gens}
        return gens

    if args.export:   # no data, no feature network
        for name in args.configs:
            for seed in args.seeds:
                ckpts = dict(list_checkpoints(run_dir(args.work, name, seed)))
                for epoch in args.export_epochs or list(ckpts)[-1:]:
                    if epoch not in ckpts:
                        print(f"skip {name} seed {seed} epoch {epoch}: not under {args.work} "
                              f"(kept: {sorted(ckpts)})", flush=True)
                        continue
                    out = export_dir(args.export, name, seed) / ckpts[epoch].name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    export_ema(ckpts[epoch], out)
                    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)", flush=True)
        return 0

    if args.figure:   # before the training set and Inception load: it needs neither
        from pokegan.report.figures import reals_and_samples
        n = 16        # as docs/screenshots/samples_full_scale.png, so the rows line up
        originals = load_prepared(args.dataset, root=args.prepared, originals_only=True)[0]
        shown = {}
        for name in args.configs:
            for seed in args.seeds:
                ckpts = dict(list_checkpoints(run_dir(args.work, name, seed)))
                for epoch in args.figure_epochs or list(ckpts)[-1:]:
                    if epoch not in ckpts:
                        raise SystemExit(f"{name} seed {seed}: no checkpoint of epoch {epoch} "
                                         f"under {args.work} (kept: {sorted(ckpts)})")
                    for kind, pair in live_and_ema(ckpts[epoch], ckpts[epoch]).items():
                        shown[f"{name} s{seed}\n{kind}, epoch {epoch}"] = pair
        reals_and_samples(originals, shown, n, base.seed, Path(args.figure))
        print(f"wrote {args.figure}: {len(shown)} rows of {n}", flush=True)
        return 0
    ev = EvalConfig()
    images, index, meta = load_prepared(args.dataset, root=args.prepared)
    if args.train_only:
        net = real = None
    else:
        net = load_feature_net()
        ref_path = Path(args.reference or f"data/reference/{args.dataset}.npz")
        real = load_reference(ref_path, expect={"feature_net_sha1": net.sha1,
                                                "resize": net.resize}).feats
    csv_path, md_path = Path(args.csv), Path(args.md)
    rows = _read_rows(csv_path)
    budget = (f"about {args.images:,} images shown per run (epochs = ceil(images / training-set "
              f"size), so ×3 and flips-only runs see the same number)" if args.images
              else f"{args.epochs} epochs")
    note = (f"DCGAN on {args.dataset} ×3 ({len(images)} images, {base.image_size} px), "
            f"{budget} (batch {base.batch_size}), every run keeping an EMA "
            f"(decay {args.ema}, warm-up (1+t)/(10+t)); {args.samples} samples vs "
            f"{real.n if real else '?'} real artworks (TF-Inception pool3, `pokegan.metrics`). The `fp32` rows "
            "are not a lever: the baseline without bf16 autocast (the check that bf16 costs no "
            "quality). `train s` is wall time on `threads` CPU threads under whatever else ran "
            "(some runs were paused), not a speed measure. Rows with `train_on=flips` train on "
            "the originals and mirrors only (2/3 of the images per epoch); `model=fastgan` rows "
            "use the FastGAN-style family, `model=projected` rows the projected discriminator on "
            "frozen EfficientNet-Lite0 features. The CSV's `images_seen` and `precision_mode` columns "
            "say what each run saw and computed in.")
    if args.merge:   # adds rows to a table: its description stays (not this command line's budget)
        rows = merge_rows(rows, *(_read_rows(Path(p)) for p in args.merge))
        _write(rows, csv_path, md_path, merged_description(md_path, args.merge) or note)
        print(f"merged {', '.join(args.merge)} into {csv_path}: {len(rows)} rows", flush=True)
        return 0

    def score_pair(live_from: Path, ema_from: Path, desc: str) -> dict[str, dict]:
        """FID/KID/P/R of :func:`live_and_ema`'s two generators on the evaluate stage's seeded
        latents."""
        return {kind: score_generator(G, g_meta, real, net, ev, 0, args.samples, final=True,
                                      desc=f"{desc} {kind}")[1]     # final: also the copy share
                for kind, (G, g_meta) in live_and_ema(live_from, ema_from).items()}

    if args.curve:
        curve_path = Path(args.curve)
        curve = _read_rows(curve_path)
        have = {_key(r) for r in curve}
        write_curve = lambda: _write(curve, curve_path, curve_path.with_suffix(".md"), meta,
                                     CURVE_COLUMNS, curve_markdown)
        meta = (f"Each run of `bench/ablation.py` (DCGAN on {args.dataset}, batch "
                f"{base.batch_size}) scored at every checkpoint it kept: {args.samples} samples "
                f"of the live and the EMA G vs {real.n} real artworks (KID; FID in the CSV).")
        for name in args.configs:
            for seed in args.seeds:
                ckpts = list_checkpoints(run_dir(args.work, name, seed))
                if not ckpts:
                    print(f"skip {name} seed {seed}: no checkpoints under {args.work}", flush=True)
                for epoch, path in ckpts:
                    if (name, seed, "ema", epoch) in have:   # written with its live row, if any
                        continue
                    shown = read_file(path, mmap=True)["images_seen"]
                    for kind, s in score_pair(path, path, f"{name} s{seed} e{epoch}").items():
                        curve = _put(curve, {
                            "config": name, "seed": seed, "generator": kind, "epoch": epoch,
                            "images_seen": shown, "fid": round(s["fid"], 2), "kid": round(s["kid"], 5),
                            "kid_std": round(s["kid_std"], 5), "precision": round(s["precision"], 4),
                            "recall": round(s["recall"], 4), "samples": s["samples"]})
                        print(f"{name} seed {seed} epoch {epoch} ({shown} images) {kind}: "
                              f"KID {s['kid']:.4f}", flush=True)
                    write_curve()
        write_curve()
        return 0
    done = set() if args.train_only else {_key(r) for r in rows}   # a trained run resumes to its end

    # the yardsticks' seeds first (the first --both-first configs: baseline, all, resize_conv),
    # then every other config seed by seed, so a partial ablation still has every lever at one seed
    head = args.configs[:args.both_first]
    plan = [(c, s) for c in head for s in args.seeds] + \
        [(c, s) for s in args.seeds for c in args.configs[args.both_first:]]
    for name, seed in plan:
        if {(name, seed, "live"), (name, seed, "ema")} <= done:
            print(f"skip {name} seed {seed}: in {csv_path}", flush=True)
            continue
        overrides = CONFIGS[name]
        cfg = config.replace(base, seed=seed, **overrides)
        folder = run_dir(args.work, name, seed)
        t0 = time.perf_counter()
        print(f"== {name} seed {seed}: {overrides or 'study settings'}", flush=True)
        kinds = TRAIN_ON_KINDS[cfg.train_on]
        rows_used, index_used = (images, index) if kinds is None else load_prepared(
            args.dataset, root=args.prepared, kinds=kinds)[:2]
        extra = {}
        if families.get(cfg.model).conditional:   # as the train stage: each image's type1
            extra["labels"], extra["label_names"] = encode_labels(index_used[LABEL_COLUMN])
        if args.images:
            epochs = max(1, math.ceil(args.images / len(rows_used)))
            cfg = dataclasses.replace(cfg, epochs=epochs,
                                      checkpoint_every=max(1, math.ceil(epochs / 5)))
        if args.checkpoint_every:
            cfg = dataclasses.replace(cfg, checkpoint_every=args.checkpoint_every)
        if args.branch_from and not list_checkpoints(folder):
            src_name, src_epoch = args.branch_from.rsplit(":", 1)
            src = checkpoint_path(run_dir(args.work, src_name, seed), int(src_epoch))
            branch_checkpoint(src, folder, cfg, meta["fingerprint"])
            print(f"{name} seed {seed}: branched from {src}", flush=True)
        try:
            info = train(f"abl_{name}_s{seed}", cfg, rows_used, data_fingerprint=meta["fingerprint"],
                         model_dir=folder, progress=False, log=lambda m: print(m, flush=True),
                         **extra)
        except TrainingDiverged as exc:
            print(f"{name} seed {seed}: diverged: {exc}", flush=True)
            continue
        if args.train_only:
            print(f"{name} seed {seed}: trained in {info['seconds']:.0f} s "
                  f"({info['images_seen']} images, {info['device']}/{info['precision']})", flush=True)
            continue
        last = list_checkpoints(folder)[-1][1]
        for kind, s in score_pair(last, final_path(folder), f"{name} s{seed}").items():
            rows = _put(rows, {
                "config": name, "generator": kind, "seed": seed, "fid": round(s["fid"], 2),
                "kid": round(s["kid"], 5), "kid_std": round(s["kid_std"], 5),
                "precision": round(s["precision"], 4), "recall": round(s["recall"], 4),
                "copies": round(s["copies"], 4), "copies_real": round(s["copies_real"], 4),
                "epochs": info["epochs"], "images_seen": info["images_seen"],
                "samples": s["samples"], "train_s": info["seconds"], "threads": info["threads"],
                "precision_mode": info["precision"],
                "overrides": " ".join(f"{k}={v}" for k, v in overrides.items())})
            print(f"{name} seed {seed} {kind}: FID {s['fid']:.1f} KID {s['kid']:.4f} "
                  f"P {s['precision']:.3f} R {s['recall']:.3f} copies {s['copies']:.3f} "
                  f"(real halves {s['copies_real']:.3f})", flush=True)
        _write(rows, csv_path, md_path, note)
        print(f"{name} seed {seed}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    if not args.train_only:
        _write(rows, csv_path, md_path, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
