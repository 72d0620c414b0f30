"""rnnspec.suite.retain_freed_memory: training steps stop faulting their memory back in.

Measured in fresh processes (the setting is process-wide and pytest's conftest
applies it to this one): the minor page faults of 10 LSTM training steps of
seed 004's shapes, after 3 warm-up steps, with and without the setting.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rnnspec.suite import retain_freed_memory

pytestmark = pytest.mark.slow

STEPS = 10
REPO = Path(__file__).resolve().parents[1]  # the child imports conftest and benchmarks
PROGRAM = f"""
import resource, sys, torch
from rnnspec.suite import retain_freed_memory
if sys.argv[1] == "on":
    assert retain_freed_memory()
from benchmarks.test_bench_training import bare_compute, make_batches
images, labels = make_batches(torch.device("cpu"))
bare_compute(images, labels, 3, 0.01)  # warm-up: oneDNN primitives, first allocations
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
bare_compute(images, labels, {STEPS}, 0.01)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults_per_step(setting: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, setting],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    return int(out.split()[-1]) / STEPS


@pytest.mark.skipif(not retain_freed_memory(), reason="glibc's mallopt is not available here")
def test_retained_memory_removes_most_page_faults_of_a_training_step() -> None:
    """Red if the setting stopped reaching glibc (a renamed parameter, a libc that ignores it):
    the steps would fault their tensors in again, ten times as often or more."""
    default, retained = faults_per_step("off"), faults_per_step("on")
    assert retained * 10 < default, f"page faults per step: {default:.0f} default, {retained:.0f}"
