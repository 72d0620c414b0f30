"""The machine a report was made on: versions, CPU, threads, device, and what the CPU supports.

`describe()` is what a report must say to be compared with another; the bfloat16
probe lives here because it is a property of the CPU, not of a training recipe.

torch is imported where it is used, not with this module: under xdist the controller writes
the report but runs no fact, and importing torch and torchvision there cost about 3 s of CPU
at the start of every run. A worker describes the machine as it ends (`WorkerDescription`)
and the controller writes what the workers said; only a run with no worker left to say it
imports torch in the controller.
"""

from __future__ import annotations

import importlib
import json
import platform
import re
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rnnspec.releases import installed

if TYPE_CHECKING:
    import torch

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
    import torch

    backends_cpu = getattr(torch.backends, "cpu", None)
    if backends_cpu is not None:
        return backends_cpu.get_cpu_capability()
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def describe() -> dict[str, Any]:
    """Versions and the machine, in report.json's top-level keys (schema 2)."""
    import torch

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
        "torchvision": torchvision_version(),
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


def _package_version(package: str) -> str:
    """`package.__version__` (with its local label, e.g. "2.15.0+cu132"), without importing the
    package where this process has not: its build writes the line `__version__ = '...'` into
    the package's version.py, where the module's `__version__` comes from. (The file is read,
    not run: torchvision's imports torchvision.extension, and with it torch.)"""
    if (module := sys.modules.get(package)) is not None:
        return str(module.__version__)
    from importlib.util import find_spec

    spec = find_spec(package)
    if spec is not None and spec.origin is not None:
        try:
            text = Path(spec.origin).with_name("version.py").read_text()
        except OSError:
            text = ""
        if found := re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE):
            return found.group(1)
    return str(importlib.import_module(package).__version__)


def torch_version() -> str:
    """`torch.__version__`, without importing torch (about 1.2 s) where nothing else needs it."""
    return _package_version("torch")


def torchvision_version() -> str:
    """`torchvision.__version__`, without importing torchvision (about 1.4 s)."""
    return _package_version("torchvision")


MACHINE_KEY = "rnnspec_machine"  # a worker's describe(), in its workeroutput
DESCRIBED = pytest.StashKey[dict[str, Any]]()


class WorkerDescription:
    """A pytest plugin: each xdist worker sends `describe()` to the controller as it ends, and
    the controller keeps the first it receives (`described(config)`)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None and "torch" in sys.modules:
            # plain JSON values: execnet refuses str subclasses such as torch's TorchVersion
            workeroutput[MACHINE_KEY] = json.loads(json.dumps(describe()))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        description = (getattr(node, "workeroutput", None) or {}).get(MACHINE_KEY)
        if description is not None and DESCRIBED not in self.config.stash:
            self.config.stash[DESCRIBED] = description


def described(config: pytest.Config) -> dict[str, Any]:
    """The machine as a worker of this run described it, else as this process sees it."""
    return config.stash.get(DESCRIBED, None) or describe()


def mkldnn_bf16_supported() -> bool:
    """Whether oneDNN can run bfloat16 kernels on this CPU (AVX512-BF16 or AMX)."""
    import torch

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
