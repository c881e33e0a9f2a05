"""The training loop every variant shares: data on the device, per-epoch logs, grids,
checkpoints and resume. The per-variant part is its family's step function (:mod:`pokegan.families`).

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

from pokegan import families
from pokegan.config import ConfigError, TrainConfig, as_dict
from pokegan.data import DataError
from pokegan.files import atomic_path, library_versions, machine, write_json
from pokegan.grids import grid_corner, save_grid_png
from pokegan.models.conditional import check_labels, cycling_labels
from pokegan.models.io import grid_path, save_run
from pokegan.models.latents import seeded_latents
from pokegan.models.sampling import to_uint8
from pokegan.ops.device import (check_compile_on, compiled, configure_cuda, resolve_device,
                                resolve_precision)
from pokegan.ops.distributed import all_reduce_mean, init_from_env, shard
from pokegan.ops.ema import EMA
from pokegan.ops.optim import set_epoch_lr
from pokegan.ops.step import StepContext

from .checkpoint import (checkpoint_path, default_stale_dir, find_resume, non_finite, restore_rng,
                         run_identity, save_checkpoint, seed_everything, set_aside)

SYNC_EVERY = 10   # training steps between reads of the losses on the host
LOGGED = ("d_loss", "g_loss", "d_real", "d_fake", "dz_loss", "g_adv_x", "g_adv_z", "rec_x", "rec_z",
          "d_recon", "aug_p", "lr_scale")


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
    if images.shape[0] < 2:     # e.g. a custom folder with one usable image (min_images: 1)
        raise DataError(f"dataset {cfg.dataset!r}: need at least 2 training images, got "
                        f"{images.shape[0]}; add images to the source (data.min_images guards "
                        "this at download)")


def check_batch_size(variant: str, cfg: TrainConfig, n_images: int, processes: int) -> None:
    """Each of ``processes`` trains on its 1/processes share of the images in whole batches
    (an incomplete batch is dropped): a share smaller than a batch would be an epoch of no
    steps, and an untrained G saved as if trained."""
    share = n_images // processes
    if cfg.batch_size <= share:
        return
    per = f" per process: {n_images} images / processes {processes}" if processes > 1 else ""
    raise ConfigError(
        f"variants.{variant}.batch_size: {cfg.batch_size} is larger than dataset "
        f"{cfg.dataset!r} ({share} images{per}); allowed values: 1 to {share} (set it in the "
        "variant or lower the top-level batch_size"
        + (", or lower processes)" if processes > 1 else ")"))


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


def _publish_grid(model_dir: Path, plots_dir: Path | None, epoch: int) -> None:
    """Copy the grid of ``epoch`` to ``plots_dir/samples.png``."""
    if plots_dir is not None:
        with atomic_path(plots_dir / "samples.png", suffix=".png") as tmp:
            shutil.copyfile(grid_path(model_dir, epoch), tmp)


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


@dataclasses.dataclass
class _Run:
    """What one training run carries from step to step (built by :func:`_prepare`)."""
    variant: str
    cfg: TrainConfig
    family: families.Family
    device: torch.device
    world: object                     # pokegan.ops.distributed.World
    precision: str
    fp: str
    fp_parts: dict
    meta: dict                        # the model files' meta (checkpoints, generator.pt)
    nets: dict
    opts: dict
    ema: EMA | None
    noise: torch.Generator            # every random draw of the steps
    model_dir: Path
    plots_dir: Path | None
    log: Callable[[str], None]
    classes: torch.Tensor | None = None      # conditional: each image's label, on the device
    grid_labels: torch.Tensor | None = None  # conditional: the grid's labels (every class in turn)
    epoch: int = 0
    images_seen: int = 0
    history: list = dataclasses.field(default_factory=list)
    adaptive: dict | None = None             # ADA/LeCam state from a checkpoint
    last_saved: Path | None = None

    @property
    def sampling_G(self):
        """The G that is drawn and saved: the weight average when the run keeps one."""
        return _sampling_G(self.nets, self.ema)


def _prepare(variant: str, cfg: TrainConfig, images: torch.Tensor, labels, label_names,
             data_fingerprint: str, model_dir: Path, plots_dir: Path | None, log) -> _Run:
    """Check the inputs, resolve device/precision and the run's identity, build the networks
    from the seed. Nothing is written yet."""
    check_images(images, cfg)
    family = families.get(cfg.model)
    if family.conditional:
        labels, label_names, label_counts = check_labels(labels, label_names, images.shape[0])
    device = resolve_device(cfg.device)
    check_compile_on(device, cfg.compile, f"variants.{variant}.compile")
    world = init_from_env(device.type)
    check_batch_size(variant, cfg, images.shape[0], world.size)
    if device.type == "cuda" and world.active:
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    configure_cuda(device)
    precision = resolve_precision(cfg.precision, device)
    fp, fp_parts = run_identity(cfg, data_fingerprint, device, precision, world.size)
    meta = {"variant": variant, "model": cfg.model, "dataset": cfg.dataset,
            "latent_dim": cfg.latent_dim, "image_size": cfg.image_size,
            "config": as_dict(cfg), "fingerprint": fp, "fingerprint_parts": fp_parts,
            "data_fingerprint": data_fingerprint, "device": device.type, "precision": precision}
    if family.conditional:
        meta.update(labels=label_names, label_counts=label_counts)
    # the order of these draws is part of the weights: seed, networks, then the step noise
    seed_everything(cfg.seed)
    nets = {k: v.to(device) for k, v in
            family.build(cfg, len(label_names) if family.conditional else 0).items()}
    opts = families.make_optimizers(cfg, nets)
    ema = EMA(nets["G"], cfg.ema) if cfg.ema > 0 else None
    noise = torch.Generator(device=device).manual_seed(cfg.seed + 1 + 7919 * world.rank)
    run = _Run(variant, cfg, family, device, world, precision, fp, fp_parts, meta, nets, opts,
               ema, noise, model_dir, plots_dir, log)
    if family.conditional:
        run.classes = labels.to(device)
        run.grid_labels = cycling_labels(cfg.grid_size, len(label_names))
    return run


def _resume(run: _Run) -> None:
    """Move another run's files to ``stale/`` (never deleted), then load the newest checkpoint
    of this run, if any."""
    ckpt, aside = find_resume(run.model_dir, run.fp, run.fp_parts, run.nets.keys(),
                              run.cfg.epochs, run.log)
    if run.world.is_main:     # before any write
        set_aside(aside, run.model_dir, default_stale_dir(run.model_dir), run.fp,
                  lambda m: run.log(f"{run.variant}: {m}"))
    if ckpt is None:
        return
    for role, net in run.nets.items():
        net.load_state_dict(ckpt["models"][role]["state_dict"])
    for role, opt in run.opts.items():
        opt.load_state_dict(ckpt["train"]["optimizers"][role])
    restore_rng(ckpt["train"]["rng"], {"noise": run.noise})
    if run.ema is not None:
        run.ema.load_state_dict(ckpt["ema"])
    run.epoch, run.images_seen = ckpt["epoch"], ckpt["images_seen"]
    run.adaptive = ckpt.get("adaptive")
    run.history = [{k: v for k, v in h.items() if k != "seconds"}   # older files kept wall time
                   for h in ckpt["history"]]
    run.last_saved = checkpoint_path(run.model_dir, run.epoch)
    run.log(f"{run.variant}: resuming from epoch {run.epoch} ({run.last_saved})")


def _diverged(run: _Run, what: str, step: int | str, steps: int) -> TrainingDiverged:
    return TrainingDiverged(
        f"{run.variant}: non-finite {what} at epoch {run.epoch}, step {step}/{steps}; last good "
        f"checkpoint: {run.last_saved or 'none'} (try a lower lr / lr_d)")


def _checked_losses(run: _Run, names, pending: list[torch.Tensor], last_step: int,
                    steps: int) -> list[dict]:
    """The pending steps' losses read back to the host (averaged over processes), each checked
    for NaN/inf so a divergence is reported at its own step."""
    stacked = torch.stack(pending)
    if run.world.active:
        stacked = all_reduce_mean(stacked, run.world)
    rows = []
    for at, row in enumerate(stacked.tolist(), start=last_step - len(pending) + 1):
        values = dict(zip(names, row))
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise _diverged(run, ", ".join(f"{k}={values[k]}" for k in bad), at, steps)
        rows.append(values)
    return rows


def _train_epoch(run: _Run, data: torch.Tensor, step_fn, step_nets, ctx: StepContext,
                 steps: int, bar, clock: dict) -> dict:
    """One epoch of steps in the seeded order; returns the epoch's mean losses."""
    cfg, world, batch = run.cfg, run.world, run.cfg.batch_size
    order = shard(epoch_order(data.shape[0], cfg.seed, run.epoch), world).to(run.device)
    scale = set_epoch_lr(cfg, run.opts, run.family.lrs(cfg), run.epoch)
    if world.active:    # per-process noise from (seed, rank, epoch): resumable without gathering
        run.noise.manual_seed(cfg.seed + 1 + 7919 * world.rank + 104729 * run.epoch)
    sums: dict[str, float] = {}
    pending: list[torch.Tensor] = []          # unread per-step losses (on the device)
    for step in range(1, steps + 1):
        idx = order[(step - 1) * batch: step * batch]
        real = data[idx].float().div_(127.5).sub_(1.0)
        out = (step_fn(step_nets, run.opts, real, ctx) if run.classes is None
               else step_fn(step_nets, run.opts, real, ctx, classes=run.classes[idx]))
        if run.ema is not None:
            run.ema.update(run.nets["G"])
        pending.append(torch.stack(list(out.values())).float())
        run.images_seen += real.shape[0] * world.size
        clock["images"] += real.shape[0] * world.size
        bar.update(1)
        # Read the losses back every SYNC_EVERY steps, not every step: a GPU then queues steps
        # without waiting on the host.
        if step % SYNC_EVERY and step != steps:
            continue
        for values in _checked_losses(run, list(out), pending, step, steps):
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
        pending.clear()
        rate = clock["images"] / max(time.perf_counter() - clock["t0"], 1e-9)
        bar.set_postfix_str(f"ep {run.epoch} {rate:.0f} img/s d {values['d_loss']:.3f} "
                            f"g {values['g_loss']:.3f}", refresh=False)
    entry = {"epoch": run.epoch, "images_seen": run.images_seen,
             **{k: v / steps for k, v in sums.items()}}
    if cfg.ada_target > 0:
        entry["aug_p"] = round(float(ctx.adaptive.p), 6)
    if cfg.lr_drop_after > 0:
        entry["lr_scale"] = scale
    return entry


def _end_epoch(run: _Run, entry: dict, ctx: StepContext, live: "_Live", z_grid: torch.Tensor,
               steps: int) -> None:
    """Refuse broken weights, log the epoch, and (rank 0) write its grid and checkpoint."""
    bad = non_finite(run.nets)                # finite losses, broken weights
    if bad:
        raise _diverged(run, "weights " + ", ".join(bad[:3]), steps, steps)
    run.history.append(entry)
    live.log(entry)
    if not run.world.is_main:
        return
    grid = grid_path(run.model_dir, run.epoch)
    save_grid(run.sampling_G, z_grid, grid, run.device, run.grid_labels)
    _publish_grid(run.model_dir, run.plots_dir, run.epoch)
    live.log_grid(run.epoch, grid)
    cfg = run.cfg
    if run.epoch % cfg.checkpoint_every == 0 or run.epoch == cfg.epochs:
        run.last_saved = checkpoint_path(run.model_dir, run.epoch)
        keeps_state = cfg.ada_target > 0 or cfg.lecam > 0      # ADA's p / LeCam's EMAs
        save_checkpoint(run.last_saved, nets=run.nets, opts=run.opts,
                        generators={"noise": run.noise}, epoch=run.epoch,
                        images_seen=run.images_seen, history=run.history, fingerprint=run.fp,
                        meta=run.meta, ema=run.ema.state_dict() if run.ema is not None else None,
                        adaptive=ctx.adaptive.state_dict() if keeps_state else None)


def _save_final(run: _Run, z_grid: torch.Tensor, n_images: int) -> dict:
    """The family's final networks (generator.pt, + encoder.pt), then info.json; returns
    info.json's content."""
    cfg = run.cfg
    if not grid_path(run.model_dir, run.epoch).exists():   # grids/ lost while checkpoints remain
        save_grid(run.sampling_G, z_grid, grid_path(run.model_dir, run.epoch), run.device,
                  run.grid_labels)
    _publish_grid(run.model_dir, run.plots_dir, run.epoch)  # also after a resume with nothing left
    final = {**run.meta, "epoch": run.epoch, "images_seen": run.images_seen}
    history = run.history
    info = {
        "variant": run.variant, "model": cfg.model, "dataset": cfg.dataset,
        "params": as_dict(cfg), "fingerprint": run.fp, "fingerprint_parts": run.fp_parts,
        "data_fingerprint": run.meta["data_fingerprint"],
        "device": run.device.type, "precision": run.precision, "world_size": run.world.size,
        "epochs": run.epoch, "images_seen": run.images_seen, "images": n_images,
        "batch_size": cfg.batch_size,
        "final": {k: history[-1][k] for k in LOGGED if history and k in history[-1]},
        "versions": library_versions(),
    }
    finals = {role: run.sampling_G if role == "G" else run.nets[role] for role in run.family.finals}
    save_run(run.model_dir, finals, final, info)
    return info


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

    The steps: :func:`_prepare` (checks, identity, networks), :func:`_resume`, then per epoch
    :func:`_train_epoch` and :func:`_end_epoch`, and :func:`_save_final`.
    """
    started = time.perf_counter()
    plots_dir = Path(plots_dir) if plots_dir is not None else None
    run = _prepare(variant, cfg, images, labels, label_names, data_fingerprint, Path(model_dir),
                   plots_dir, log)
    _resume(run)
    start_epoch = run.epoch
    for net in run.nets.values():
        net.train()
    step_nets = compiled(run.nets, cfg.compile)     # the step calls these; `nets` are saved
    ctx = StepContext(cfg, run.device, run.precision, run.noise, world=run.world)
    if run.adaptive is not None:
        ctx.adaptive.load_state_dict(run.adaptive)
    if run.family.conditional:
        ctx.label_probs = torch.tensor(run.meta["label_counts"], dtype=torch.float,
                                       device=run.device)
    data = images.to(run.device)
    n = data.shape[0]
    steps = (n // run.world.size) // cfg.batch_size  # per process; incomplete batches dropped
    ctx.steps_done = run.epoch * steps                # lazy R1 continues its schedule on resume
    z_grid = grid_latents(cfg)
    live = _Live(plots_dir if run.world.is_main else None, cfg.image_size)  # rank 0 alone writes
    for entry in run.history:                       # DVC wiped plots_dir: replay earlier epochs
        live.log(entry)
        live.log_grid(entry["epoch"], grid_path(run.model_dir, entry["epoch"]))
    log(f"{variant}: {cfg.model} on {n} images of {cfg.image_size}px, "
        f"{run.device.type}/{run.precision}, {torch.get_num_threads()} threads, "
        f"epochs {run.epoch + 1}..{cfg.epochs}, {steps} steps of {cfg.batch_size} per epoch")

    bar = tqdm(total=(cfg.epochs - run.epoch) * steps, desc=variant, unit="step",
               disable=not progress, mininterval=1.0, dynamic_ncols=True)
    clock, epoch_seconds = {"t0": time.perf_counter(), "images": 0}, []
    try:
        while run.epoch < cfg.epochs:
            run.epoch += 1
            t_epoch = time.perf_counter()
            entry = _train_epoch(run, data, run.family.step, step_nets, ctx, steps, bar, clock)
            epoch_seconds.append(round(time.perf_counter() - t_epoch, 2))
            _end_epoch(run, entry, ctx, live, z_grid, steps)
    finally:
        bar.close()
        live.close()

    bad = non_finite(run.nets)
    if bad:
        raise TrainingDiverged(f"{variant}: non-finite weights after epoch {run.epoch}: "
                               f"{', '.join(bad[:5])}")
    # Wall-clock facts go to plots_dir/run.json, not models/: a rerun of the same run then
    # writes byte-identical models/ (so DVC skips evaluation after a code-only change).
    images_run = clock["images"]
    record = {"seconds": round(time.perf_counter() - started, 2),
              "threads": torch.get_num_threads(),
              "images_per_s": (round(images_run / (time.perf_counter() - clock["t0"]), 1)
                               if images_run else None),
              "resumed_from_epoch": start_epoch or None, "epoch_seconds": epoch_seconds,
              "machine": machine()}
    if not run.world.is_main:
        return {"variant": variant, "rank": run.world.rank, "world_size": run.world.size,
                "epochs": run.epoch, "images_seen": run.images_seen, "device": run.device.type,
                "precision": run.precision, **record}
    info = _save_final(run, z_grid, n)
    if plots_dir is not None:
        write_json(plots_dir / "run.json", record)
    return {**info, **record}
