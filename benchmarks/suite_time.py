"""The suite's own time: the main job, the test command and the fast part against the fp32 LSTM
fact alone, run in turns, with medians and the ratios taken round by round.

    uv run python -m benchmarks.suite_time --mnist-root DIR [--rounds 3] [--without-test-command]

The LSTM fact alone is the yardstick: the longest training, float32 MNIST LSTM of seed 004,
bounds every run (on two cores the main job cannot beat it). Each round runs, one after the
other in fresh processes: the LSTM fact alone, the main job, the test command (unless left
out: it takes minutes), the fast part; the ratios of a round share that round's machine
speed. Printed per command: the median wall time and CPU time (user + sys of every process
it started), and the median ratio to the LSTM fact with its goal. The commands are the
README's, as a user types them; stdout is discarded, a failing command stops the run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Command:
    name: str
    argv: tuple[str, ...]
    goal_ratio: float | None = None  # at most this many times the LSTM fact alone
    goal_seconds: float | None = None  # under this many seconds of wall time
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def commands(mnist_root: str, test_command: bool) -> list[Command]:
    check = ("uv", "run", "rnnspec", "check")
    found = [
        Command(
            "the fp32 LSTM fact alone",
            (
                *check,
                "--mnist-root",
                mnist_root,
                "-k",
                "test_lstm_passes_95_percent_after_two_epochs",
            ),
        ),
        Command("the main job", (*check, "-n", "auto", "--mnist-root", mnist_root), goal_ratio=1.5),
    ]
    if test_command:
        found.append(
            Command(
                "the test command",
                ("uv", "run", "pytest", "-n", "auto"),
                goal_ratio=2.5,
                env={"RNNSPEC_MNIST_ROOT": mnist_root},
            )
        )
    found.append(
        Command(
            "the fast part",
            ("uv", "run", "pytest", "-n", "auto", "-m", "not slow"),
            goal_seconds=20.0,
        )
    )
    return found


def timed(command: Command) -> tuple[float, float]:
    """Run `command` to completion (it must exit 0): its wall seconds, and the CPU seconds
    (user + sys) of every process it started and waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command.argv, check=True, stdout=subprocess.DEVNULL, env={**os.environ, **command.env}
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def report(found: dict[str, Timings], plan: Sequence[Command]) -> list[str]:
    yardstick = found[plan[0].name].wall
    lines = []
    for command in plan:
        times = found[command.name]
        line = (
            f"{command.name}: median {statistics.median(times.wall):.1f} s wall, "
            f"{statistics.median(times.cpu):.1f} s CPU "
            f"(walls {', '.join(f'{w:.1f}' for w in times.wall)})"
        )
        if command.goal_ratio is not None:
            ratio = statistics.median(w / y for w, y in zip(times.wall, yardstick, strict=True))
            met = "met" if ratio <= command.goal_ratio else "MISSED"
            line += f"; {ratio:.2f}x the LSTM fact (goal <= {command.goal_ratio}x: {met})"
        if command.goal_seconds is not None:
            met = "met" if statistics.median(times.wall) < command.goal_seconds else "MISSED"
            line += f" (goal < {command.goal_seconds:.0f} s: {met})"
        lines.append(line)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-root", required=True, help="folder holding MNIST/raw/")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every command (3)")
    parser.add_argument(
        "--without-test-command", action="store_true", help="leave the test command out"
    )
    args = parser.parse_args(argv)
    plan = commands(os.path.abspath(args.mnist_root), not args.without_test_command)
    found = {command.name: Timings() for command in plan}
    for round_number in range(1, args.rounds + 1):
        for command in plan:
            wall, cpu = timed(command)
            found[command.name].wall.append(wall)
            found[command.name].cpu.append(cpu)
            print(f"round {round_number}: {command.name} {wall:.1f} s, {cpu:.1f} s CPU", flush=True)
    print("\n".join(report(found, plan)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
