"""Checkpoints: the whole training state, written atomically, found again on restart.

A checkpoint holds every network (``models``), and under ``train`` the optimiser states, every
RNG state and the run's clock; ``epoch``, ``images_seen``, the per-epoch ``history`` and the
``fingerprint`` of what produced it sit at the top. Only tensors and plain data, so
``torch.load(weights_only=True)`` reads it.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from pokegan.config import NOT_IN_FINGERPRINT, TrainConfig, as_dict, replace
from pokegan.files import content_hashes, fingerprint, write_json
from pokegan.models.io import (CHECKPOINT_FORMAT, FINAL_FILES, INFO_FILE, ModelFileError,
                               list_checkpoints, list_grids, pack, read_file, save_torch)
from pokegan.ops.device import resolve_device, resolve_precision
from pokegan.ops.levers import LEVER_DEFAULTS
from pokegan.ops.optim import lr_scale

# The code that computes the weights: the train stage's code deps in dvc.yaml (folders are
# globbed for *.py, so a module added there later counts without editing this list).
TRAIN_CODE = ("stages/train.py", "src/pokegan/config.py", "src/pokegan/files.py",
              "src/pokegan/plugins.py", "src/pokegan/grids.py", "src/pokegan/models",
              "src/pokegan/ops", "src/pokegan/families", "src/pokegan/training",
              "src/pokegan/data/prepared.py")
REPO_ROOT = Path(__file__).resolve().parents[3]     # src/pokegan/training/checkpoint.py


def checkpoint_path(model_dir: str | Path, epoch: int) -> Path:
    return Path(model_dir) / "checkpoints" / f"epoch_{epoch:04d}.pt"


# --------------------------------------------------------------------------- run identity
def code_hashes() -> dict[str, str]:
    """sha256 of every file of :data:`TRAIN_CODE`, by path relative to the repository."""
    return content_hashes(REPO_ROOT, TRAIN_CODE)


def run_identity(cfg: TrainConfig, data_fingerprint: str, device: torch.device, precision: str,
                 world_size: int = 1) -> tuple[str, dict]:
    """(fingerprint, parts): what a run's weights depend on — params (less NOT_IN_FINGERPRINT
    and levers at their default), data, training code, the resolved device and precision (bf16
    and fp32 give other weights). The parts are stored with the run so that a mismatch can be
    explained (:func:`what_changed`)."""
    params = {k: v for k, v in as_dict(cfg).items() if k not in NOT_IN_FINGERPRINT
              and not (k in LEVER_DEFAULTS and v == LEVER_DEFAULTS[k])}
    parts = {"params": params, "data": data_fingerprint, "code": code_hashes(),
             "device": device.type, "precision": precision, "format": 2}
    if world_size > 1:      # a data-parallel run is another run (single-process ones keep theirs)
        parts["world_size"] = world_size
    return fingerprint(parts), parts


def what_changed(old: dict | None, new: dict) -> str:
    """The parts of two run identities that differ, in words ('code changed
    (src/pokegan/training/losses.py)', 'params changed (lr 0.001 -> 0.0002)')."""
    if not isinstance(old, dict):
        return "written by an older pokegan that did not record what its fingerprint covers"
    said = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            names = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            items = [f"{k} {a.get(k)!r} -> {b.get(k)!r}" if key == "params" else k
                     for k in names[:4]]
            said.append(f"{key} changed ({', '.join(items)}"
                        + (f" and {len(names) - 4} more" if len(names) > 4 else "") + ")")
        else:
            said.append(f"{key} changed ({a!r} -> {b!r})")
    return "; ".join(said) or "other fingerprint"


# --------------------------------------------------------------------------- branching
# keys that may differ between a run and the run it branches from: each acts only after its epoch
BRANCH_KEYS = {"lr_drop_after", "lr_drop"}


class BranchError(ValueError):
    """A checkpoint another run cannot start from: its first epochs were another computation."""


def branch(src: str | Path, folder: str | Path, cfg: TrainConfig, data_fingerprint: str) -> Path:
    """Start the run ``cfg`` in ``folder`` from another run's checkpoint ``src`` instead of from
    scratch; returns the checkpoint written, which :func:`pokegan.training.train` resumes from.

    Only where the two configs differ in :data:`BRANCH_KEYS` alone and neither run's lr drop
    acts by ``src``'s epoch: the epochs up to it are then the same computation, so the copy is
    what this config would have written there, and it is re-stamped with this run's identity. A
    checkpoint written by older code is accepted as is (the identity's code part cannot vouch
    for it). Raises :class:`BranchError` saying why not, before writing anything."""
    ckpt = read_file(src)
    device = resolve_device(cfg.device)
    fp, parts = run_identity(cfg, data_fingerprint, device, resolve_precision(cfg.precision, device))
    old = ckpt.get("meta", {}).get("fingerprint_parts")
    if not isinstance(old, dict):
        raise BranchError(f"cannot branch from {src}: {what_changed(old, parts)}")
    keys = set(old["params"]) | set(parts["params"])
    differ = {k for k in keys if old["params"].get(k) != parts["params"].get(k)}
    src_cfg = replace(cfg, **{k: old["params"].get(k, LEVER_DEFAULTS[k]) for k in BRANCH_KEYS})
    why = ([f"params {sorted(differ - BRANCH_KEYS)} differ"] if differ - BRANCH_KEYS else []) + \
        [f"{k} differs" for k in ("data", "device", "precision") if old[k] != parts[k]] + \
        [f"{who}'s lr_drop_after {c.lr_drop_after} acts before epoch {ckpt['epoch']}"
         for who, c in (("this run", cfg), ("the source", src_cfg))
         if lr_scale(c, ckpt["epoch"]) != 1.0]
    if why:
        raise BranchError(f"cannot branch from {src}: " + "; ".join(why))
    ckpt["fingerprint"] = fp
    ckpt["meta"].update(fingerprint=fp, fingerprint_parts=parts, config=as_dict(cfg),
                        branched_from=str(src))
    path = checkpoint_path(folder, ckpt["epoch"])
    save_torch(ckpt, path)
    return path


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
    ``ema``: :meth:`pokegan.ops.ema.EMA.state_dict` when the run averages G's weights;
    ``adaptive``: :meth:`pokegan.ops.adaptive.AdaptiveState.state_dict` (ADA, LeCam)."""
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


def _problem(ckpt: dict, fingerprint: str, parts: dict, roles) -> str | None:
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        return "not a checkpoint"
    if ckpt.get("fingerprint") != fingerprint:
        return "another run's: " + what_changed(ckpt.get("meta", {}).get("fingerprint_parts"), parts)
    if "train" not in ckpt or set(ckpt.get("models", {})) != set(roles):
        return "incomplete (no training state)"
    bad = [k for e in ckpt["models"].values() for k, t in e["state_dict"].items()
           if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    return f"non-finite weights ({bad[0]})" if bad else None


def _unreadable(path: Path, exc: Exception) -> str:
    warnings.warn(f"skipping corrupt checkpoint {exc}; falling back to an older one",
                  RuntimeWarning, stacklevel=3)
    return f"unreadable ({str(exc).removeprefix(str(path) + ': ')})"


def _foreign_final(path: Path, fingerprint: str, parts: dict) -> str | None:
    """Why generator.pt / encoder.pt / info.json is not this run's (None: it is)."""
    try:
        if path.suffix == ".json":
            meta = json.loads(path.read_text())
            meta = {**meta, "fingerprint_parts": meta.get("fingerprint_parts")}
        else:
            meta = read_file(path, mmap=True).get("meta", {})
    except (ModelFileError, OSError, ValueError) as exc:
        return f"unreadable ({exc})"
    if meta.get("fingerprint") == fingerprint:
        return None
    return "another run's: " + what_changed(meta.get("fingerprint_parts"), parts)


def find_resume(model_dir: str | Path, fingerprint: str, parts: dict, roles, max_epoch: int,
                log: Callable[[str], None] = print) -> tuple[dict | None, dict[Path, str]]:
    """The newest checkpoint (epoch <= ``max_epoch``) of the run ``fingerprint`` describes, and
    every file of ``model_dir`` this run must not keep, with why: checkpoints of other settings,
    unreadable or non-finite ones, ones beyond ``max_epoch``, another run's final files, and the
    grids drawn after the resume point by another run. Nothing is moved here
    (:func:`set_aside` does that), so every process of a data-parallel run can call it."""
    resume, aside, foreign = None, {}, False
    for epoch, path in reversed(list_checkpoints(model_dir)):
        if epoch > max_epoch:
            aside[path] = f"beyond the {max_epoch} epochs asked for"
            continue
        try:    # below the resume point only the fingerprint matters: memory-mapped, cheap
            ckpt = read_file(path, map_location="cpu", mmap=resume is not None)
        except ModelFileError as exc:
            aside[path] = _unreadable(path, exc)
            log(f"warning: skipping corrupt checkpoint {path}")
            continue
        why = (_problem(ckpt, fingerprint, parts, roles) if resume is None else
               None if ckpt.get("fingerprint") == fingerprint else
               "another run's: " + what_changed(ckpt.get("meta", {}).get("fingerprint_parts"), parts))
        if why is None and resume is None:
            resume = ckpt
        elif why is not None:
            aside[path] = why
            foreign |= why.startswith("another run's")
    for name in (*FINAL_FILES.values(), INFO_FILE):
        path = Path(model_dir) / name
        why = _foreign_final(path, fingerprint, parts) if path.is_file() else None
        if why is not None:
            aside[path], foreign = why, True
    first_new = resume["epoch"] if resume is not None else 0
    for epoch, path in list_grids(model_dir):
        if epoch > max_epoch:
            aside[path] = f"beyond the {max_epoch} epochs asked for"
        elif foreign and epoch > first_new:
            aside[path] = "drawn by the run whose files are set aside"
    return resume, aside


def default_stale_dir(model_dir: str | Path) -> Path:
    """Where files set aside from ``model_dir`` go: ``stale/<variant>`` beside ``models/`` for
    ``models/<variant>`` — outside every DVC output (the report stage depends on all of
    ``models/``), git- and dvc-ignored — else ``stale/<name>`` beside ``model_dir``."""
    model_dir = Path(model_dir)
    base = model_dir.parent.parent if model_dir.parent.name == "models" else model_dir.parent
    return base / "stale" / model_dir.name


def set_aside(aside: dict[Path, str], model_dir: str | Path, stale_dir: str | Path,
              fingerprint: str, log: Callable[[str], None] = print) -> Path | None:
    """Move ``aside`` ({file: why}) out of ``model_dir`` into a new, timestamped folder of
    ``stale_dir`` (same relative paths, plus ``moved.json`` saying why) and say where. Nothing
    is deleted: a user may still want an earlier run's checkpoints."""
    if not aside:
        return None
    model_dir = Path(model_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    dest = Path(stale_dir) / stamp
    n = 1
    while dest.exists():
        n += 1
        dest = Path(stale_dir) / f"{stamp}-{n}"
    record = {}
    for path, why in sorted(aside.items()):
        rel = path.relative_to(model_dir)
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(os.fspath(path), os.fspath(dest / rel))
        record[rel.as_posix()] = why
    write_json(dest / "moved.json", {"moved_by_run": fingerprint, "files": record})
    by_why: dict[str, list[str]] = {}
    for rel, why in record.items():
        by_why.setdefault(why, []).append(rel)
    log(f"moved {len(record)} file(s) this run will not use to {dest}/ (nothing deleted):")
    for why, names in by_why.items():
        log(f"  {why}: {', '.join(names[:6])}" + (f" and {len(names) - 6} more" if len(names) > 6 else ""))
    return dest
