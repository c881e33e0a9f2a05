"""The training loop every variant shares: data on the device, per-epoch logs, grids,
checkpoints and resume. The per-variant part is one step function (:mod:`.steps`).

Reproducibility: the networks are initialised from ``seed``; the data order of epoch ``e`` is a
permutation drawn from ``seed`` and ``e`` alone; every other random draw comes from one
``torch.Generator`` whose state is checkpointed. So on the CPU a run killed and resumed from
its last checkpoint ends bit-identical to an uninterrupted one (same machine, same threads).
"""
from __future__ import annotations

import dataclasses
import math
import shutil
import time
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from pokegan.config import ConfigError, TrainConfig
from pokegan import families
from pokegan.files import atomic_path, library_versions, machine, write_json
from pokegan.models.conditional import check_labels, cycling_labels
from pokegan.models.io import save_grid_png, save_run, to_uint8
from pokegan.models.latents import seeded_latents

from .checkpoint import (checkpoint_path, default_stale_dir, find_resume, non_finite, restore_rng,
                         run_identity, save_checkpoint, seed_everything, set_aside)
from .device import compiled, configure_cuda, resolve_device, resolve_precision
from .distributed import all_reduce_mean, init_from_env, shard
from .ema import EMA
from .steps import StepContext

SYNC_EVERY = 10   # training steps between reads of the losses on the host
LOGGED = ("d_loss", "g_loss", "d_real", "d_fake", "dz_loss", "g_adv_x", "g_adv_z", "rec_x", "rec_z",
          "d_recon", "aug_p")


def _say(message: str) -> None:
    print(message, flush=True)


class TrainingDiverged(FloatingPointError):
    """A loss became NaN/inf; the message names variant, epoch and step."""


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The data order of one epoch, from ``seed`` and ``epoch`` alone (CPU)."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def grid_latents(cfg: TrainConfig) -> torch.Tensor:
    """The fixed latents of the per-epoch grid (independent of the training RNG)."""
    return seeded_latents(cfg.seed + 7_777, cfg.grid_size, cfg.latent_dim)


def check_images(images: torch.Tensor, cfg: TrainConfig) -> None:
    s = cfg.image_size
    if images.dtype != torch.uint8 or images.ndim != 4 or tuple(images.shape[1:]) != (3, s, s):
        raise ValueError(f"training images must be uint8 N×3×{s}×{s}, got {images.dtype} "
                         f"{tuple(images.shape)}")
    if images.shape[0] < 2:
        raise ValueError(f"need at least 2 training images, got {images.shape[0]}")


@torch.no_grad()
def save_grid(G, z: torch.Tensor, path: Path, device: torch.device,
              labels: torch.Tensor | None = None) -> None:
    was = G.training
    G.eval()
    imgs = to_uint8(G(z.to(device)) if labels is None else G(z.to(device), labels.to(device)))
    G.train(was)
    save_grid_png(imgs, path)


def _sampling_G(nets: dict, ema: EMA | None):
    """The G that is drawn and saved: the weight average when the run keeps one (``ema``)."""
    return ema.model_for_sampling() if ema is not None else nets["G"]


def _grid_path(model_dir: Path, epoch: int) -> Path:
    return model_dir / "grids" / f"epoch_{epoch:04d}.png"


def _publish_grid(model_dir: Path, plots_dir: Path | None, epoch: int) -> None:
    """Copy the grid of ``epoch`` to ``plots_dir/samples.png``."""
    if plots_dir is not None:
        with atomic_path(plots_dir / "samples.png", suffix=".png") as tmp:
            shutil.copyfile(_grid_path(model_dir, epoch), tmp)


class _Live:
    """Thin DVCLive wrapper (no-op without a folder): one step per epoch, with that epoch's
    sample grid as ``plots/images/samples/<epoch>.jpg``: DVCLive's step pattern, which the VS
    Code extension and DVC Studio show with a step slider (``dvc plots show`` lists them)."""

    GRID_TILES = 4      # the top-left 4×4 samples as JPEG: ~20 kB per epoch, committed to git

    def __init__(self, folder: Path | None, tile_px: int = 64):
        self.live, self.tile_px = None, tile_px
        if folder is not None:
            from dvclive import Live
            self.live = Live(dir=str(folder), dvcyaml=False, save_dvc_exp=False, report=None)

    def log_grid(self, epoch: int, grid: Path) -> None:
        if self.live is None or not grid.is_file():   # grids of older epochs may be gone
            return
        from PIL import Image

        from pokegan.models.io import grid_corner
        with Image.open(grid) as im:
            self.live.log_image(f"samples/{epoch}.jpg",
                                grid_corner(im.convert("RGB"), self.tile_px, self.GRID_TILES))

    def log(self, entry: dict) -> None:
        if self.live is None:
            return
        self.live.step = entry["epoch"]
        for key in LOGGED + ("images_seen",):
            if key in entry:
                self.live.log_metric(key, entry[key])
        self.live.next_step()

    def close(self) -> None:
        if self.live is not None:
            self.live.end()


def train(variant: str, cfg: TrainConfig, images: torch.Tensor, *, data_fingerprint: str,
          model_dir: str | Path, plots_dir: str | Path | None = None, progress: bool = True,
          log: Callable[[str], None] = _say, labels: torch.Tensor | None = None,
          label_names: list[str] | None = None) -> dict:
    """Train ``variant`` on ``images`` (uint8 N×3×S×S), resuming from a matching checkpoint
    (same params, data, code, device and precision: :func:`.checkpoint.run_identity`); files of
    another run are first moved to ``stale/`` (:func:`.checkpoint.set_aside`), never deleted.

    Writes ``model_dir/{checkpoints/epoch_XXXX.pt, grids/epoch_XXXX.png, generator.pt,
    encoder.pt (AEGAN), info.json}`` and, with ``plots_dir``, DVCLive logs and ``samples.png``.
    Returns info.json's content plus this run's wall-clock record (``plots_dir/run.json``:
    seconds, images/s, threads, the epoch it resumed from), which stays out of ``model_dir`` so
    that the same run writes the same bytes there. Raises :class:`TrainingDiverged` on NaN/inf.
    Conditional models (cdcgan) also need ``labels`` (int, one per image) and ``label_names``
    (the vocabulary, saved in the meta as ``labels`` with ``label_counts``); the per-epoch grid
    then cycles over the classes.
    """
    started = time.perf_counter()
    check_images(images, cfg)
    if cfg.batch_size > images.shape[0]:    # before anything is written
        raise ConfigError(
            f"variants.{variant}.batch_size: {cfg.batch_size} is larger than dataset "
            f"{cfg.dataset!r} ({images.shape[0]} images); allowed values: 1 to {images.shape[0]} "
            "(set it in the variant or lower the top-level batch_size)")
    family = families.get(cfg.model)
    conditional = family.conditional
    if conditional:
        labels, label_names, label_counts = check_labels(labels, label_names, images.shape[0])
    model_dir = Path(model_dir)
    plots_dir = Path(plots_dir) if plots_dir is not None else None
    device = resolve_device(cfg.device)
    world = init_from_env(device.type)
    if device.type == "cuda" and world.active:
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    configure_cuda(device)
    precision = resolve_precision(cfg.precision, device)
    fp, fp_parts = run_identity(cfg, data_fingerprint, device, precision, world.size)
    meta = {"variant": variant, "model": cfg.model, "dataset": cfg.dataset,
            "latent_dim": cfg.latent_dim, "image_size": cfg.image_size,
            "config": dataclasses.asdict(cfg), "fingerprint": fp, "fingerprint_parts": fp_parts,
            "data_fingerprint": data_fingerprint, "device": device.type, "precision": precision}
    if conditional:
        meta.update(labels=label_names, label_counts=label_counts)

    # networks from the seed, then (maybe) the state of an earlier run
    seed_everything(cfg.seed)
    nets = {k: v.to(device) for k, v in
            family.build(cfg, len(label_names) if conditional else 0).items()}
    opts = families.make_optimizers(cfg, nets)
    ema = EMA(nets["G"], cfg.ema) if cfg.ema > 0 else None   # averaged G: grids, generator.pt
    noise = torch.Generator(device=device).manual_seed(cfg.seed + 1 + 7919 * world.rank)
    generators = {"noise": noise}
    epoch, images_seen, history, adaptive_state = 0, 0, [], None
    ckpt, aside = find_resume(model_dir, fp, fp_parts, nets.keys(), cfg.epochs, log)
    if world.is_main:   # another run's files leave models/ (moved, never deleted) before any write
        set_aside(aside, model_dir, default_stale_dir(model_dir), fp,
                  lambda m: log(f"{variant}: {m}"))
    if ckpt is not None:
        for role, net in nets.items():
            net.load_state_dict(ckpt["models"][role]["state_dict"])
        for role, opt in opts.items():
            opt.load_state_dict(ckpt["train"]["optimizers"][role])
        restore_rng(ckpt["train"]["rng"], generators)
        if ema is not None:
            ema.load_state_dict(ckpt["ema"])
        epoch, images_seen = ckpt["epoch"], ckpt["images_seen"]
        adaptive_state = ckpt.get("adaptive")
        history = [{k: v for k, v in h.items() if k != "seconds"}   # older files kept wall time
                   for h in ckpt["history"]]
        log(f"{variant}: resuming from epoch {epoch} ({checkpoint_path(model_dir, epoch)})")
        del ckpt
    start_epoch = epoch
    last_saved = checkpoint_path(model_dir, epoch) if epoch else None
    for net in nets.values():
        net.train()

    step_fn = family.step
    step_nets = compiled(nets, cfg.compile)         # the step calls these; `nets` are saved
    ctx = StepContext(cfg, device, precision, noise, world=world)
    if adaptive_state is not None:
        ctx.adaptive.load_state_dict(adaptive_state)
    keeps_state = cfg.ada_target > 0 or cfg.lecam > 0      # ADA's p / LeCam's EMAs
    classes = labels.to(device) if conditional else None
    if conditional:
        ctx.label_probs = torch.tensor(label_counts, dtype=torch.float, device=device)
    data = images.to(device)
    n = data.shape[0]
    batch = cfg.batch_size                          # <= n (checked above)
    steps_per_epoch = (n // world.size) // batch    # per process; incomplete batches dropped
    ctx.steps_done = epoch * steps_per_epoch        # lazy R1 continues its schedule on resume
    z_grid = grid_latents(cfg)
    y_grid = cycling_labels(cfg.grid_size, len(label_names)) if conditional else None
    live = _Live(plots_dir if world.is_main else None, cfg.image_size)  # rank 0 alone writes
    for entry in history:                           # DVC wiped plots_dir: replay earlier epochs
        live.log(entry)
        live.log_grid(entry["epoch"], _grid_path(model_dir, entry["epoch"]))
    log(f"{variant}: {cfg.model} on {n} images of {cfg.image_size}px, {device.type}/{precision}, "
        f"{torch.get_num_threads()} threads, epochs {epoch + 1}..{cfg.epochs}, "
        f"{steps_per_epoch} steps of {batch} per epoch")

    bar = tqdm(total=(cfg.epochs - epoch) * steps_per_epoch, desc=variant, unit="step",
               disable=not progress, mininterval=1.0, dynamic_ncols=True)
    t_run, images_run, epoch_seconds = time.perf_counter(), 0, []
    try:
        while epoch < cfg.epochs:
            epoch += 1
            t_epoch = time.perf_counter()
            order = shard(epoch_order(n, cfg.seed, epoch), world).to(device)
            if world.active:    # per-process noise from (seed, rank, epoch): resumable without
                noise.manual_seed(cfg.seed + 1 + 7919 * world.rank + 104729 * epoch)  # gathering RNGs
            sums: dict[str, float] = {}
            pending: list[torch.Tensor] = []      # this epoch's unread per-step losses (on device)
            for step in range(1, steps_per_epoch + 1):
                idx = order[(step - 1) * batch: step * batch]
                real = data[idx].float().div_(127.5).sub_(1.0)
                out = (step_fn(step_nets, opts, real, ctx) if classes is None
                       else step_fn(step_nets, opts, real, ctx, classes=classes[idx]))
                if ema is not None:
                    ema.update(nets["G"])
                pending.append(torch.stack(list(out.values())).float())
                images_seen += real.shape[0] * world.size
                images_run += real.shape[0] * world.size
                bar.update(1)
                if step % SYNC_EVERY and step != steps_per_epoch:
                    continue
                # Read the losses back every SYNC_EVERY steps, not every step: a GPU then queues
                # steps without waiting on the host; a NaN is still reported at its own step.
                stacked = torch.stack(pending)
                if world.active:    # every process logs (and checks) the mean over processes
                    stacked = all_reduce_mean(stacked, world)
                for at, row in enumerate(stacked.tolist(), start=step - len(pending) + 1):
                    values = dict(zip(out, row))
                    bad = [k for k, v in values.items() if not math.isfinite(v)]
                    if bad:
                        raise TrainingDiverged(
                            f"{variant}: non-finite {', '.join(f'{k}={values[k]}' for k in bad)} "
                            f"at epoch {epoch}, step {at}/{steps_per_epoch}; last good checkpoint: "
                            f"{last_saved or 'none'} (try a lower lr / lr_d)")
                    for k, v in values.items():
                        sums[k] = sums.get(k, 0.0) + v
                pending.clear()
                rate = images_run / max(time.perf_counter() - t_run, 1e-9)
                bar.set_postfix_str(f"ep {epoch} {rate:.0f} img/s d {values['d_loss']:.3f} "
                                    f"g {values['g_loss']:.3f}", refresh=False)
            entry = {"epoch": epoch, "images_seen": images_seen,
                     **{k: v / steps_per_epoch for k, v in sums.items()}}
            if cfg.ada_target > 0:
                entry["aug_p"] = round(float(ctx.adaptive.p), 6)
            epoch_seconds.append(round(time.perf_counter() - t_epoch, 2))
            bad_w = non_finite(nets)                # finite losses, broken weights
            if bad_w:
                raise TrainingDiverged(
                    f"{variant}: non-finite weights {', '.join(bad_w[:3])} at epoch {epoch}, "
                    f"step {steps_per_epoch}/{steps_per_epoch}; last good checkpoint: "
                    f"{last_saved or 'none'} (try a lower lr / lr_d)")
            history.append(entry)
            live.log(entry)
            if not world.is_main:
                continue
            save_grid(_sampling_G(nets, ema), z_grid, _grid_path(model_dir, epoch), device, y_grid)
            _publish_grid(model_dir, plots_dir, epoch)
            live.log_grid(epoch, _grid_path(model_dir, epoch))
            if epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs:
                last_saved = checkpoint_path(model_dir, epoch)
                save_checkpoint(last_saved, nets=nets, opts=opts,
                                generators=generators, epoch=epoch, images_seen=images_seen,
                                history=history, fingerprint=fp, meta=meta,
                                ema=ema.state_dict() if ema is not None else None,
                                adaptive=ctx.adaptive.state_dict() if keeps_state else None)
    finally:
        bar.close()
        live.close()

    bad = non_finite(nets)
    if bad:
        raise TrainingDiverged(f"{variant}: non-finite weights after epoch {epoch}: {', '.join(bad[:5])}")
    # Wall-clock facts go to plots_dir/run.json, not models/: a rerun of the same run then
    # writes byte-identical models/ (so DVC skips evaluation after a code-only change).
    seconds = time.perf_counter() - started
    run = {"seconds": round(seconds, 2), "threads": torch.get_num_threads(),
           "images_per_s": round(images_run / (time.perf_counter() - t_run), 1) if images_run else None,
           "resumed_from_epoch": start_epoch or None, "epoch_seconds": epoch_seconds,
           "machine": machine()}
    if not world.is_main:
        return {"variant": variant, "rank": world.rank, "world_size": world.size, "epochs": epoch,
                "images_seen": images_seen, "device": device.type, "precision": precision, **run}
    if not _grid_path(model_dir, epoch).exists():       # e.g. grids/ lost while checkpoints remain
        save_grid(_sampling_G(nets, ema), z_grid, _grid_path(model_dir, epoch), device, y_grid)
    _publish_grid(model_dir, plots_dir, epoch)            # also after a resume with nothing left
    final = {**meta, "epoch": epoch, "images_seen": images_seen}
    info = {
        "variant": variant, "model": cfg.model, "dataset": cfg.dataset,
        "params": dataclasses.asdict(cfg), "fingerprint": fp, "fingerprint_parts": fp_parts,
        "data_fingerprint": data_fingerprint,
        "device": device.type, "precision": precision, "world_size": world.size,
        "epochs": epoch, "images_seen": images_seen, "images": n, "batch_size": batch,
        "final": {k: history[-1][k] for k in LOGGED if history and k in history[-1]},
        "versions": library_versions(),
    }
    finals = {"G": _sampling_G(nets, ema), **({"E": nets["E"]} if family.encoder else {})}
    save_run(model_dir, finals, final, info)     # generator.pt, encoder.pt, then info.json
    if plots_dir is not None:
        write_json(plots_dir / "run.json", run)
    return {**info, **run}

