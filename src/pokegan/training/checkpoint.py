"""Checkpoints: the whole training state, written atomically, found again on restart.

A checkpoint holds every network (``models``), and under ``train`` the optimiser states, every
RNG state and the run's clock; ``epoch``, ``images_seen``, the per-epoch ``history`` and the
``fingerprint`` of what produced it sit at the top. Only tensors and plain data, so
``torch.load(weights_only=True)`` reads it.
"""
from __future__ import annotations

import random
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from pokegan.models.io import (CHECKPOINT_FORMAT, ModelFileError, list_checkpoints, pack, read_file,
                               save_torch)


def checkpoint_path(model_dir: str | Path, epoch: int) -> Path:
    return Path(model_dir) / "checkpoints" / f"epoch_{epoch:04d}.pt"


# --------------------------------------------------------------------------- RNG state
def seed_everything(seed: int) -> None:
    """Seed torch, python ``random`` and numpy. Training draws from torch alone, but a checkpoint
    records all three: seeded, the same run writes the same checkpoint bytes."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def capture_rng(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    """Every RNG a run may touch: torch CPU (+ CUDA), python ``random``, numpy, our generators."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]),
                  "cached_gaussian": float(np_state[4])},
        "generators": {k: g.get_state() for k, g in generators.items()},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npst = state["numpy"]
    np.random.set_state((npst["name"], npst["keys"].numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["cached_gaussian"]))
    for name, g in generators.items():
        g.set_state(state["generators"][name].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


# --------------------------------------------------------------------------- finiteness
def non_finite(nets: dict[str, nn.Module]) -> list[str]:
    """Names (``G.net.0.weight``) of parameters/buffers holding NaN or inf."""
    bad = []
    for role, net in nets.items():
        for name, t in net.state_dict().items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                bad.append(f"{role}.{name}")
    return bad


# --------------------------------------------------------------------------- save / find
def save_checkpoint(path: Path, *, nets: dict[str, nn.Module], opts: dict[str, torch.optim.Optimizer],
                    generators: dict[str, torch.Generator], epoch: int, images_seen: int,
                    history: list[dict], fingerprint: str, meta: dict,
                    ema: dict | None = None, adaptive: dict | None = None) -> None:
    """Write the training state atomically; refuses (ValueError) if any weight is NaN/inf.
    ``ema``: :meth:`pokegan.training.ema.EMA.state_dict` when the run averages G's weights;
    ``adaptive``: :meth:`pokegan.training.adaptive.AdaptiveState.state_dict` (ADA, LeCam)."""
    bad = non_finite(nets)
    if bad:
        raise ValueError(f"refusing to write {path}: non-finite weights in {', '.join(bad[:5])}")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "fingerprint": fingerprint,
        "epoch": epoch,
        "images_seen": images_seen,
        "history": [dict(h) for h in history],
        "meta": dict(meta),
        "models": {role: pack(net) for role, net in nets.items()},
        "train": {"optimizers": {k: o.state_dict() for k, o in opts.items()},
                  "rng": capture_rng(generators)},   # no wall-clock: same run, same bytes
    }
    if ema is not None:
        payload["ema"] = ema
    if adaptive is not None:
        payload["adaptive"] = adaptive
    save_torch(payload, path)


def _problem(ckpt: dict, fingerprint: str, roles) -> str | None:
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        return "not a checkpoint"
    if ckpt.get("fingerprint") != fingerprint:
        return f"fingerprint {ckpt.get('fingerprint')} (this run: {fingerprint})"
    if "train" not in ckpt or set(ckpt.get("models", {})) != set(roles):
        return "incomplete (no training state)"
    return None


def find_resume(model_dir: str | Path, fingerprint: str, roles, max_epoch: int,
                log: Callable[[str], None] = print) -> dict | None:
    """The newest checkpoint (epoch <= ``max_epoch``) written by a run with this ``fingerprint``.

    Checkpoints of other settings are ignored and corrupt ones skipped, each with a message.
    """
    for epoch, path in reversed(list_checkpoints(model_dir)):
        if epoch > max_epoch:
            log(f"ignoring {path}: beyond the {max_epoch} epochs asked for")
            continue
        try:
            ckpt = read_file(path, map_location="cpu")
        except ModelFileError as exc:
            warnings.warn(f"skipping corrupt checkpoint {exc}; falling back to an older one",
                          RuntimeWarning, stacklevel=2)
            log(f"warning: skipping corrupt checkpoint {path}")
            continue
        why = _problem(ckpt, fingerprint, roles)
        if why is None:
            bad = [k for e in ckpt["models"].values() for k, t in e["state_dict"].items()
                   if t.is_floating_point() and not bool(torch.isfinite(t).all())]
            why = f"non-finite weights ({bad[0]})" if bad else None
        if why is None:
            return ckpt
        log(f"ignoring {path}: {why}")
    return None


def stale_checkpoints(model_dir: str | Path, fingerprint: str, max_epoch: int) -> list[Path]:
    """Checkpoints in ``model_dir`` that this run did not write: another fingerprint, unreadable,
    or beyond ``max_epoch`` (read memory-mapped, so cheap)."""
    stale = []
    for epoch, path in list_checkpoints(model_dir):
        if epoch > max_epoch:
            stale.append(path)
            continue
        try:
            fp = read_file(path, mmap=True).get("fingerprint")
        except ModelFileError:
            fp = None
        if fp != fingerprint:
            stale.append(path)
    return stale
