"""`rnnspec repeat`: run the suite several times in random orders and report the tests that flake.

    rnnspec repeat --runs 5 [--seed S] [pytest args...]

Run i (from 0) uses seed S + i twice: as pytest-randomly's `--randomly-seed`
(the order of modules, classes and tests, and `random.seed` before each test)
and as `PYTHONHASHSEED` (the iteration order of sets and dicts of strings).
pytest.ini turns pytest-randomly off (`-p no:randomly` in addopts) so that an
ordinary run keeps file order; `-p randomly` on the command line comes after
addopts and turns it back on. Each run writes a JUnit XML file, from which
every test's outcome is read; a test whose outcome differs between runs is
flaky, and the output says how to replay each order.

Exit status: 0 when every run agrees on every test and none failed; 1 when a
test's outcome varied (a flake); 2 when a run produced no results (pytest
could not start or collect); 3 when there is no flake but some tests failed
in every run.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rnnspec.schema import ERROR, FAILED, PASSED, SKIPPED

ABSENT = "absent"  # the test was not in that run's results


@dataclass
class Run:
    """One pytest run: its seed, exit status, and every test's outcome."""

    seed: int
    exitstatus: int
    outcomes: dict[str, str] = field(default_factory=dict)  # test id -> one of JUNIT_OUTCOMES
    seconds: float = 0.0

    @property
    def produced_results(self) -> bool:
        return bool(self.outcomes)


def pytest_command(seed: int, pytest_args: Sequence[str], junit: Path) -> list[str]:
    """The pytest command line of one run: random order with `seed`, results into `junit`."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "randomly",
        f"--randomly-seed={seed}",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit2",
        *pytest_args,
    ]


def run_pytest(seed: int, pytest_args: Sequence[str], junit: Path) -> int:
    """Run pytest once in a fresh process with PYTHONHASHSEED=seed; return its exit status."""
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    return subprocess.run(pytest_command(seed, pytest_args, junit), env=env, check=False).returncode


# A JUnit test case's child element -> its outcome, worst first (a test without one passed).
JUNIT_OUTCOMES = {"failure": FAILED, "error": ERROR, "skipped": SKIPPED}


def read_outcomes(junit: Path) -> dict[str, str]:
    """Each test's outcome in a JUnit XML file: one of JUNIT_OUTCOMES' or PASSED (JUnit
    reports xfail as skipped)."""
    if not junit.is_file():
        return {}
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        tags = {child.tag for child in case}
        outcome = next((o for tag, o in JUNIT_OUTCOMES.items() if tag in tags), PASSED)
        # A test that passes and then errors in teardown appears twice; the worse one counts.
        if outcomes.get(test_id) in (None, PASSED, SKIPPED):
            outcomes[test_id] = outcome
    return outcomes


def find_flakes(runs: Sequence[Run]) -> dict[str, list[str]]:
    """Tests whose outcome was not the same in every run that produced results: id -> outcomes."""
    complete = [run for run in runs if run.produced_results]
    tests = sorted({test for run in complete for test in run.outcomes})
    flakes = {}
    for test in tests:
        outcomes = [run.outcomes.get(test, ABSENT) for run in complete]
        if len(set(outcomes)) > 1:
            flakes[test] = outcomes
    return flakes


def replay_command(seed: int, pytest_args: Sequence[str]) -> str:
    args = ["python", "-m", "pytest", "-p", "randomly", f"--randomly-seed={seed}", *pytest_args]
    return f"PYTHONHASHSEED={seed} " + shlex.join(args)


def summarize(runs: Sequence[Run], pytest_args: Sequence[str]) -> tuple[list[str], int]:
    """The report's lines and the exit status (see the module docstring)."""
    flakes = find_flakes(runs)
    complete = [run for run in runs if run.produced_results]
    broken = [run for run in runs if not run.produced_results]
    tests = {test for run in complete for test in run.outcomes}
    always_failed = sorted(
        test
        for test in tests
        if test not in flakes and complete[0].outcomes.get(test) in (FAILED, ERROR)
    )
    lines = [
        f"rnnspec repeat: {len(runs)} runs, {len(tests)} tests, {len(flakes)} flaky, "
        f"{len(always_failed)} failed in every run, {len(broken)} runs without results"
    ]
    for test, outcomes in flakes.items():
        by_outcome: dict[str, list[int]] = {}
        for run, outcome in zip(complete, outcomes, strict=True):
            by_outcome.setdefault(outcome, []).append(run.seed)
        seen = "; ".join(
            f"{outcome} with seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
            for outcome, seeds in sorted(by_outcome.items())
        )
        lines.append(f"FLAKY {test}: {seen}")
    if flakes:
        bad_seed = next(
            run.seed
            for run in complete
            if any(run.outcomes.get(t, ABSENT) not in (PASSED, SKIPPED) for t in flakes)
        )
        lines.append(f"replay a failing order: {replay_command(bad_seed, pytest_args)}")
    for test in always_failed:
        lines.append(f"FAILED IN EVERY RUN {test}")
    for run in broken:
        lines.append(
            f"NO RESULTS from the run with seed {run.seed} (pytest exit status {run.exitstatus})"
        )
    if flakes:
        return lines, 1
    if broken:
        return lines, 2
    if always_failed:
        return lines, 3
    return lines, 0


def repeat(
    runs: int,
    pytest_args: Sequence[str],
    seed: int | None = None,
    junit_dir: Path | None = None,
    runner: Callable[[int, Sequence[str], Path], int] | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Run pytest `runs` times, seeds `seed`, `seed + 1`, ...; print the summary; return the status.

    `runner(seed, pytest_args, junit_path)` runs one pass and returns its exit
    status (default: `run_pytest`, a fresh process).
    """
    runner = run_pytest if runner is None else runner
    if runs < 2:
        raise ValueError(f"--runs must be at least 2 to compare runs, got {runs}")
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31 - runs)
    seeds = list(range(seed, seed + runs))
    out(
        f"rnnspec repeat: {runs} runs with seeds {seeds[0]}..{seeds[-1]} "
        "(--randomly-seed and PYTHONHASHSEED)"
    )
    with tempfile.TemporaryDirectory(prefix="rnnspec-repeat-") as tmp:
        folder = Path(junit_dir) if junit_dir is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        for index, run_seed in enumerate(seeds, 1):
            junit = folder / f"run-{index}-seed-{run_seed}.xml"
            junit.unlink(missing_ok=True)
            started = time.perf_counter()
            status = runner(run_seed, pytest_args, junit)
            run = Run(run_seed, status, read_outcomes(junit), time.perf_counter() - started)
            counts: dict[str, int] = {}
            for outcome in run.outcomes.values():
                counts[outcome] = counts.get(outcome, 0) + 1
            tally = (
                ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no results"
            )
            out(f"run {index}/{runs} seed {run_seed}: exit {status}, {tally} ({run.seconds:.1f} s)")
            results.append(run)
    lines, status = summarize(results, pytest_args)
    for line in lines:
        out(line)
    return status


def register(sub: argparse._SubParsersAction) -> None:
    """The `repeat` subcommand of `rnnspec`."""
    parser = sub.add_parser(
        "repeat",
        help="run the suite N times in random orders and report tests whose outcome varies",
        description=__doc__.split("\n\n", 2)[2],
        epilog="Extra arguments go to pytest, e.g. tests/ -m 'not slow' -n 2.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # --r, --se... belong to pytest, not to this parser
    )
    parser.add_argument("--runs", type=int, default=5, help="how many runs (default 5)")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the first run (default: a random one)"
    )
    parser.add_argument("--junit-dir", default=None, help="keep each run's JUnit XML file here")
    parser.set_defaults(func=cmd_repeat)


def cmd_repeat(args: argparse.Namespace, extra: Sequence[str]) -> int:
    junit_dir = Path(args.junit_dir) if args.junit_dir else None
    return repeat(args.runs, list(extra), seed=args.seed, junit_dir=junit_dir)
