"""Whole-process timings of the training fact against its two baselines, run alternately.

    python -m benchmarks.interleaved --mnist-root DIR [--pairs 3]

On a shared machine the speed drifts from one minute to the next, so one
round of each variant (as in `rnnspec bench`) cannot settle a 5% or 10%
target. Here each pair runs the training fact, then a baseline, in fresh
processes, one after the other, and the ratio is taken pair by pair: the
drift hits both halves of a pair alike. Printed: each command's median wall
time and the median of the pairwise ratios, for

- training fact / tutorial loop (target <= 0.9), and
- training fact / bare compute (target <= 1.05).

Each process includes the interpreter's start and its imports, on both sides.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rnnspec.tool.bench import FACT_OVER_BARE_TARGET, FACT_OVER_TUTORIAL_TARGET

# Each process applies the suite's process setting (rnnspec.suite.retain_freed_memory), as
# pytest's conftest does, so the ratios compare the code, not the allocator.
FACT = (
    "import torch; from pathlib import Path; "
    "from rnnspec.suite import retain_freed_memory; retain_freed_memory(); "
    "from benchmarks.test_bench_training import training_fact; "
    "from models.training import LSTM_MNIST; "
    "training_fact(Path({root!r}), torch.device('cpu'), LSTM_MNIST)"
)
TUTORIAL = (
    "from rnnspec.suite import retain_freed_memory; retain_freed_memory(); "
    "from benchmarks.tutorial_loop import run_tutorial; run_tutorial({root!r}, log=lambda s: None)"
)
BARE = (
    "import torch; from benchmarks.test_bench_training import make_batches, bare_compute; "
    "from rnnspec.suite import retain_freed_memory; retain_freed_memory(); "
    "from benchmarks.test_bench_training import TRAINING_STEPS; from models.training import "
    "LSTM_MNIST; images, labels = make_batches(torch.device('cpu')); "
    "bare_compute(images, labels, TRAINING_STEPS, LSTM_MNIST.lr)"
)
TARGETS = {"tutorial loop": FACT_OVER_TUTORIAL_TARGET, "bare compute": FACT_OVER_BARE_TARGET}


@dataclass(frozen=True)
class Comparison:
    name: str
    a_seconds: list[float]
    b_seconds: list[float]

    @property
    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.a_seconds, self.b_seconds, strict=True)]


def wall_seconds(argv: Sequence[str]) -> float:
    """Run one command to completion; its wall time in seconds (it must exit 0)."""
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def interleave(name: str, a: Sequence[str], b: Sequence[str], pairs: int) -> Comparison:
    """Run a, b, a, b, ... `pairs` times each; keep the wall times in order."""
    a_seconds, b_seconds = [], []
    for _ in range(pairs):
        a_seconds.append(wall_seconds(a))
        b_seconds.append(wall_seconds(b))
    return Comparison(name, a_seconds, b_seconds)


def describe(comparison: Comparison, target: float) -> str:
    ratio = statistics.median(comparison.ratios)
    verdict = f" (target <= {target}: {'met' if ratio <= target else 'MISSED'})"
    return (
        f"training fact / {comparison.name}: median ratio {ratio:.3f}{verdict}; "
        f"fact {statistics.median(comparison.a_seconds):.1f} s, "
        f"{comparison.name} {statistics.median(comparison.b_seconds):.1f} s, "
        f"ratios {', '.join(f'{r:.3f}' for r in comparison.ratios)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-root", required=True, help="folder holding MNIST/raw/")
    parser.add_argument("--pairs", type=int, default=3, help="pairs per comparison (3)")
    args = parser.parse_args(argv)
    python = [sys.executable, "-c"]
    fact = [*python, FACT.format(root=args.mnist_root)]
    baselines = {
        "tutorial loop": [*python, TUTORIAL.format(root=args.mnist_root)],
        "bare compute": [*python, BARE],
    }
    for name, baseline in baselines.items():
        comparison = interleave(name, fact, baseline, args.pairs)
        print(describe(comparison, TARGETS[name]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
