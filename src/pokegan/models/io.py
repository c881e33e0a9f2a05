"""Model files: saving, finding and loading trained networks — the API other stages and the CLI
use (sampling is :mod:`.sampling`, grids :mod:`pokegan.grids`).

Files hold only tensors and plain data (``torch.load(weights_only=True)`` reads them):

* ``models/<variant>/generator.pt`` / ``encoder.pt``: ``{"format": "pokegan-model", "class",
  "kwargs", "state_dict", "meta"}``
* ``models/<variant>/checkpoints/epoch_XXXX.pt``: ``{"format": "pokegan-checkpoint",
  "models": {role: {"class", "kwargs", "state_dict"}}, "meta", "epoch", ...}`` (see
  :mod:`pokegan.training.checkpoint` for the training state it also carries).
* ``models/best/<variant>.pt``: the generator of the checkpoint with the lowest curve KID, in
  generator.pt's format (written by the evaluate stage; its meta adds ``chosen_by``).

``generator.pt`` is always the *last* epoch's generator (the weight average with ``ema``), the
one ``metrics/<variant>.json`` scores; :func:`generator_file` picks ``last``, ``best`` or an
epoch.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pokegan.config import BEST_DIR   # models/best/: the config refuses it as a variant name

from . import catalog


FINAL_FILES = {"G": "generator.pt", "E": "encoder.pt"}   # a run's final networks, by role
INFO_FILE = "info.json"      # what a finished run was (params, fingerprint, each final file's sha256)
MODEL_FORMAT = "pokegan-model"
CHECKPOINT_FORMAT = "pokegan-checkpoint"
_CKPT_RE = re.compile(r"^epoch_(\d+)\.pt$")


class ModelFileError(RuntimeError):
    """A model or checkpoint file that is missing, unreadable or not what was asked for."""


class ModelFileNotFound(ModelFileError, FileNotFoundError):
    pass


# --------------------------------------------------------------------------- packing
def pack(module: nn.Module) -> dict[str, Any]:
    """Plain-data form of a network: class name, constructor kwargs, CPU state_dict."""
    name = type(module).__name__
    if catalog.NETWORKS.get(name) is not type(module):
        raise TypeError(f"{name} is not a pokegan network")
    return {"class": name, "kwargs": dict(module.kwargs),
            "state_dict": {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}}


def unpack(entry: dict[str, Any], where: str = "") -> nn.Module:
    """Rebuild a network from :func:`pack`'s output (eval mode, on CPU)."""
    try:
        cls = catalog.NETWORKS[entry["class"]]
        module = cls(**entry["kwargs"])
        module.load_state_dict(entry["state_dict"])
    # a foreign file's kwargs reach the constructor: ValueError is e.g. image_size 48
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{where}: cannot rebuild the network: {exc}") from exc
    return module.eval()


def save_torch(payload: dict[str, Any], path: str | Path) -> None:
    """``torch.save`` atomically and byte-reproducibly: saved to a path, the zip archive's inner
    folder takes the file's (random, temporary) name; saved to a file object it is 'archive'.
    Same payload ⇒ same bytes, so DVC sees an unchanged model after a rerun."""
    from pokegan.files import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(payload, f)


def save_model(path: str | Path, module: nn.Module, meta: dict[str, Any]) -> None:
    """Write one network (generator.pt / encoder.pt) atomically."""
    save_torch({"format": MODEL_FORMAT, **pack(module), "meta": dict(meta)}, path)


def save_run(model_dir: str | Path, nets: dict[str, nn.Module], meta: dict[str, Any],
             info: dict[str, Any]) -> None:
    """A run's final networks (``generator.pt``, AEGAN's ``encoder.pt``) and ``info.json`` as one
    unit: each network file carries the same ``meta`` (fingerprint, epoch), and ``info.json``,
    written last, names each file's sha256. A run killed between the writes leaves files that
    disagree, which :func:`check_pair` and :func:`check_run` refuse."""
    from pokegan.files import sha256_file, write_json

    model_dir = Path(model_dir)
    hashes = {}
    for role, module in nets.items():
        path = model_dir / FINAL_FILES[role]
        save_model(path, module, meta)
        hashes[path.name] = sha256_file(path)
    write_json(model_dir / INFO_FILE, {**info, "files": hashes})


_RUN_KEYS = ("variant", "fingerprint", "epoch", "images_seen")


def check_pair(meta_a: dict[str, Any], meta_b: dict[str, Any]) -> None:
    """Refuse two network files (G and E) that were not written by the same run at the same
    epoch, naming both (e.g. a run killed between generator.pt and encoder.pt)."""
    diff = [k for k in _RUN_KEYS if meta_a.get(k) != meta_b.get(k)]
    if diff:
        said = ", ".join(f"{k} {meta_a.get(k)!r} vs {meta_b.get(k)!r}" for k in diff)
        raise ModelFileError(f"{meta_a.get('path')} and {meta_b.get('path')} come from different "
                             f"runs ({said}); a training run was interrupted between them — rerun "
                             "training to write both")


def check_run(model_dir: str | Path) -> None:
    """Refuse a model folder whose final network files are not the ones its ``info.json`` names
    (sha256); folders written before info.json listed its files pass."""
    from pokegan.files import sha256_file

    info_path = Path(model_dir) / INFO_FILE
    if not info_path.is_file():
        return
    try:
        listed = json.loads(info_path.read_text()).get("files") or {}
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{info_path}: unreadable ({exc})") from None
    for name, digest in sorted(listed.items()):
        path = Path(model_dir) / name
        if not path.is_file() or sha256_file(path) != digest:
            raise ModelFileError(f"{path} is not the file {info_path} names (sha256 {digest[:12]}…): "
                                 "the run that wrote them was interrupted or the file was replaced; "
                                 "rerun training")


def read_file(path: str | Path, map_location="cpu", mmap: bool = False) -> dict[str, Any]:
    """``torch.load`` a pokegan file safely, turning every failure into a :class:`ModelFileError`."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileNotFound(f"{path}: no such model file")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as exc:  # truncated zip, garbage, pickled classes, ...
        raise ModelFileError(f"{path}: unreadable or corrupt ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict) or obj.get("format") not in (MODEL_FORMAT, CHECKPOINT_FORMAT):
        raise ModelFileError(f"{path}: not a pokegan model or checkpoint file")
    return obj


def _load_role(path, role: str, classes, map_location, live: bool = False) -> tuple[nn.Module, dict]:
    """The network of ``role`` in a model file, a checkpoint or a model folder (its final file),
    refused unless its class is one of ``classes`` (None: any network)."""
    path = Path(path)
    if path.is_dir():
        path = path / FINAL_FILES[role]
    obj = read_file(path, map_location)
    if obj["format"] == CHECKPOINT_FORMAT:
        entry = obj.get("models", {}).get(role)
        if role == "G" and not live and isinstance(obj.get("ema"), dict) and "model" in obj["ema"]:
            entry = obj["ema"]["model"]     # a run with `ema`: sample the averaged G, as generator.pt
        if entry is None:
            raise ModelFileError(f"{path}: checkpoint holds no {'live ' if live else ''}network "
                                 f"{role} (networks: {', '.join(obj.get('models', {})) or 'none'})")
        meta = {**obj.get("meta", {}), "epoch": obj.get("epoch"), "images_seen": obj.get("images_seen")}
    else:
        if live:
            raise ModelFileError(f"{path}: a model file holds one network; the live G is in checkpoints")
        entry, meta = obj, dict(obj.get("meta", {}))
    if classes is not None and entry.get("class") not in classes:
        raise ModelFileError(f"{path}: holds a {entry.get('class')}, not a generator "
                             f"({', '.join(sorted(classes))})")
    module = unpack(entry, str(path))
    kw = entry["kwargs"]
    meta.setdefault("latent_dim", kw.get("latent_dim"))
    meta.setdefault("image_size", kw.get("image_size"))
    meta["path"] = str(path)
    return module, meta


# --------------------------------------------------------------------------- public API
def load_generator(path, map_location="cpu", live: bool = False) -> tuple[nn.Module, dict]:
    """G in eval mode + meta dict (model, latent_dim, image_size, epoch, images_seen, variant,
    config, fingerprint, ...; a conditional G adds ``labels``, its class names, and
    ``label_counts``). ``path``: generator.pt, a checkpoint, or a models/<variant> folder. From a
    checkpoint of a run with ``ema`` it is the averaged G (as generator.pt), or with ``live`` the
    trained one. Raises :class:`ModelFileError` (a :class:`FileNotFoundError` when missing)
    naming the file."""
    return _load_role(path, "G", catalog.GENERATORS, map_location, live)


def load_encoder(path, map_location="cpu") -> tuple[nn.Module, dict]:
    """AEGAN's E in eval mode + meta; ``path``: encoder.pt, an AEGAN checkpoint or its folder."""
    return _load_role(path, "E", None, map_location)


def list_checkpoints(model_dir) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of every ``epoch_XXXX.pt`` in ``model_dir/checkpoints`` (or in
    ``model_dir`` itself), sorted by epoch. Files are not opened."""
    model_dir = Path(model_dir)
    folder = model_dir / "checkpoints" if (model_dir / "checkpoints").is_dir() else model_dir
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _CKPT_RE.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def export_ema(checkpoint: str | Path, out: str | Path) -> None:
    """Write ``checkpoint`` to ``out`` without D, the live G and the optimiser states: the EMA G,
    the ADA state and the history stay, which :func:`load_generator` and :func:`list_checkpoints`
    read. Raises :class:`ModelFileError` for a run that kept no
    EMA of G."""
    ckpt = read_file(checkpoint)
    if ckpt["format"] != CHECKPOINT_FORMAT or "ema" not in ckpt:
        raise ModelFileError(f"{checkpoint}: the run kept no EMA of G, nothing to export")
    save_torch({k: v for k, v in ckpt.items() if k not in ("models", "train")}, out)


def best_generator_path(model_dir) -> Path:
    """``models/best/<variant>.pt`` for ``models/<variant>``: outside the variant's folder, which
    is the train stage's output (DVC outputs may not overlap)."""
    model_dir = Path(model_dir)
    return model_dir.parent / BEST_DIR / f"{model_dir.name}.pt"


def final_path(model_dir, role: str = "G") -> Path:
    """A run's final file of ``role``: ``models/<variant>/generator.pt`` (G) or ``encoder.pt`` (E)."""
    return Path(model_dir) / FINAL_FILES[role]


def grid_path(model_dir, epoch: int) -> Path:
    """The fixed-latent sample grid a run drew after ``epoch``."""
    return Path(model_dir) / "grids" / f"epoch_{epoch:04d}.png"


def list_grids(model_dir) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of every grid of :func:`grid_path` in ``model_dir``, sorted by epoch."""
    grids = sorted(Path(model_dir, "grids").glob("epoch_*.png"))
    return [(int(p.stem.split("_")[1]), p) for p in grids if p.stem.split("_")[1].isdigit()]


def generator_file(model, checkpoint: str | int = "last") -> Path:
    """The generator file of a model folder: ``last`` = generator.pt (the last epoch), ``best`` =
    the evaluate stage's choice (lowest curve KID), an epoch number = that checkpoint. A file
    given as ``model`` is returned as is (with ``last``). Raises :class:`ModelFileNotFound`
    saying what to run when the file is missing."""
    path = Path(model)
    which = str(checkpoint).strip().lower()
    if path.is_file() and which == "last":
        return path
    if not path.is_dir():
        raise ModelFileNotFound(f"no trained model at {path} (train it with "
                                "`dvc repro train@<variant>` or `make run`)")
    if which == "last":
        found, hint = final_path(path), f"`dvc repro train@{path.name}`"
    elif which == "best":
        found, hint = best_generator_path(path), f"`dvc repro evaluate@{path.name}`"
    elif which.isdigit():
        by_epoch = dict(list_checkpoints(path))
        if int(which) not in by_epoch:
            raise ModelFileNotFound(f"{path}: no checkpoint of epoch {int(which)}; epochs with "
                                    f"one: {', '.join(map(str, by_epoch)) or 'none'}")
        return by_epoch[int(which)]
    else:
        raise ModelFileError(f"checkpoint {checkpoint!r}: expected best, last or an epoch number")
    if not found.is_file():
        raise ModelFileNotFound(f"{found}: not found; run {hint}")
    return found
