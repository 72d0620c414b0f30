"""How long a process with torch, dynamo, inductor and onnx loaded takes to exit, with and
without the interpreter's module teardown (rnnspec.tool.plugin.guard.leave_without_teardown,
which every rnnspec xdist worker runs as it ends).

    uv run python -m benchmarks.worker_exit [--rounds 5]

Each round starts two fresh processes that compile an LSTM and export it to ONNX (what a
worker of the fast part has loaded), then exit either way; the time from the child's last
statement to its end is measured by the parent. Prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import atexit, sys, time, warnings
import torch
from torch import nn
warnings.simplefilter("ignore")
model, x = nn.LSTM(4, 8), torch.randn(3, 2, 4)
torch.compile(model)(x)
torch.onnx.export(model, (x,), sys.argv[2], dynamo=True)
if sys.argv[1] == "leave":
    from rnnspec.tool.plugin.guard import leave_without_teardown
    atexit.register(leave_without_teardown)
print("last statement at", time.time(), flush=True)
"""


def exit_seconds(how: str, folder: Path) -> float:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, how, str(folder / "lstm.onnx")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    last_statement = next(
        float(line.split()[-1]) for line in child.stdout if line.startswith("last statement at")
    )
    child.wait()
    return time.time() - last_statement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    times: dict[str, list[float]] = {"teardown": [], "leave": []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(rounds):
            for how in times:  # interleaved, so that a slower minute costs both alike
                times[how].append(exit_seconds(how, Path(folder)))
    medians = {how: statistics.median(seconds) for how, seconds in times.items()}
    for how, seconds in times.items():
        shown = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"exit with {how:8}: median {medians[how]:.2f} s ({shown})")
    print(f"ratio: {medians['teardown'] / medians['leave']:.1f}x")


if __name__ == "__main__":
    main()
