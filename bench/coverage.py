"""What a generator leaves out: which real artworks its recall misses, by group.

Improved recall (Kynkäänniemi et al. 2019) is the share of real images inside the generated
manifold (the union of balls reaching each generated sample's k-th nearest generated
neighbour). This splits that share by the artworks' ``type1`` and Pokédex ``colour``, and says
how often G's images have their nearest artwork in each group, so a low recall reads as "G
rarely draws green Pokémon" rather than one number. It also prints two yardsticks the number
depends on: the recall of the same generator with its sample cut to the real set's size (k-NN
radii shrink as the generated set grows), and real-versus-real precision and recall between two
random halves of the artworks (what a generator as varied as the data would score at that
size).

    python bench/coverage.py models/best_artwork/generator.pt RUN/checkpoints/epoch_0380.pt \\
        [--live] [--samples 2000] [--by type1 colour] [--csv out.csv]

A checkpoint gives its EMA G (as generator.pt does), or with ``--live`` the trained G. Samples
come from the evaluate stage's seeded latents (and, for a conditional G, its labels), so the
overall KID, FID, precision and recall are those ``bench/ablation.py`` reports for the same G and
count.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    return torch.cdist(x, x).kthvalue(k + 1, dim=1).values   # +1: the row itself, at 0


def covered(real: np.ndarray, fake: np.ndarray, k: int = 3) -> np.ndarray:
    """Per real row: inside the generated manifold (the rows whose mean is the recall)."""
    x, y = (torch.as_tensor(np.asarray(a), dtype=torch.float64) for a in (real, fake))
    return (torch.cdist(x, y) <= knn_radii(y, k)[None, :]).any(dim=1).numpy()


def nearest_real(real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """Per generated row: the index of its nearest real row."""
    x, y = (torch.as_tensor(np.asarray(a), dtype=torch.float64) for a in (real, fake))
    return torch.cdist(y, x).argmin(dim=1).numpy()


def by_group(groups: np.ndarray, covered_rows: np.ndarray, nearest: np.ndarray):
    """One row per group: its artworks, the share of them covered, the artworks' share of the
    set and the share of generated images whose nearest artwork is in it."""
    import pandas as pd

    names, counts = np.unique(groups, return_counts=True)
    near = pd.Series(groups[nearest]).value_counts(normalize=True)
    return pd.DataFrame({
        "group": names, "artworks": counts,
        "recall": [covered_rows[groups == g].mean() for g in names],
        "share_real": counts / len(groups),
        "share_generated_nearest": [near.get(g, 0.0) for g in names],
    }).sort_values("recall").reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("generators", nargs="+", type=Path, help="generator.pt, checkpoint or folder")
    ap.add_argument("--live", action="store_true", help="a checkpoint's trained G, not its EMA G")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--by", nargs="+", default=["type1", "colour"])
    ap.add_argument("--dataset", default="artwork")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--prepared", default="data/prepared")
    ap.add_argument("--csv", type=Path, default=None, help="every group row of every generator")
    args = ap.parse_args(argv)

    import pandas as pd

    from pokegan import config
    from pokegan.metrics.evaluate import reference_types, score_generator
    from pokegan.metrics.features import load_reference, reference_path
    from pokegan.metrics.inception import load_feature_net
    from pokegan.metrics.precision_recall import precision_recall
    from pokegan.models.io import ModelFileError, load_generator

    ev, seed = (c := config.load(args.params)).eval, c.seed
    net = load_feature_net()
    ref = load_reference(reference_path(args.dataset),
                         expect={"feature_net_sha1": net.sha1, "resize": net.resize})
    real = ref.feats.features
    groups = {col: reference_types(ref, args.dataset, args.prepared, col) for col in args.by}
    for col, g in groups.items():
        if g is None:
            raise SystemExit(f"{ref.path}: no per-row {col} (no rows in it, or no "
                             f"{args.prepared}/{args.dataset}/index.csv covering them)")
    k, rng = ev.pr_k, np.random.default_rng(seed)
    halves = [rng.permutation(len(real)) for _ in range(3)]
    pr = [precision_recall(real[h[len(h) // 2:]], real[h[:len(h) // 2]], k) for h in halves]
    print(f"real vs real, random halves ({len(real) // 2} vs {len(real) - len(real) // 2}, 3 "
          f"draws): precision {min(p for p, _ in pr):.2f}-{max(p for p, _ in pr):.2f}, "
          f"recall {min(r for _, r in pr):.2f}-{max(r for _, r in pr):.2f}")
    tables = []
    for path in args.generators:
        try:
            G, meta = load_generator(path, live=args.live)
        except ModelFileError as exc:
            raise SystemExit(f"{exc} (--live needs a training checkpoint)" if args.live else str(exc))
        feats, s = score_generator(G, meta, ref.feats, net, ev, seed, args.samples, desc=path.name)
        fake = np.asarray(feats.features)
        precision, recall = s["precision"], s["recall"]
        rows = covered(real, fake, k)
        assert abs(rows.mean() - recall) < 1e-9, (rows.mean(), recall)   # the metric's recall
        line = (f"\n{path} ({'live' if args.live else 'EMA'} G, epoch {meta.get('epoch')}): "
                f"{len(fake)} samples: KID {s['kid']:.4f} ± {s['kid_std']:.4f}, FID {s['fid']:.1f}, "
                f"precision {precision:.3f}, recall {recall:.3f}")
        if len(fake) > len(real):
            cut = fake[rng.choice(len(fake), len(real), replace=False)]
            line += (f"; recall with {len(real)} of them (the real set's size): "
                     f"{covered(real, cut, k).mean():.3f}")
        print(line)
        nearest = nearest_real(real, fake)
        for col, g in groups.items():
            table = by_group(g, rows, nearest)
            print(f"by {col}:\n{table.to_string(index=False, float_format=lambda v: f'{v:.3f}')}")
            tables.append(table.assign(generator=str(path), live=args.live, by=col))
    if args.csv:
        pd.concat(tables).to_csv(args.csv, index=False, float_format="%.4f")
        print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
