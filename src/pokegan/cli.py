"""`pokegan ...`: commands for people who use trained models.

    pokegan sample models/dcgan_artwork -n 64 -o grid.png
    pokegan sample models/cdcgan_artwork --type water -o water.png
    pokegan sample models/dcgan_artwork --checkpoint best -o best.png
    pokegan nearest models/best_artwork -n 16 -o nearest.png
    pokegan interpolate models/dcgan_artwork --seeds 3 17 --steps 8 -o walk.png
    pokegan interpolate models/cdcgan_artwork --types fire water grass -o types.png
    pokegan interpolate models/aegan_artwork bulbasaur charmander --steps 8 -o strip.png
    pokegan reconstruct models/aegan_artwork -n 8 -o recon.png
    pokegan reconstruct models/aegan_artwork --curve recon.csv --dataset sprites
    pokegan info models/aegan_artwork
    pokegan fetch-is-weights      # once, online: the IS classifier's weights, sha256-checked

The work is done in the library (pokegan.models.io, pokegan.explore); this module parses
arguments and turns the library's errors into one-line messages (exit code 1).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from pokegan import families


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 1."""


def _load_generator(model: str, checkpoint: str = "last"):
    """(G, meta) of a model folder's last / best / epoch-N generator, or a one-line error."""
    from pokegan.models.io import ModelFileError, generator_file, load_generator
    try:
        return load_generator(generator_file(model, checkpoint))
    except ModelFileError as exc:
        raise CliError(str(exc)) from None


def truncated_latents(n: int, dim: int, seed: int, truncation: float | None = None):
    """``pokegan sample``'s latents (see :func:`pokegan.models.latents.seeded_latents`), after
    checking ``--truncation``."""
    from pokegan.models.latents import seeded_latents
    if truncation is not None and not 0 < truncation < float("inf"):    # also refuses nan
        raise CliError(f"--truncation must be a finite number > 0, got {truncation}")
    return seeded_latents(seed, n, dim, truncation)


# Marks a folder `sample --per-image` wrote; --overwrite replaces no other (`-o ~/Pictures`).
SAMPLES_MARKER = ".pokegan-samples"
_SAMPLE_FILE = re.compile(r"^\d{4,}\.png$")


def _check_per_image_target(out: Path, overwrite: bool) -> None:
    """A folder of samples is scored as a whole (`pokegan fid`): never mix two runs' images."""
    if out.exists() and not out.is_dir():
        raise CliError(f"{out} is a file; --per-image writes a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise CliError(f"{out} is not empty; choose a new folder or pass --overwrite to replace "
                       "its contents")
    others = sorted(p.name for p in out.iterdir()
                    if p.name != SAMPLES_MARKER and not _SAMPLE_FILE.match(p.name))
    if not (out / SAMPLES_MARKER).is_file() or others:
        why = (f"it holds {', '.join(others[:3])}{' ...' if len(others) > 3 else ''}" if others
               else f"it has no {SAMPLES_MARKER}")
        raise CliError(f"{out} was not written by `pokegan sample --per-image` ({why}); "
                       "--overwrite replaces only such folders, so nothing was changed: choose "
                       "a new folder")


def _write_per_image(images, out: Path) -> None:
    """One PNG per sample, the folder complete or not there at all (temp folder, then rename)."""
    from PIL import Image

    from pokegan.files import atomic_dir

    try:
        with atomic_dir(out) as tmp:
            (tmp / SAMPLES_MARKER).write_text("written by `pokegan sample --per-image`; "
                                              "`--overwrite` may replace this folder\n")
            for i, img in enumerate(images):
                Image.fromarray(img.permute(1, 2, 0).numpy()).save(tmp / f"{i:04d}.png")
    except OSError as exc:      # e.g. a full disk: the previous folder, if any, is unchanged
        raise CliError(str(exc)) from None


def cmd_sample(args) -> int:
    from pokegan.config import MAX_SAMPLES
    from pokegan.explore import GenerateError, type_labels
    from pokegan.models.sampling import sample
    from pokegan.grids import save_grid_png

    if not 1 <= args.n <= MAX_SAMPLES:
        raise CliError(f"-n must be between 1 and {MAX_SAMPLES}, got {args.n}")
    out = Path(args.output)
    if args.per_image:       # before the model is loaded and any sample drawn
        _check_per_image_target(out, args.overwrite)
    G, meta = _load_generator(args.model, args.checkpoint)
    try:
        labels = type_labels(meta, args.type, args.n) if args.type is not None else None
    except GenerateError as exc:
        raise CliError(str(exc)) from None
    z = truncated_latents(args.n, meta["latent_dim"], args.seed, args.truncation)
    images = sample(G, args.n, seed=args.seed, latents=z, labels=labels)
    if args.per_image:
        _write_per_image(images, out)
        print(f"wrote {len(images)} images to {out}/")
    else:
        nrow = args.nrow or max(1, int(round(args.n ** 0.5)))
        save_grid_png(images, out, nrow=nrow)
        print(f"wrote a grid of {len(images)} samples to {out}")
    return 0


def cmd_nearest(args) -> int:
    import numpy as np

    from pokegan.config import MAX_SAMPLES
    from pokegan.explore import GenerateError, nearest_artworks
    from pokegan.grids import save_grid_png

    if not 1 <= args.n <= MAX_SAMPLES:
        raise CliError(f"-n must be between 1 and {MAX_SAMPLES}, got {args.n}")
    G, meta = _load_generator(args.model, args.checkpoint)
    try:
        pairs, dist, copies = nearest_artworks(G, meta, args.n, args.seed, args.reference, args.data)
    except GenerateError as exc:
        raise CliError(str(exc)) from None
    nrow = args.nrow or max(1, int(round(args.n ** 0.5)))
    out = save_grid_png(pairs, args.output, nrow=2 * nrow)
    print(f"wrote {out}: {args.n} samples, each beside its nearest real image (Inception "
          f"distance: median {float(np.median(dist)):.1f})")
    print(f"copies by the memorisation test: {int(copies.sum())} of {args.n}"
          + (f" (samples {', '.join(str(i) for i in np.flatnonzero(copies))}, counted from 0)"
             if copies.any() else ""))
    return 0


def cmd_interpolate(args) -> int:
    from pokegan.explore import (GenerateError, interpolation_strip, latent_walk, type_labels,
                                  type_walk)
    from pokegan.grids import save_grid_png

    walks = [w for w, given in (("--seeds", args.seeds), ("--types", args.types),
                                ("NAME", args.names)) if given]
    if len(walks) != 1:
        raise CliError("give one of: --seeds S1 S2 ... (any model), --types T1 T2 ... "
                       "(cdcgan) or two or more Pokémon NAMEs (aegan)"
                       + (f"; got {' and '.join(walks)}" if walks else ""))
    try:
        if args.names:
            images, found = interpolation_strip(args.model, args.names, args.steps, args.raw,
                                                args.dataset)
            what = f"{' -> '.join(f.name for f in found)} in {len(images) - 2} decoded steps"
        elif args.seeds:
            G, meta = _load_generator(args.model)
            labels = type_labels(meta, args.type, 1) if args.type is not None else None
            if labels is None and families.conditional(meta):
                raise GenerateError(f"{args.model} is type-conditional: give --type for the "
                                    "latent walk, or walk between types with --types")
            images = latent_walk(G, args.seeds, args.steps, labels)
            what = f"seeds {' -> '.join(map(str, args.seeds))} (slerp) in {len(images)} steps"
        else:
            G, meta = _load_generator(args.model)
            images = type_walk(G, meta, args.types, args.steps, args.seed)
            what = f"types {' -> '.join(args.types)} at seed {args.seed} in {len(images)} steps"
    except GenerateError as exc:
        raise CliError(str(exc)) from None
    out = save_grid_png(images, args.output, nrow=len(images))
    print(f"wrote {out}: {what}")
    return 0


def cmd_reconstruct(args) -> int:
    from pokegan.explore import GenerateError, reconstruction_curve, reconstruction_grid
    from pokegan.grids import save_grid_png

    if args.curve and args.prior:
        raise CliError("--prior adds a row to the grid; it does not go with --curve")
    try:
        if args.curve:
            rows = reconstruction_curve(args.model, 750 if args.n is None else args.n, args.seed,
                                        args.data, args.dataset)
        else:
            n = 8 if args.n is None else args.n
            images, err, spread = reconstruction_grid(args.model, n, args.seed, args.data,
                                                      args.dataset, prior=args.prior)
    except GenerateError as exc:
        raise CliError(str(exc)) from None
    if not args.curve:
        out = save_grid_png(images, args.output, nrow=n)
        shown = "real images (top), G(E(x))" + (", G(z) from the prior (bottom)" if args.prior
                                                 else " (bottom)")
        print(f"wrote {out}: {n} {shown}")
        print(f"mean L1 error: {err:.4f} (pixels in [-1, 1]; {err * 127.5:.1f} in 0-255 units)")
        if spread:
            print(f"E(x) of {spread['images']} originals: median norm {spread['norm']:.2f} "
                  f"(prior ~{spread['latent_dim'] ** 0.5:.2f}), median per-dimension std "
                  f"{spread['std']:.3f} (prior 1)")
        return 0
    import pandas as pd
    from pokegan.files import atomic_path

    with atomic_path(args.curve) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    for r in rows:
        print(f"epoch {r['epoch']:4d}  {r['images_seen'] or 0:8d} images shown  mean L1 {r['l1']:.4f}")
    print(f"wrote {args.curve}: G(E(x)) of {rows[0]['images']} {rows[0]['dataset']} originals at "
          f"{len(rows)} checkpoints (pixels in [-1, 1])")
    return 0


def _read_record(path: Path, fix: str) -> dict:
    """A JSON record pokegan wrote (info.json, metrics), or a one-line error naming it."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError(f"{path}: unreadable or corrupt ({exc}); {fix}") from None
    if not isinstance(record, dict):
        raise CliError(f"{path}: not a pokegan record (a JSON {type(record).__name__}, not an "
                       f"object); {fix}")
    return record


def cmd_info(args) -> int:
    model_dir = Path(args.model)
    if not model_dir.is_dir():
        raise CliError(f"no model folder at {model_dir}")
    from pokegan.models.io import INFO_FILE
    info_path = model_dir / INFO_FILE
    if not info_path.exists():
        raise CliError(f"{info_path} missing: is {model_dir} a finished training run?")
    info = _read_record(info_path, f"rerun `dvc repro train@{model_dir.name}`")
    metrics_path = Path("metrics") / f"{model_dir.name}.json"
    if metrics_path.exists():
        info["metrics"] = _read_record(metrics_path,
                                       f"rerun `dvc repro evaluate@{model_dir.name}`")
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    print("\n".join(_readable(info)))
    return 0


def _readable(record: dict, indent: str = "") -> list[str]:
    """A record as indented ``key: value`` lines for a person: floats to 4 significant digits,
    and a long map of files to their sha256 (the fingerprint's code) as a count, since a wall
    of hashes hides the facts; ``--json`` keeps every value as written."""
    lines = []
    for key in sorted(record):
        value = record[key]
        if isinstance(value, dict) and len(value) > 3 and all(
                isinstance(h, str) and len(h) == 64 for h in value.values()):
            lines.append(f"{indent}{key}: {len(value)} files, sha256 each (--json lists them)")
        elif isinstance(value, dict):
            lines += [f"{indent}{key}:"] + _readable(value, indent + "  ")
        elif isinstance(value, float):
            lines.append(f"{indent}{key}: {value:.4g}")
        else:
            lines.append(f"{indent}{key}: {value}")
    return lines


def _generator_args(p: argparse.ArgumentParser, *, n: int, output: str, output_help: str,
                    nrow_help: str, checkpoint_help: str) -> None:
    """The arguments of every command that draws samples from a model: which generator, how many
    samples, from which latent seed, where the grid goes."""
    p.add_argument("model", help="model folder (models/<variant>) or a generator .pt file")
    p.add_argument("-n", type=int, default=n, help=f"number of samples (default {n})")
    p.add_argument("-o", "--output", default=output, help=output_help)
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--nrow", type=int, default=None, help=nrow_help)
    p.add_argument("--checkpoint", default="last", metavar="WHICH", help=checkpoint_help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pokegan", description="Use trained pokegan models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("sample", help="draw samples from a trained generator",
                       description="Draw samples from a trained generator into a grid or files.")
    _generator_args(p, n=64, output="samples.png",
                    output_help="grid PNG, or a folder with --per-image (default samples.png)",
                    nrow_help="images per grid row",
                    checkpoint_help="last (generator.pt, the last epoch; default), best (the "
                                    "checkpoint with the lowest curve KID, models/best/<variant>.pt, "
                                    "written by evaluate) or an epoch number with a checkpoint")
    p.add_argument("--truncation", type=float, default=None,
                   help="redraw latent entries with |z| above this (e.g. 1.0)")
    p.add_argument("--per-image", action="store_true", help="write one PNG per sample into the "
                                                            "folder -o (written whole, atomically)")
    p.add_argument("--overwrite", action="store_true",
                   help="with --per-image: replace a non-empty output folder")
    p.add_argument("--type", default=None, metavar="TYPE",
                   help="type-conditional (cdcgan) models only: draw every sample as this type "
                        "(e.g. water); default: types drawn uniformly from --seed")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("nearest", help="samples beside their nearest training images",
                       description="Draw samples and put each beside its nearest real training "
                                   "image in Inception pool3 space (the reference set the metrics "
                                   "use), and say which of them the memorisation test calls "
                                   "copies. Run in the repository (it reads data/reference and "
                                   "data/prepared).")
    _generator_args(p, n=16, output="nearest.png", output_help="grid PNG (default nearest.png)",
                    nrow_help="pairs per grid row (default: about a square)",
                    checkpoint_help="as for `pokegan sample`: last (default), best or an epoch "
                                    "number")
    p.add_argument("--reference", default=None, metavar="NPZ",
                   help="real features (default data/reference/<the model's dataset>.npz)")
    p.add_argument("--data", default="data/prepared",
                   help="prepared data folder (default data/prepared)")
    p.set_defaults(func=cmd_nearest)

    p = sub.add_parser("interpolate", help="a walk through the latent space, as one row of images",
                       description="One row of images along a path through the latent space. "
                                   "--seeds: any model, spherical interpolation (slerp) between the "
                                   "latents of the seeds (each the first sample of `pokegan sample "
                                   "--seed S`). --types: the type-conditional model at one latent "
                                   "(--seed), its type moving from one to the next. NAMEs: the "
                                   "AEGAN encodes the named Pokémon's images (from data/raw, "
                                   "preprocessed like the training data) and decodes the straight "
                                   "line between their latents; the row starts and ends with the "
                                   "originals.")
    p.add_argument("model", help="model folder (models/<variant>)")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="AEGAN: two or more Pokémon (species, form or id: bulbasaur, deoxys-attack, 25)")
    p.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                   help="latent walk between these seeds (two or more), e.g. --seeds 3 17")
    p.add_argument("--types", nargs="+", metavar="TYPE",
                   help="cdcgan: walk between these types at the latent of --seed, e.g. --types fire water")
    p.add_argument("--type", default=None, metavar="TYPE",
                   help="cdcgan with --seeds: the type of every frame")
    p.add_argument("--seed", type=int, default=0, help="latent of a --types walk (default 0)")
    p.add_argument("--steps", type=int, default=8, help="images per segment, ends included "
                                                         "(default 8)")
    p.add_argument("-o", "--output", default="interpolation.png", help="PNG (default interpolation.png)")
    p.add_argument("--raw", default="data/raw", help="raw data folder (default data/raw)")
    p.add_argument("--dataset", default=None, help="raw dataset to take images from (default: "
                                                   "the model's dataset)")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("reconstruct", help="AEGAN: real images above their reconstructions G(E(x))",
                       description="Show a few real prepared images above their AEGAN reconstructions "
                                   "G(E(x)) and print the mean L1 error.")
    p.add_argument("model", help="AEGAN model folder (models/<variant>)")
    p.add_argument("-n", type=int, default=None,
                   help="number of real images (default 8; with --curve 750)")
    p.add_argument("-o", "--output", default="reconstruction.png",
                   help="PNG (default reconstruction.png)")
    p.add_argument("--seed", type=int, default=0, help="which real images (default 0)")
    p.add_argument("--data", default="data/prepared", help="prepared data folder (default data/prepared)")
    p.add_argument("--dataset", default=None,
                   help="whose originals (default the model's training set; e.g. sprites: real "
                        "images an artwork model never saw)")
    p.add_argument("--prior", action="store_true",
                   help="add a row of G's samples from the prior N(0, I) (as `pokegan sample "
                        "--seed` draws them) and print how E's latents of the originals spread "
                        "against it")
    p.add_argument("--curve", metavar="CSV", default=None,
                   help="instead of the PNG: the mean L1 at every checkpoint, on the same images, "
                        "as CSV (epoch, images_seen, dataset, images, l1)")
    p.set_defaults(func=cmd_reconstruct)

    p = sub.add_parser("info", help="what produced a model: params, epochs, metrics",
                       description="Print the record of a trained model and its metrics.")
    p.add_argument("model", help="model folder (models/<variant>)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("fid", help="FID/KID/precision/recall of generated images against a reference",
                       description="FID, KID, precision and recall of GENERATED against REFERENCE, "
                                   "each a folder of images or a reference .npz "
                                   "(data/reference/<dataset>.npz), on the pinned Inception network. "
                                   "Precision: the share of GENERATED that lies in REFERENCE's "
                                   "manifold; recall: the share of REFERENCE covered by GENERATED. "
                                   "Uses params.yaml's eval section when run in the repository.")
    p.add_argument("generated", metavar="GENERATED",
                   help="the images under test: folder of images or reference .npz")
    p.add_argument("reference", metavar="REFERENCE",
                   help="the real images: folder or reference .npz (e.g. data/reference/artwork.npz)")
    p.add_argument("--json", metavar="OUT", help="also write the scores as JSON to OUT")
    p.set_defaults(func=cmd_fid)

    p = sub.add_parser("fetch-is-weights", help="download the Inception Score classifier's "
                                                "weights (~96 MB, sha256-checked)",
                       description="Download torch-fidelity's inception-v3-compat weights into "
                                   "torch's hub cache (torch.hub.get_dir()/checkpoints), where "
                                   "evaluation finds them: evaluations from then on report IS "
                                   "(`dvc repro --force --single-item evaluate@<variant>` rescores "
                                   "a model already scored). The file is verified against a pinned sha256 before it is put "
                                   "in place; a mismatch leaves nothing behind.")
    # for tests only: another source and its digest (e.g. a file:// URL to a small fake file)
    p.add_argument("--url", default=None, help=argparse.SUPPRESS)
    p.add_argument("--sha256", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_fetch_is_weights)
    return parser


def cmd_fid(args) -> int:
    """Print the metrics of GENERATED against REFERENCE (FID, KID, P/R, ...: each registered
    metric's terminal line); with --json also write them.

    Uses params.yaml's ``eval`` section and ``seed`` when run where one exists, else defaults.
    """
    from pokegan import config
    from pokegan.files import write_json
    from pokegan.metrics import registry
    from pokegan.metrics.compare import compare
    try:
        cfg = config.load() if config.PARAMS_FILE.is_file() else None
        ev = cfg.eval if cfg else config.EvalConfig()
        max_pixels = cfg.data.max_pixels if cfg else config.DataConfig().max_pixels
        out = compare(args.generated, args.reference, ev, cfg.seed if cfg else 0, max_pixels,
                      log=lambda m: print(m, file=sys.stderr))
    except (config.ConfigError, FileNotFoundError, ValueError, RuntimeError) as exc:
        raise CliError(str(exc)) from None
    for line in registry.terminal_lines(out):
        print(line)
    for side in ("generated", "reference"):
        s = out[side]
        print(f"{side}: {s['path']} ({s['kind']}, {s['n']} images"
              + (f", {s['bad']} unusable skipped" if s["bad"] else "") + ")")
    if args.json:
        write_json(args.json, out)
    return 0


def cmd_fetch_is_weights(args) -> int:
    """Download the IS classifier's weights into torch's hub cache, sha256-checked."""
    from pokegan.metrics import is_weights
    try:
        is_weights.fetch(args.url or is_weights.IS_WEIGHTS_URL, args.sha256)
    except is_weights.WeightsError as exc:
        raise CliError(str(exc)) from None
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except CliError as exc:
        print(f"pokegan {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
