"""How sharp, blurred or noisy a generator's samples are: the power spectrum of their luma
against that of the real images the metrics compare them with.

Sharpness lives in the high spatial frequencies. A blurred sample has less power there than
the real images, a noisy or speckled one more, and the Inception metrics see neither directly.
So, per band of spatial frequency, log2 of the samples' mean power over the real images' mean
power: 0 is the real images' spectrum, -1 half their power (blurrier), +1 twice (noisier). The
last column is the mean of |log2 ratio| over every frequency: one number for how far a model's
spectrum is from its data's. Each model is compared with its own dataset's real images (the
un-augmented ones of ``data/reference/<dataset>.npz``), so a sprite model with sprite frames;
beside them, one random half of those real images against the other half, the yardstick of how
far two samples of the same images fall apart.

    python bench/spectrum.py models/dcgan_artwork models/best_artwork [--samples 2000]
    cd study && python ../bench/spectrum.py models/dcgan_sprites models/aegan_artwork --csv s.csv

The power of each image is taken after removing its mean and applying a 2-D Hann window (so
the image's border is not counted as an edge), averaged over rings of equal frequency. Bands, in
cycles per pixel: up to 1/16, 1/16-1/8, 1/8-1/4 and 1/4-1/2 (the Nyquist limit): at 64 px, shapes
and silhouettes, parts, outlines and texture, and pixel-level detail or noise.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch

LUMA = (0.299, 0.587, 0.114)            # ITU-R BT.601
BANDS = ((0.0, 1 / 16), (1 / 16, 1 / 8), (1 / 8, 1 / 4), (1 / 4, 1 / 2))   # cycles per pixel


def luma(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×3×S×S → float64 N×S×S in [0, 1]."""
    weights = torch.tensor(LUMA, dtype=torch.float64).view(1, 3, 1, 1)
    return (images.double() / 255.0 * weights).sum(1)


def radial_power(images: torch.Tensor, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(frequencies in cycles per pixel, the images' mean power at each): uint8 N×3×S×S in,
    one value per ring of integer radius 1..S/2 of the centred 2-D spectrum out."""
    side = images.shape[-1]
    window = torch.outer(*(torch.hann_window(side, periodic=False, dtype=torch.float64),) * 2)
    power = torch.zeros(side, side, dtype=torch.float64)
    for start in range(0, len(images), batch):
        x = luma(images[start:start + batch])
        x = (x - x.mean((1, 2), keepdim=True)) * window
        power += torch.fft.fft2(x).abs().square().sum(0)
    freq = torch.fft.fftfreq(side, dtype=torch.float64)
    ring = torch.sqrt(freq.view(-1, 1) ** 2 + freq.view(1, -1) ** 2).mul(side).round().long()
    rings = torch.arange(1, side // 2 + 1)
    return rings.double() / side, torch.stack([power[ring == r].mean() for r in rings]) / len(images)


def log_ratios(freq: torch.Tensor, p_fake: torch.Tensor, p_real: torch.Tensor) -> dict:
    """Band log2 power ratios (fake over real) and the mean |log2 ratio| of two
    :func:`radial_power` spectra; ``curve``: (frequency, log2 ratio) per ring."""
    bands = []
    for low, high in BANDS:
        inside = (freq > low) & (freq <= high)
        bands.append(float(torch.log2(p_fake[inside].sum() / p_real[inside].sum())))
    ratio = torch.log2(p_fake / p_real)
    return {"bands": bands, "distance": float(ratio.abs().mean()),
            "curve": list(zip(freq.tolist(), ratio.tolist()))}


def same_size(fake: torch.Tensor, real: torch.Tensor) -> None:
    """Spectra compare ring by ring, so both sets must have one image size."""
    if fake.shape[1:] != real.shape[1:]:
        raise ValueError(f"samples are {tuple(fake.shape[1:])}, real images "
                         f"{tuple(real.shape[1:])}: compare images of one size")


def compare(fake: torch.Tensor, real: torch.Tensor) -> dict:
    """:func:`log_ratios` of two image sets of one size."""
    same_size(fake, real)
    freq, p_fake = radial_power(fake)
    return log_ratios(freq, p_fake, radial_power(real)[1])


def real_halves(real: torch.Tensor, seed: int) -> dict:
    """:func:`compare` of one seeded random half of ``real`` with the other half."""
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))
    return compare(real[order[:len(real) // 2]], real[order[len(real) // 2:]])


def band_label(low: float, high: float) -> str:
    return f"{low:.3g}–{high:.3g}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="model folders (models/<variant>) or generator files")
    ap.add_argument("--samples", type=int, default=2000, help="samples per model (default 2000)")
    ap.add_argument("--seed", type=int, default=0, help="latents, as `pokegan sample --seed`")
    ap.add_argument("--checkpoint", default="last", help="last (default), best or an epoch number")
    ap.add_argument("--data", default="data/prepared", help="prepared data folder")
    ap.add_argument("--reference-dir", default="data/reference",
                    help="the reference stage's folder: which real images of each dataset")
    ap.add_argument("--csv", default=None,
                    help="also write the log2 ratio at every frequency (model, cycles_per_px, log2_ratio)")
    args = ap.parse_args(argv)
    if args.samples < 1:
        ap.error(f"--samples must be at least 1, got {args.samples}")

    from pokegan.explore import GenerateError, reference_images
    from pokegan.metrics.evaluate import generated
    from pokegan.metrics.features import reference_path
    from pokegan.models.io import ModelFileError, generator_file, load_generator

    rows, real_sets, real_power = [], {}, {}     # per dataset: its real images, their spectrum
    for model in args.models:
        try:
            G, meta = load_generator(generator_file(model, args.checkpoint))
            dataset = meta.get("dataset") or "artwork"
            if dataset not in real_sets:
                real_sets[dataset], _ = reference_images(
                    dataset, reference_path(dataset, args.reference_dir), args.data)
                real_power[dataset] = radial_power(real_sets[dataset])[1]
                rows.append((f"real halves ({dataset})", dataset, None,
                             real_halves(real_sets[dataset], args.seed)))
            fake = generated(G, meta, args.samples, args.seed)
            same_size(fake, real_sets[dataset])
            result = log_ratios(*radial_power(fake), real_power[dataset])
        except (ModelFileError, GenerateError, ValueError) as exc:
            print(f"spectrum: {model}: {exc}", file=sys.stderr)
            return 1
        rows.append((model, dataset, meta.get("epoch"), result))

    print(f"log2 of the samples' power over the real images' power, per band of cycles per "
          f"pixel ({args.samples} samples, seed {args.seed}; 0 = as the real images, "
          "< 0 blurrier, > 0 noisier)")
    heads = [band_label(*b) for b in BANDS]
    print("| model | data (real images) | epoch | " + " | ".join(heads) + " | mean abs |")
    print("|---" * (len(heads) + 4) + "|")
    for model, dataset, epoch, r in rows:
        print(f"| {model} | {dataset} ({len(real_sets[dataset])}) | {'' if epoch is None else epoch} | "
              + " | ".join(f"{b:+.2f}" for b in r["bands"]) + f" | {r['distance']:.2f} |")
    if args.csv:
        out = Path(args.csv)
        tmp = out.with_name(out.name + ".tmp")
        try:
            with tmp.open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["model", "cycles_per_px", "log2_ratio"])
                w.writerows((model, f"{freq:.5f}", f"{ratio:.4f}")
                            for model, _, _, r in rows for freq, ratio in r["curve"])
            tmp.replace(out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            print(f"spectrum: cannot write {out}: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
