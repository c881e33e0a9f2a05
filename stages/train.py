"""DVC stage train@<variant>: train one variant on its prepared dataset.

    python stages/train.py dcgan_artwork

Reads params.yaml (through pokegan.config) and data/prepared/<dataset>/ relative to the working
directory; writes models/<variant>/ (checkpoints, grids, generator.pt, encoder.pt, info.json)
and plots/train/<variant>/ (DVCLive logs, samples.png). A rerun resumes from the newest
checkpoint written with the same settings. POKEGAN_THREADS sets torch's CPU threads.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", help="a key of params.yaml: variants")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    args = parser.parse_args(argv)

    import torch

    from pokegan import config
    from pokegan.data.prepared import load_prepared
    from pokegan.training import TrainingDiverged, train

    try:
        cfg = config.load(args.params).variant(args.variant)
    except config.ConfigError as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    if os.environ.get("POKEGAN_THREADS"):
        torch.set_num_threads(int(os.environ["POKEGAN_THREADS"]))
    images, _index, meta = load_prepared(cfg.dataset)
    try:
        info = train(args.variant, cfg, images, data_fingerprint=meta["fingerprint"],
                     model_dir=Path("models") / args.variant,
                     plots_dir=Path("plots") / "train" / args.variant,
                     progress=not args.no_progress)
    except TrainingDiverged as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.variant}: {info['epochs']} epochs, {info['images_seen']} images seen, "
          f"{info['seconds']:.0f} s ({info['device']}/{info['precision']}) -> models/{args.variant}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
