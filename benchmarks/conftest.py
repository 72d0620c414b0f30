"""Benchmark controls: the MNIST folder, rounds of the long runs, torch in the machine info.

Run by `rnnspec bench` (see rnnspec/tool/bench.py), never by the default test
command. `--bench-rounds N` (or RNNSPEC_BENCH_ROUNDS=N) repeats each 2-epoch
training N times; the default is one round, each one takes about a minute.
"""

from __future__ import annotations

import os

import pytest
import torch

from rnnspec.machine import cpu_capability, mkldnn_bf16_supported

ROUNDS_ENV = "RNNSPEC_BENCH_ROUNDS"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("rnnspec").addoption(
        "--bench-rounds",
        type=int,
        default=int(os.environ.get(ROUNDS_ENV, "1")),
        help=f"rounds of each 2-epoch training benchmark (default ${ROUNDS_ENV} or 1)",
    )


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Name the machine and the torch build in every saved result."""
    import torchvision
    from pytest_benchmark.utils import get_machine_id

    machine_info["machine_id"] = get_machine_id()
    machine_info["torch"] = {
        "version": torch.__version__,
        "torchvision": torchvision.__version__,
        "cpu_capability": cpu_capability(),
        "num_threads": torch.get_num_threads(),
        "mkldnn_bf16": mkldnn_bf16_supported(),
        "cuda_device": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


@pytest.fixture(scope="session")
def bench_rounds(pytestconfig: pytest.Config) -> int:
    return max(1, pytestconfig.getoption("--bench-rounds"))
