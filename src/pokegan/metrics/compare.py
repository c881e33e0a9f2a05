"""``pokegan fid GENERATED REFERENCE``: score a folder of images or a reference .npz against
another, outside the pipeline (the CLI prints the result)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pokegan.config import EvalConfig
from pokegan.metrics import registry
from pokegan.metrics.features import FeatureSet, load_reference
from pokegan.metrics.inception import FeatureNet, load_feature_net, resize_to_input


@dataclass
class Source:
    """A side of a comparison: features plus where they came from."""
    label: str
    feats: FeatureSet
    kind: str          # "folder" or "reference"
    bad: int = 0       # unusable files skipped (folders)


def image_files(folder: Path) -> list[Path]:
    from pokegan.data.images import IMAGE_SUFFIXES
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def folder_features(folder: str | Path, net: FeatureNet, batch_size: int = 50,
                    max_pixels: int = 40_000_000, log=print) -> tuple[FeatureSet, int]:
    """Features of every decodable image under ``folder`` (any size, resized to 299 each);
    returns (features, number of bad files skipped, each reported once on ``log``)."""
    from pokegan.data.images import BadImage, decode_image
    folder = Path(folder)
    files = image_files(folder)
    bad = 0

    def batches():
        nonlocal bad
        buf = []
        for path in files:
            try:
                img = decode_image(path, max_pixels)
            except BadImage as exc:
                bad += 1
                log(f"skipped {path}: {exc.reason}")
                continue
            x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)
            buf.append(resize_to_input(x[None])[0])
            if len(buf) == batch_size:
                yield torch.stack(buf)
                buf = []
        if buf:
            yield torch.stack(buf)

    feats = net.extract_batches(batches(), total=len(files), desc=f"features {folder.name}")
    return FeatureSet(feats), bad


def load_source(spec: str | Path, net: FeatureNet, batch_size: int, max_pixels: int,
                log=print) -> Source:
    path = Path(spec)
    if path.is_dir():
        feats, bad = folder_features(path, net, batch_size, max_pixels, log)
        if feats.n < 2:
            raise ValueError(f"{path}: {feats.n} usable images ({bad} unusable); need at least 2")
        return Source(str(path), feats, "folder", bad)
    if path.is_file() and path.suffix == ".npz":
        ref = load_reference(path, expect={"feature_net_sha1": net.sha1, "resize": net.resize})
        return Source(str(path), ref.feats, "reference")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such folder or reference file")
    raise ValueError(f"{path}: expected a folder of images or a reference .npz")


def compare(generated: str | Path, reference: str | Path, ev: EvalConfig, seed: int = 0,
            max_pixels: int = 40_000_000, net: FeatureNet | None = None, log=print) -> dict:
    """Every registered metric that needs only features (FID, KID, precision, recall, ...) of
    ``generated`` against ``reference`` (each a folder of images or a reference .npz);
    precision asks how much of ``generated`` looks real."""
    for p in (generated, reference):  # fail before loading the network or featurising a side
        if not Path(p).exists():
            raise FileNotFoundError(f"{p}: no such folder or reference file")
    net = net or load_feature_net()
    fake = load_source(generated, net, ev.batch_size, max_pixels, log)
    real = load_source(reference, net, ev.batch_size, max_pixels, log)
    s = registry.compute(registry.Inputs(real.feats, fake.feats, ev, seed))
    return {**registry.values(s),
            **{side: {"path": src.label, "kind": src.kind, "n": src.feats.n, "bad": src.bad}
               for side, src in (("generated", fake), ("reference", real))},
            "feature_extractor": {"name": net.name, "sha1": net.sha1, "resize": net.resize}}
