"""DVC stage train@<variant>: train one variant on its prepared dataset.

    python stages/train.py dcgan_artwork

Reads params.yaml (through pokegan.config) and data/prepared/<dataset>/ relative to the working
directory; writes models/<variant>/ (checkpoints, grids, generator.pt, encoder.pt, info.json)
and plots/train/<variant>/ (DVCLive logs, samples.png). A rerun resumes from the newest
checkpoint written with the same settings, data and code; files of another run are moved to
stale/<variant>/<time>/ (never deleted). POKEGAN_THREADS sets torch's CPU threads.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pokegan import stage


def main(argv: list[str] | None = None) -> int:
    parser = stage.ArgumentParser("train", description=__doc__.splitlines()[0])
    parser.add_argument("variant", help="a key of params.yaml: variants")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    args = parser.parse_args(argv)

    import torch

    from pokegan import config
    from pokegan.data import DataError
    from pokegan.data.prepared import TRAIN_ON_KINDS, load_prepared
    from pokegan.files import remove_stale_temps
    from pokegan import families
    from pokegan.models.conditional import LABEL_COLUMN, encode_labels
    from pokegan.training import train
    from pokegan.training.loop import check_batch_size, check_images

    cfg = config.load(args.params).variant(args.variant)
    images, index, meta = load_prepared(cfg.dataset, kinds=TRAIN_ON_KINDS[cfg.train_on])
    if cfg.processes > 1 and "WORLD_SIZE" not in os.environ:
        # checked here, once, not as one error per process under torchrun
        check_images(images, cfg)
        check_batch_size(args.variant, cfg, images.shape[0], cfg.processes)
        del images, index
        # data-parallel: the same script under torchrun, one process per share of the data
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={cfg.processes}", __file__, *(argv or sys.argv[1:])]
        return subprocess.call(cmd)
    if os.environ.get("POKEGAN_THREADS"):
        torch.set_num_threads(int(os.environ["POKEGAN_THREADS"]))
    model_dir = Path("models") / args.variant
    for folder in (model_dir, model_dir / "checkpoints", model_dir / "grids"):
        remove_stale_temps(folder)             # what a killed run was writing
    extra = {}
    if families.get(cfg.model).conditional:        # labels: each image's type1, sorted vocabulary
        try:
            extra["labels"], extra["label_names"] = encode_labels(index[LABEL_COLUMN])
        except ValueError as exc:              # e.g. fewer than 2 distinct types
            raise DataError(f"{args.variant}: {exc}") from None
    # ConfigError: e.g. batch_size larger than the dataset; OSError: e.g. disk full
    info = train(args.variant, cfg, images, data_fingerprint=meta["fingerprint"],
                 model_dir=model_dir, plots_dir=Path("plots") / "train" / args.variant,
                 progress=not args.no_progress, **extra)
    if info.get("rank", 0):                    # torchrun's other processes: rank 0 reports
        return 0
    print(f"{args.variant}: {info['epochs']} epochs, {info['images_seen']} images seen, "
          f"{info['seconds']:.0f} s ({info['device']}/{info['precision']}) -> models/{args.variant}/")
    return 0


if __name__ == "__main__":
    # FloatingPointError: TrainingDiverged, whose module (and torch) main imports only after
    # the arguments are read
    stage.run("train", main, errors=(*stage.USER_ERRORS, FloatingPointError))
