"""Rows of samples from several trained generators, all from the same latents (the README's
comparison figures): real images on top, then one row per ``LABEL=MODEL`` pair.

    python docs/samples_figure.py -o docs/screenshots/samples.png \\
        "dcgan_artwork=models/dcgan_artwork" "best_artwork=models/best_artwork"

MODEL is a model folder or a ``generator.pt`` (e.g. one restored from a DVC experiment); each
row's label gets the model's epoch appended.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from pokegan.data.prepared import load_prepared
from pokegan.models.io import final_path, load_generator
from pokegan.report.figures import reals_and_samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", nargs="+", metavar="LABEL=MODEL")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("-n", type=int, default=16, help="images per row")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real", default="artwork", help="prepared dataset of the top row")
    args = ap.parse_args()
    generators = {}
    for row in args.rows:
        label, sep, model = row.rpartition("=")
        if not sep:
            ap.error(f"{row!r}: expected LABEL=MODEL")
        path = Path(model)
        G, meta = load_generator(final_path(path) if path.is_dir() else path)
        generators[f"{label}\n(epoch {meta.get('epoch', '?')})"] = (G, meta)
    images, _, _ = load_prepared(args.real, originals_only=True)
    reals_and_samples(images, generators, args.n, args.seed, Path(args.output))
    print(f"wrote {args.output}: {len(generators)} rows of {args.n}")


if __name__ == "__main__":
    main()
