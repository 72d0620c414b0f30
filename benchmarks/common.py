"""Helpers the benchmark files share: device synchronisation and what extra_info records."""

from __future__ import annotations

from typing import Any

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued kernels, so a timing covers them (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def record(benchmark: Any, role: str, device: torch.device, flop: int | None = None, **info: Any):
    """Put the role, device and FLOP count in extra_info; rnnspec.tool.bench.gflops turns the count
    and the median into GFLOP/s.

    `role` is what rnnspec.tool.bench's summary looks a benchmark up by (training_fact,
    tutorial_loop, bare_compute, matmul, lstm_training_rate, forward, forward_backward).
    """
    benchmark.extra_info.update(role=role, device=device.type, **info)
    if flop is not None:
        benchmark.extra_info["flop"] = flop
