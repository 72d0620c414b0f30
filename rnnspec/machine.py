"""The machine a report was made on: versions, CPU, threads, device, and what the CPU supports.

`describe()` is what a report must say to be compared with another; the bfloat16
probe lives here because it is a property of the CPU, not of a training recipe.
"""

from __future__ import annotations

import platform
from functools import cache
from pathlib import Path
from typing import Any

import torch

from rnnspec.releases import installed

# The packages whose release can change a fact's outcome, besides torch and torchvision.
PACKAGES = ("numpy", "onnx", "onnxruntime", "onnxscript", "pytest")


@cache
def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@cache
def cpu_capability() -> str:
    """The CPU kernels torch dispatches to (AVX2, AVX512, ...).

    `torch.backends.cpu.get_cpu_capability()` exists from torch 2.1 (pytorch#100164); on
    2.0 the same word is on the "CPU capability usage" line of `torch.__config__.show()`.
    """
    backends_cpu = getattr(torch.backends, "cpu", None)
    if backends_cpu is not None:
        return backends_cpu.get_cpu_capability()
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def describe() -> dict[str, Any]:
    """Versions and the machine, in report.json's top-level keys (schema 2)."""
    import torchvision

    cuda = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {
        "torch": str(torch.__version__),  # a str subclass (TorchVersion) that JSON encoders refuse
        # The build itself: its commit, and the CUDA or ROCm it was built for (None for a CPU
        # build), so that a release candidate, a nightly or an in-house build is named exactly.
        "torch_build": {
            "git_version": getattr(torch.version, "git_version", None),
            "cuda": getattr(torch.version, "cuda", None),
            "hip": getattr(torch.version, "hip", None),
        },
        "torchvision": str(torchvision.__version__),
        "packages": {
            name: (str(release) if (release := installed(name)) is not None else None)
            for name in PACKAGES
        },
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_capability": cpu_capability(),
        "threads": torch.get_num_threads(),
        "cuda": cuda,
        "device": cuda or f"cpu ({cpu_name()})",
    }


def mkldnn_bf16_supported() -> bool:
    """Whether oneDNN can run bfloat16 kernels on this CPU (AVX512-BF16 or AMX)."""
    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(probe()) if probe is not None else False


def bf16_unsupported_reason(device: torch.device) -> str | None:
    """Why `device` cannot train under bfloat16 autocast, or None when it can.

    On a CPU without oneDNN bfloat16 (AVX2 only), nn.LSTM under CPU autocast
    raises instead of falling back to float32, so the bf16 runs must skip there.
    """
    if device.type == "cpu" and not mkldnn_bf16_supported():
        return (
            f"this CPU ({cpu_capability()}) has no bfloat16 support in "
            "oneDNN (torch.ops.mkldnn._is_mkldnn_bf16_supported() is False); there nn.LSTM under "
            "CPU autocast raises 'could not create a primitive descriptor for the LSTM forward "
            "propagation primitive'"
        )
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return f"{torch.cuda.get_device_name(device)} does not support bfloat16"
    return None
