"""Training throughput: our DCGAN step against the seed-style loop, measured in one run.

Seed-style (the study): torchvision ImageFolder over the artwork PNGs, the x3 augmentation as
per-step PIL transforms (original / mirrored / colour-jittered copies in a ConcatDataset), a
DataLoader with 2 workers, fp32. Ours: the prepared uint8 tensor in memory, batches scaled on
the device, in fp32 and in bf16 autocast, each reported as its own ratio (bf16 only where the
CPU has native bf16 — AVX512-BF16/AMX — since emulated bf16 is slower than fp32; ``--bf16``
forces it), and the line says which precision ``auto`` picks here. Same DCGAN, same step,
batch 32. ``--also VARIANT ...`` adds our step of other variants (e.g. the fastgan family), in
fp32 and auto, to compare cost per image across families.
With ``--compile MODE`` also ours under ``torch.compile`` (the ``compile`` param; compiling
happens in the untimed warm-up). Runs alternate, several repeats; medians and ratios are printed.

    python bench/train_throughput.py [--steps 30] [--repeats 3] [--compile default] [--also best_artwork]
Needs data/raw/artwork and data/prepared/artwork (`dvc repro augment`).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import ConcatDataset, DataLoader
from torchvision import datasets, transforms

from pokegan import config
from pokegan.data.prepared import load_prepared
from pokegan.plan import family_rate
from pokegan.ops.device import cpu_supports_bf16, resolve_device, resolve_precision


def seed_style_batches(root: Path, size: int, batch: int):
    norm = [transforms.ToTensor(), transforms.Normalize([0.5] * 3, [0.5] * 3)]
    base = [transforms.Resize(size), transforms.CenterCrop(size)]
    copies = [transforms.Compose(base + norm),
              transforms.Compose(base + [transforms.RandomHorizontalFlip(p=1.0)] + norm),
              transforms.Compose(base + [transforms.ColorJitter(0.2, 0.2, 0.2)] + norm)]
    ds = ConcatDataset([datasets.ImageFolder(str(root), transform=t) for t in copies])
    loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=2, drop_last=True,
                        persistent_workers=True)
    while True:
        for x, _ in loader:
            yield x


def our_batches(images: torch.Tensor, batch: int, device, seed: int = 0):
    data = images.to(device)
    g = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(data), generator=g).to(device)
        for i in range(0, len(data) - batch + 1, batch):
            yield data[order[i:i + batch]].float().div_(127.5).sub_(1.0)


def timed(batches, cfg, precision: str, steps: int, device, compile_mode: str = "none") -> float:
    return family_rate(cfg, device, precision, batches=batches, steps=steps, warmup=3,
                       compile_mode=compile_mode)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variant", default="dcgan_artwork")
    ap.add_argument("--compile", default="none", choices=config.COMPILE_MODES,
                    help="also time ours with torch.compile in this mode")
    ap.add_argument("--bf16", action="store_true", help="time bf16 even where it is emulated")
    ap.add_argument("--also", nargs="*", default=[], metavar="VARIANT",
                    help="also time our step of these variants (fp32, and bf16 where timed)")
    args = ap.parse_args()
    params = config.load()
    cfg = params.variant(args.variant)
    device = resolve_device(cfg.device)
    auto = resolve_precision("auto", device)
    native_bf16 = device.type != "cpu" or cpu_supports_bf16()
    precisions = ["fp32"] + (["bf16"] if native_bf16 or args.bf16 else [])
    images, _, _ = load_prepared(cfg.dataset)
    seed_iter = seed_style_batches(Path("data/raw") / cfg.dataset, cfg.image_size, cfg.batch_size)
    ours_iter = our_batches(images, cfg.batch_size, device)
    base_name = "seed-style (ImageFolder+PIL, fp32)"
    # name -> (batches, config, precision, compile)
    setups = {base_name: (seed_iter, cfg, "fp32", "none")}
    for prec in precisions:
        setups[f"ours {prec}"] = (ours_iter, cfg, prec, "none")
    if args.compile != "none":
        setups[f"ours {auto} compile={args.compile}"] = (ours_iter, cfg, auto, args.compile)
    for name in args.also:
        other = params.variant(name)
        for prec in precisions:
            setups[f"{name} ({other.model}) {prec}"] = (our_batches(
                images, other.batch_size, device), other, prec, "none")
    runs: dict[str, list[float]] = {name: [] for name in setups}
    for r in range(args.repeats):                        # alternate so drift hits all alike
        for name, (batches, run_cfg, precision, mode) in setups.items():
            ips = timed(batches, run_cfg, precision, args.steps, device, mode)
            runs[name].append(ips)
            print(f"repeat {r + 1}: {name:38s} {ips:7.1f} images/s", flush=True)
    med = {k: statistics.median(v) for k, v in runs.items()}
    base = med[base_name]
    print(f"\n{device.type}, {torch.get_num_threads()} threads, batch {cfg.batch_size}, "
          f"{cfg.image_size}px, {args.steps} steps x {args.repeats} repeats (median images/s); "
          f"native bf16: {'yes' if native_bf16 else 'no (AVX2-class CPU)'}; "
          f"precision auto picks {auto} here"
          + ("" if "bf16" in precisions else "; bf16 not timed (emulated; --bf16 forces it)"))
    for k, v in med.items():
        print(f"  {k:38s} {v:7.1f}   x{v / base:.2f} vs seed-style")


if __name__ == "__main__":
    main()
