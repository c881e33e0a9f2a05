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

    POKEGAN_THREADS=1 python bench/ablation.py run [--configs baseline hinge ...] [--seeds 0 1]
    python bench/ablation.py merge /tmp/abl_b.csv   # after a 2nd process wrote run --csv /tmp/abl_b.csv
    python bench/ablation.py curve curve.csv --configs best --seeds 0 --samples 100
        # no training: KID of every checkpoint the runs under --work kept, live and EMA G
    python bench/ablation.py figure out.png --configs best --seeds 0 --epochs 20 50
        # no training: those checkpoints' live and EMA G from the same latents, reals on top
    python bench/ablation.py run --train-only --images 449400 --configs best --seeds 0 --work W
        # training alone, no feature network needed (a GPU machine): score later with curve
    python bench/ablation.py export OUT --configs best --seeds 0 --work W --epochs 200
        # those checkpoints reduced to their EMA G (~10 MB each) under OUT, for curve --work OUT
Writes ``docs/ablation/ablation_5ep.csv`` (one row per config, seed and generator) and
``docs/ablation/ablation_5ep.md``
(the table with mean ± half-range over seeds).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch

from ablation_tables import (CURVE_COLUMNS, curve_markdown, merge_rows, merged_description,
                             put_row, read_rows, row_key, write_tables)
from pokegan import config, families
from pokegan.config import EvalConfig, TrainConfig
from pokegan.data.prepared import TRAIN_ON_KINDS, load_prepared
from pokegan.metrics import inception
from pokegan.metrics.evaluate import score_generator
from pokegan.metrics.features import load_reference
from pokegan.models.conditional import LABEL_COLUMN, encode_labels
from pokegan.models.io import (ModelFileError, export_ema, final_path, list_checkpoints,
                               load_generator, read_file)
from pokegan.report.figures import reals_and_samples
from pokegan.training import TrainingDiverged, train
from pokegan.training.checkpoint import BranchError, branch, checkpoint_path

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


def export_dir(work: str | Path, name: str, seed: int) -> Path:
    """Where ``export`` writes a run: the config's '+' spelt '_plus_' (the device's file
    transfer allows letters, digits, '.', '_' and '-' only)."""
    return Path(work) / f"{name.replace('+', '_plus_')}_s{seed}"


def run_dir(work: str | Path, name: str, seed: int) -> Path:
    """A run's training folder under ``work``, or its :func:`export_dir` where only that exists."""
    plain, exported = Path(work) / f"{name}_s{seed}", export_dir(work, name, seed)
    return exported if not plain.exists() and exported.exists() else plain


def check_configs(configs: dict[str, dict], params: str | Path, dataset: str = "artwork") -> None:
    """Each config as a variant of ``params`` through the project's loader, cross-checks included
    (``ada_target`` needs a diffaugment policy): a misspelt or contradictory lever stops the bench
    before any training, with the loader's ConfigError naming ``variants.<config>.<key>``."""
    import yaml

    raw = yaml.safe_load(Path(params).read_text()) or {}
    raw["variants"] = {name: {"model": "dcgan", "dataset": dataset, **overrides}
                       for name, overrides in configs.items()}
    config.parse(raw, variant_folders=False)     # a lever's name ('best+ada0.4') is no folder


# --------------------------------------------------------------------------- shared by the commands
def kept_checkpoints(args, epochs: list[int] | None):
    """(config, seed, epoch, {epoch: checkpoint} the run kept) for each --configs x --seeds run
    under --work and each of ``epochs`` (default: the run's last)."""
    for name in args.configs:
        for seed in args.seeds:
            ckpts = dict(list_checkpoints(run_dir(args.work, name, seed)))
            for epoch in epochs or list(ckpts)[-1:]:
                yield name, seed, epoch, ckpts


def live_and_ema(live_from: Path, ema_from: Path) -> dict[str, tuple[torch.nn.Module, dict]]:
    """The trained G (a checkpoint's ``models``; none in an exported one) and its average (a
    checkpoint's ``ema``, or generator.pt), each with its meta."""
    gens = {"ema": load_generator(ema_from)}
    if "G" in read_file(live_from, mmap=True).get("models", {}):
        gens = {"live": load_generator(live_from, live=True), **gens}
    return gens


def load_scoring(args):
    """The feature network and the real images' features (--reference) it is checked against."""
    net = inception.load_feature_net()
    ref_path = Path(args.reference or f"data/reference/{args.dataset}.npz")
    return net, load_reference(ref_path, expect={"feature_net_sha1": net.sha1,
                                                 "resize": net.resize}).feats


def score_pair(live_from: Path, ema_from: Path, desc: str, scoring, samples: int) -> dict[str, dict]:
    """FID/KID/P/R of :func:`live_and_ema`'s two generators on the evaluate stage's seeded
    latents; ``scoring``: :func:`load_scoring`'s (net, real)."""
    net, real = scoring
    return {kind: score_generator(G, g_meta, real, net, EvalConfig(), 0, samples, final=True,
                                  desc=f"{desc} {kind}")[1]     # final: also the copy share
            for kind, (G, g_meta) in live_and_ema(live_from, ema_from).items()}


def rounded(s: dict) -> dict:
    """The scores every table row keeps, rounded as the CSVs have them."""
    return {"fid": round(s["fid"], 2), "kid": round(s["kid"], 5), "kid_std": round(s["kid_std"], 5),
            "precision": round(s["precision"], 4), "recall": round(s["recall"], 4)}


def note(args, base: TrainConfig, n_images: int, real) -> str:
    """The description of a run table: what its runs trained on, for how long, scored how."""
    budget = (f"about {args.images:,} images shown per run (epochs = ceil(images / training-set "
              f"size), so ×3 and flips-only runs see the same number)" if args.images
              else f"{args.epochs} epochs")
    return (f"DCGAN on {args.dataset} ×3 ({n_images} images, {base.image_size} px), "
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


# --------------------------------------------------------------------------- the commands
def train_one(args, base: TrainConfig, name: str, seed: int, prepared) -> tuple[dict, Path]:
    """Train (or resume) config ``name`` at ``seed`` in its folder under --work, on its share of
    the ``prepared`` set (images, index, meta); returns train()'s info and the folder."""
    images, index, meta = prepared
    cfg = config.replace(base, seed=seed, **CONFIGS[name])
    folder = run_dir(args.work, name, seed)
    kinds = TRAIN_ON_KINDS[cfg.train_on]
    if kinds is not None:
        images, index = load_prepared(args.dataset, root=args.prepared, kinds=kinds)[:2]
    extra = {}
    if families.get(cfg.model).conditional:   # as the train stage: each image's type1
        extra["labels"], extra["label_names"] = encode_labels(index[LABEL_COLUMN])
    if args.images:
        epochs = max(1, math.ceil(args.images / len(images)))
        cfg = config.replace(cfg, epochs=epochs, checkpoint_every=max(1, math.ceil(epochs / 5)))
    if args.checkpoint_every:
        cfg = config.replace(cfg, checkpoint_every=args.checkpoint_every)
    if args.branch_from and not list_checkpoints(folder):
        src_name, src_epoch = args.branch_from.rsplit(":", 1)
        src = checkpoint_path(run_dir(args.work, src_name, seed), int(src_epoch))
        branch(src, folder, cfg, meta["fingerprint"])
        print(f"{name} seed {seed}: branched from {src}", flush=True)
    info = train(f"abl_{name}_s{seed}", cfg, images, data_fingerprint=meta["fingerprint"],
                 model_dir=folder, progress=False, log=lambda m: print(m, flush=True), **extra)
    return info, folder


def run(args, base: TrainConfig) -> int:
    """Train each run and, unless --train-only, score its live and EMA G into --csv and --md."""
    base = config.replace(base, epochs=args.epochs, checkpoint_every=2, ema=args.ema)
    prepared = load_prepared(args.dataset, root=args.prepared)
    scoring = None if args.train_only else load_scoring(args)
    csv_path, md_path = Path(args.csv), Path(args.md)
    rows = read_rows(csv_path)
    text = note(args, base, len(prepared[0]), scoring and scoring[1])
    done = set() if args.train_only else {row_key(r) for r in rows}   # a trained run resumes to its end

    # the yardsticks' seeds first (the first --both-first configs: baseline, all, resize_conv),
    # then every other config seed by seed, so a partial ablation still has every lever at one seed
    head = args.configs[:args.both_first]
    plan = [(c, s) for c in head for s in args.seeds] + \
        [(c, s) for s in args.seeds for c in args.configs[args.both_first:]]
    for name, seed in plan:
        if {(name, seed, "live"), (name, seed, "ema")} <= done:
            print(f"skip {name} seed {seed}: in {csv_path}", flush=True)
            continue
        overrides, t0 = CONFIGS[name], time.perf_counter()
        print(f"== {name} seed {seed}: {overrides or 'study settings'}", flush=True)
        try:
            info, folder = train_one(args, base, name, seed, prepared)
        except TrainingDiverged as exc:
            print(f"{name} seed {seed}: diverged: {exc}", flush=True)
            continue
        if args.train_only:
            print(f"{name} seed {seed}: trained in {info['seconds']:.0f} s "
                  f"({info['images_seen']} images, {info['device']}/{info['precision']})", flush=True)
            continue
        last = list_checkpoints(folder)[-1][1]
        for kind, s in score_pair(last, final_path(folder), f"{name} s{seed}", scoring,
                                  args.samples).items():
            rows = put_row(rows, {
                "config": name, "generator": kind, "seed": seed, **rounded(s),
                "copies": round(s["copies"], 4), "copies_real": round(s["copies_real"], 4),
                "epochs": info["epochs"], "images_seen": info["images_seen"],
                "samples": s["samples"], "train_s": info["seconds"], "threads": info["threads"],
                "precision_mode": info["precision"],
                "overrides": " ".join(f"{k}={v}" for k, v in overrides.items())})
            print(f"{name} seed {seed} {kind}: FID {s['fid']:.1f} KID {s['kid']:.4f} "
                  f"P {s['precision']:.3f} R {s['recall']:.3f} copies {s['copies']:.3f} "
                  f"(real halves {s['copies_real']:.3f})", flush=True)
        write_tables(rows, csv_path, md_path, text)
        print(f"{name} seed {seed}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    if not args.train_only:
        write_tables(rows, csv_path, md_path, text)
    return 0


def curve(args, base: TrainConfig) -> int:
    """Score every checkpoint the runs under --work kept (live and EMA G) into CSV and its .md."""
    scoring = load_scoring(args)
    path = Path(args.table)
    rows = read_rows(path)
    have = {row_key(r) for r in rows}
    text = (f"Each run of `bench/ablation.py` (DCGAN on {args.dataset}, batch "
            f"{base.batch_size}) scored at every checkpoint it kept: {args.samples} samples "
            f"of the live and the EMA G vs {scoring[1].n} real artworks (KID; FID in the CSV).")
    save = lambda: write_tables(rows, path, path.with_suffix(".md"), text, CURVE_COLUMNS,
                                curve_markdown)
    for name in args.configs:
        for seed in args.seeds:
            ckpts = list_checkpoints(run_dir(args.work, name, seed))
            if not ckpts:
                print(f"skip {name} seed {seed}: no checkpoints under {args.work}", flush=True)
            for epoch, ckpt in ckpts:
                if (name, seed, "ema", epoch) in have:   # written with its live row, if any
                    continue
                shown = read_file(ckpt, mmap=True)["images_seen"]
                for kind, s in score_pair(ckpt, ckpt, f"{name} s{seed} e{epoch}", scoring,
                                          args.samples).items():
                    rows = put_row(rows, {"config": name, "seed": seed, "generator": kind,
                                          "epoch": epoch, "images_seen": shown, **rounded(s),
                                          "samples": s["samples"]})
                    print(f"{name} seed {seed} epoch {epoch} ({shown} images) {kind}: "
                          f"KID {s['kid']:.4f}", flush=True)
                save()
    save()
    return 0


def figure(args, base: TrainConfig) -> int:
    """Real artworks on top, then the live and EMA G of the chosen checkpoints, same latents."""
    n = 16        # as docs/screenshots/samples_full_scale.png, so the rows line up
    originals = load_prepared(args.dataset, root=args.prepared, originals_only=True)[0]
    shown = {}
    for name, seed, epoch, ckpts in kept_checkpoints(args, args.epochs):
        if epoch not in ckpts:
            raise SystemExit(f"{name} seed {seed}: no checkpoint of epoch {epoch} "
                             f"under {args.work} (kept: {sorted(ckpts)})")
        for kind, pair in live_and_ema(ckpts[epoch], ckpts[epoch]).items():
            shown[f"{name} s{seed}\n{kind}, epoch {epoch}"] = pair
    reals_and_samples(originals, shown, n, base.seed, Path(args.png))
    print(f"wrote {args.png}: {len(shown)} rows of {n}", flush=True)
    return 0


def export(args, base: TrainConfig) -> int:
    """The chosen checkpoints reduced to their EMA G, under DIR/<config>_s<seed>/."""
    for name, seed, epoch, ckpts in kept_checkpoints(args, args.epochs):
        if epoch not in ckpts:
            print(f"skip {name} seed {seed} epoch {epoch}: not under {args.work} "
                  f"(kept: {sorted(ckpts)})", flush=True)
            continue
        out = export_dir(args.out, name, seed) / ckpts[epoch].name
        export_ema(ckpts[epoch], out)
        print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)", flush=True)
    return 0


def merge(args, base: TrainConfig) -> int:
    """Add other CSVs' rows to --csv and rewrite it and --md; the table keeps its description
    (not this command line's budget)."""
    csv_path, md_path = Path(args.csv), Path(args.md)
    rows = merge_rows(read_rows(csv_path), *(read_rows(Path(p)) for p in args.sources))
    text = merged_description(md_path, args.sources) or note(
        args, base, len(load_prepared(args.dataset, root=args.prepared)[0]), load_scoring(args)[1])
    write_tables(rows, csv_path, md_path, text)
    print(f"merged {', '.join(args.sources)} into {csv_path}: {len(rows)} rows", flush=True)
    return 0


def parser() -> argparse.ArgumentParser:
    """One subcommand per mode; the options they share come from the parent parsers here."""
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument("--dataset", default="artwork")
    project.add_argument("--params", default="params.yaml")
    project.add_argument("--prepared", default="data/prepared")
    runs = argparse.ArgumentParser(add_help=False)
    runs.add_argument("--configs", nargs="+", default=DEFAULT_ORDER, choices=sorted(CONFIGS))
    runs.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    runs.add_argument("--work", default="/tmp/abl", help="training folders (checkpoints, grids)")
    scoring = argparse.ArgumentParser(add_help=False)
    scoring.add_argument("--samples", type=int, default=250)
    scoring.add_argument("--reference", default=None, help="default: data/reference/<dataset>.npz")
    budget = argparse.ArgumentParser(add_help=False)
    budget.add_argument("--epochs", type=int, default=5)
    budget.add_argument("--images", type=int, default=None,
                        help="train each config for about this many images shown instead of "
                             "--epochs (epochs = ceil(images / its training-set size)), so configs "
                             "that train on fewer images per epoch (train_on=flips) get the same "
                             "budget")
    budget.add_argument("--ema", type=float, default=0.999, help="decay of the EMA every run keeps")
    tables = argparse.ArgumentParser(add_help=False)
    tables.add_argument("--csv", default="docs/ablation/ablation_5ep.csv")
    tables.add_argument("--md", default="docs/ablation/ablation_5ep.md")
    chosen = argparse.ArgumentParser(add_help=False)
    chosen.add_argument("--epochs", nargs="+", type=int, default=None,
                        help="the checkpoints' epochs (default: each run's last)")

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(func, parents, what: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(func.__name__, parents=[project, *parents], help=what,
                                  description=what)
        sub.set_defaults(func=func)
        return sub

    sub = command(run, [runs, budget, scoring, tables],
                  "train each --configs x --seeds run under --work (resuming any there) and "
                  "score its live and EMA G into --csv and --md; rows already there are skipped")
    sub.add_argument("--both-first", type=int, default=3,
                     help="run the first N configs at every seed before the others")
    sub.add_argument("--train-only", action="store_true",
                     help="train the runs under --work and score nothing (no feature network "
                          "or reference needed, e.g. on a GPU machine); curve scores them later")
    sub.add_argument("--checkpoint-every", type=int, default=None,
                     help="epochs between checkpoints (default: a fifth of the run's epochs)")
    sub.add_argument("--branch-from", metavar="CONFIG:EPOCH", default=None,
                     help="start each run that has no checkpoint from CONFIG's (same seed) "
                          "checkpoint at EPOCH; the configs may differ only in an lr drop after it")
    command(curve, [runs, scoring],
            "no training: score every checkpoint of the --configs x --seeds runs under --work "
            "(live and EMA G, --samples each) into CSV and a .md beside it; rows already there "
            "are kept").add_argument("table", metavar="CSV")
    command(figure, [runs, chosen],
            "no training: real artworks on top, then the live and EMA G of each --configs x "
            "--seeds run's checkpoints at --epochs, all from the same seeded latents"
            ).add_argument("png", metavar="PNG")
    command(export, [runs, chosen],
            "no training: write the --epochs checkpoints of each run under --work, reduced to "
            "the EMA G, to DIR/<config>_s<seed>/ ('+' spelt '_plus_')"
            ).add_argument("out", metavar="DIR")
    command(merge, [budget, scoring, tables],
            "no training: add these CSVs' rows (e.g. a second process's run --csv) to --csv and "
            "rewrite it and --md").add_argument("sources", nargs="+", metavar="CSV")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if os.environ.get("POKEGAN_THREADS"):
        torch.set_num_threads(int(os.environ["POKEGAN_THREADS"]))
    try:
        base = config.replace(config.load(args.params).train, dataset=args.dataset)
    except config.ConfigError as exc:      # it names the file
        raise SystemExit(str(exc)) from None
    try:
        check_configs({c: CONFIGS[c] for c in getattr(args, "configs", [])}, args.params,
                      args.dataset)
    except config.ConfigError as exc:
        raise SystemExit(f"{args.params}: {exc}") from None
    try:
        return args.func(args, base)
    except (BranchError, ModelFileError) as exc:
        raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    sys.exit(main())
