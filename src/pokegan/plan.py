"""What `make run` is about to do, and how long it should take on this machine.

Before `dvc repro` starts its long stages, ``python -m pokegan.plan`` asks DVC which stages are
out of date, counts the work each one does (images shown per training variant, images through
the Inception network per reference/evaluation) and times a few real steps of each model family
and of the feature network on this CPU/GPU at the precision ``auto`` resolves to. The estimate
is work × measured rate: it knows nothing about other load on the machine.
"""
from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

from pokegan import config, families
from pokegan.ops.device import cpu_supports_bf16, resolve_device, resolve_precision

PROBE_STEPS = 2          # timed steps per family (after one warm-up step)
PROBE_IMAGES = 8         # images through the feature network for its rate
STAGE_OVERHEAD_S = 15   # per stage: python + torch imports, DVC's hashing (measured: ~10-20 s)
ARTWORKS = 749           # dream-world artworks of the default npm source (before the data exists)


@dataclass
class Work:
    stage: str
    what: str
    seconds: float
    warning: str = ""     # printed under the stage's line


def stale_stages() -> list[str] | None:
    """Stage names `dvc status` reports as changed (None when DVC cannot tell, e.g. no git)."""
    try:
        out = subprocess.run([sys.executable, "-m", "dvc", "status", "--json"],
                             capture_output=True, text=True,
                             timeout=120, check=True).stdout
        return list(json.loads(out or "{}"))
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def training_set(cfg: config.Config, variant: config.TrainConfig, prepared_is_current: bool
                 ) -> tuple[int, str | None]:
    """(training images, data fingerprint) of a variant: the prepared set's rows it trains on,
    or, when the data stages will rerun first (fingerprint None), what the params will produce."""
    from pokegan.data.prepared import TRAIN_ON_KINDS, load_prepared
    if prepared_is_current:
        try:
            images, _, meta = load_prepared(variant.dataset, kinds=TRAIN_ON_KINDS[variant.train_on])
            return len(images), meta["fingerprint"]
        except Exception:                   # missing or unreadable: estimate from the params
            pass
    if variant.dataset == "sprites":
        return cfg.data.sprites.max_images, None
    copies = 2 if variant.train_on == "flips" else cfg.augment.copies
    return ARTWORKS * copies, None


def resumes_after(name: str, variant: config.TrainConfig, data_fingerprint: str | None,
                  device: torch.device, precision: str) -> int:
    """The epoch ``train@name`` will resume after: its newest checkpoint of the same run (the
    loop's own test, :func:`pokegan.training.checkpoint.find_resume`), 0 when there is none. A
    study-scale run stopped after a few hours is estimated by what is left."""
    from pokegan.training.checkpoint import find_resume, run_identity
    model_dir = Path("models") / name
    if data_fingerprint is None or not (model_dir / "checkpoints").is_dir():
        return 0
    fp, parts = run_identity(variant, data_fingerprint, device, precision)
    roles = families.get(variant.model).lrs(variant).keys()     # one optimiser per network
    ckpt, _ = find_resume(model_dir, fp, parts, roles, variant.epochs, log=lambda m: None)
    return ckpt["epoch"] if ckpt is not None else 0


def emulated_bf16_warning(name: str, precision: str, device: torch.device) -> str:
    """What to do when a variant forces bf16 on a CPU that emulates it: the run still trains,
    at the emulated rate timed above, and fp32 would be faster. Another precision is another run
    (other weights), so the plan names the override instead of switching by itself."""
    if precision != "bf16" or device.type != "cpu" or cpu_supports_bf16():
        return ""
    return ("bf16 is emulated on this CPU (no native bf16), slower than fp32; fp32 is another run: "
            f"dvc exp run -S variants.{name}.precision=fp32 evaluate@{name}")


def family_rate(cfg: config.TrainConfig, device: torch.device, precision: str, *,
                batches: Iterator[torch.Tensor] | None = None, steps: int = PROBE_STEPS,
                warmup: int = 1, compile_mode: str = "none") -> float:
    """Images per second of ``cfg``'s family's training step on ``device``, measured here: fresh
    networks (seed 0), ``warmup`` untimed steps, then ``steps`` timed ones on ``batches`` (images
    in [-1, 1]; default one random batch). Also what ``bench/train_throughput.py`` times."""
    from pokegan.ops.device import compiled
    from pokegan.ops.step import StepContext
    torch.manual_seed(0)
    family = families.get(cfg.model)
    nets = {k: v.to(device) for k, v in family.build(cfg, 4).items()}
    opts = families.make_optimizers(cfg, nets)
    if compile_mode != "none":
        torch._dynamo.reset()       # fresh modules each call: stay under the recompile limit
    nets = compiled(nets, compile_mode)
    ctx = StepContext(cfg, device, precision, torch.Generator(device=device).manual_seed(1))
    ctx.label_probs = torch.ones(4, device=device)
    if batches is None:
        x = torch.rand(cfg.batch_size, 3, cfg.image_size, cfg.image_size, device=device) * 2 - 1
        batches = itertools.repeat(x)
    kw = {"classes": torch.arange(cfg.batch_size, device=device) % 4} if family.conditional else {}
    for _ in range(warmup):
        family.step(nets, opts, next(batches).to(device), ctx, **kw)
    t0 = time.perf_counter()
    for _ in range(steps):
        out = family.step(nets, opts, next(batches).to(device), ctx, **kw)
    float(out["g_loss"])            # wait for the device
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def feature_rate() -> float:
    from pokegan.metrics.inception import load_feature_net
    net = load_feature_net()
    images = torch.randint(0, 256, (PROBE_IMAGES, 3, 64, 64), dtype=torch.uint8)
    net.extract(images[:2], desc=False)
    t0 = time.perf_counter()
    net.extract(images, desc=False)
    return PROBE_IMAGES / (time.perf_counter() - t0)


def plan(cfg: config.Config, stale: list[str] | None) -> list[Work]:
    def due(stage: str) -> bool:
        return stale is None or stage in stale

    device = resolve_device(cfg.train.device)
    work: list[Work] = []
    rates: dict[tuple, float] = {}
    feats = None
    if due("reference") or any(due(f"evaluate@{v}") for v in cfg.variants):
        feats = feature_rate()
    if due("reference"):
        n = sum(min(ARTWORKS if ds == "artwork" else cfg.data.sprites.max_images, cfg.eval.real_max)
                for ds in {v.dataset for v in cfg.variants.values()})
        work.append(Work("reference", f"{n} real images", n / feats))
    for name, v in cfg.variants.items():
        precision = resolve_precision(v.precision, device)
        if due(f"train@{name}"):
            key = (v.model, v.family_params, v.upsample, v.batch_size, v.diffaugment, precision)
            if key not in rates:
                rates[key] = family_rate(v, device, precision)
            current = not any(due(st) for st in ("download", "group", "augment"))
            n, data_fp = training_set(cfg, v, current)
            done = resumes_after(name, v, data_fp, device, precision)
            shown = (v.epochs - done) * (n // v.batch_size) * v.batch_size
            work.append(Work(f"train@{name}", f"{shown} images ({v.model}, {precision}, "
                             f"{rates[key]:.0f} img/s" + (f"; resumes after epoch {done}" if done
                                                           else "") + ")", shown / rates[key],
                             emulated_bf16_warning(name, precision, device)))
        if due(f"evaluate@{name}"):
            ckpts = math.ceil(v.epochs / v.checkpoint_every)
            n = ckpts * cfg.eval.samples_curve + max(cfg.eval.samples - cfg.eval.samples_curve, 0)
            work.append(Work(f"evaluate@{name}", f"{n} generated images", n / feats))
    return work


def main() -> int:
    cfg = config.load()
    stale = stale_stages()
    if stale == []:
        print("plan: every stage is up to date; `dvc repro` has nothing to run")
        return 0
    device = resolve_device(cfg.train.device)
    print(f"plan: timing a few steps on this machine ({device.type}, "
          f"precision auto = {resolve_precision('auto', device)}, {torch.get_num_threads()} threads)...",
          flush=True)
    work = plan(cfg, stale)
    for w in work:
        print(f"  {w.stage:32s} {w.seconds / 60:6.1f} min   {w.what}")
        if w.warning:
            print(f"  {'':32s} warning: {w.warning}")
    total = sum(w.seconds + STAGE_OVERHEAD_S for w in work)
    print(f"  {'total (with ~15 s a stage to start;':32s} {total / 60:6.1f} min   "
          "+ download/group/augment/report)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
