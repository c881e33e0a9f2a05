"""Choosing the device and the numeric precision of a run."""
from __future__ import annotations

import contextlib
import platform
from pathlib import Path

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` → cuda, then mps, then cpu; a forced device that is missing is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda requested but torch sees no CUDA GPU")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("device: mps requested but torch sees no Apple GPU")
    return torch.device(name)


def configure_cuda(device: torch.device) -> None:
    """Fast paths on a CUDA device: TF32 for fp32 matmuls and convolutions (the mantissa GANs
    never resolve anyway) and cuDNN autotuning for our fixed shapes. Reproducibility is promised
    on CPU only, so the autotuner's algorithm choice may differ between GPU runs."""
    if device.type != "cuda":
        return
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 arithmetic (AVX512-BF16 / AMX on x86, or what oneDNN
    reports), where bf16 autocast is faster than fp32; emulated bf16 would be slower."""
    flags = ""
    with contextlib.suppress(OSError):
        if platform.system() == "Linux":
            flags = Path("/proc/cpuinfo").read_text()
    if flags and not ("avx512_bf16" in flags or "amx_bf16" in flags):
        return False   # Linux x86 without the flags: bf16 would be emulated
    # With the flags, oneDNN must also be allowed to use them: ONEDNN_MAX_CPU_ISA=AVX2 (how the
    # slow class is reproduced on a fast CPU) turns its bf16 kernels off, and so does this.
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` → ``bf16`` where the hardware does bf16 natively (CPU flags above, CUDA with
    bf16 support), else ``fp32``. ``fp32`` / ``bf16`` force it."""
    if name != "auto":
        return name
    if device.type == "cpu":
        return "bf16" if cpu_supports_bf16() else "fp32"
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "fp32"


def autocast(device: torch.device, precision: str):
    """The autocast context for a forward pass (a no-op for fp32)."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# torch.compile modes that capture CUDA graphs on a GPU. A GAN step runs G forward, then D's
# forwards and backward, then G's backward: CUDA graph trees treat D's next forward as a new
# iteration and reuse the memory holding G's saved activations, so G's backward fails
# ("accessing tensor output of CUDAGraphs that has been overwritten by a subsequent run"; seen
# with reduce-overhead on an H200, torch 2.11; max-autotune turns on the same graphs).
CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")


def check_compile_on(device: torch.device, mode: str, key: str) -> None:
    """Refuse, before anything is built, a compile mode whose CUDA graphs break the GAN step."""
    from pokegan.config import ConfigError

    if device.type == "cuda" and mode in CUDA_GRAPH_MODES:
        raise ConfigError(f"{key}: {mode!r} captures CUDA graphs, which the GAN step breaks on a "
                          "GPU (G's saved activations are overwritten while D's graphs run, "
                          "before G's backward); use compile: default (no graphs) or none")


def compiled(nets: dict, mode: str) -> dict:
    """The networks the training step calls: ``torch.compile``d views of ``nets`` (sharing their
    parameters) unless ``mode`` is ``none``. Checkpoints, the EMA and sampling keep using the
    plain modules, so state-dict keys never gain ``_orig_mod.`` prefixes. On the CPU
    ``reduce-overhead`` is the default mode; on a GPU :func:`check_compile_on` refuses it."""
    if mode == "none":
        return nets
    return {name: torch.compile(net, mode=mode, dynamic=False) for name, net in nets.items()}
