"""`rnnspec repeat` finds tests whose outcome depends on test order or on PYTHONHASHSEED."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from rnnspec.tool import repeat as repeat_module
from rnnspec.tool.cli import main
from rnnspec.tool.repeat import find_flakes, pytest_command, read_outcomes, repeat

pytest_plugins = ["pytester"]


def write_junit(path: Path, outcomes: dict[str, str]) -> None:
    """A JUnit XML file as pytest writes it, one testcase per `module::name` -> outcome."""
    cases = []
    for test, outcome in outcomes.items():
        module, name = test.split("::")
        child = {
            "passed": "",
            "failed": '<failure message="assert 0">assert 0</failure>',
            "error": '<error message="fixture failed">boom</error>',
            "skipped": '<skipped type="pytest.skip" message="no cuda">no cuda</skipped>',
        }[outcome]
        cases.append(
            f'<testcase classname={quoteattr(module)} name={quoteattr(name)} time="0.01">'
            f"{child}</testcase>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        + "".join(cases)
        + "</testsuite></testsuites>"
    )


class FakeRunner:
    """Stands in for a pytest run: the outcomes are a function of the seed."""

    def __init__(self, outcomes_for_seed: dict[int, dict[str, str] | None]) -> None:
        self.outcomes_for_seed = outcomes_for_seed
        self.calls: list[tuple[int, list[str]]] = []

    def __call__(self, seed: int, pytest_args: Sequence[str], junit: Path) -> int:
        self.calls.append((seed, list(pytest_args)))
        outcomes = self.outcomes_for_seed[seed]
        if outcomes is None:  # pytest could not even start
            return 4
        write_junit(junit, outcomes)
        return 1 if {"failed", "error"} & set(outcomes.values()) else 0


def run_repeat(runner: FakeRunner, runs: int = 3, seed: int = 10) -> tuple[int, list[str]]:
    lines: list[str] = []
    status = repeat(runs, ["tests/", "-m", "not slow"], seed=seed, runner=runner, out=lines.append)
    return status, lines


STABLE = {"t.test_a::test_ok": "passed", "t.test_a::test_cuda": "skipped"}


def test_a_test_that_fails_in_some_orders_is_a_flake_with_its_seeds() -> None:
    runner = FakeRunner(
        {
            10: {**STABLE, "t.test_b::test_order": "passed"},
            11: {**STABLE, "t.test_b::test_order": "failed"},
            12: {**STABLE, "t.test_b::test_order": "passed"},
        }
    )
    status, lines = run_repeat(runner)
    assert status == 1
    assert [seed for seed, _ in runner.calls] == [10, 11, 12]
    assert all(args == ["tests/", "-m", "not slow"] for _, args in runner.calls)
    assert "rnnspec repeat: 3 runs, 3 tests, 1 flaky, 0 failed in every run, " in "\n".join(lines)
    assert "FLAKY t.test_b::test_order: failed with seed 11; passed with seeds 10, 12" in lines
    assert (
        "replay a failing order: PYTHONHASHSEED=11 python -m pytest -p randomly "
        "--randomly-seed=11 tests/ -m 'not slow'" in lines
    )
    assert not any("test_ok" in line or "test_cuda" in line for line in lines if "FLAKY" in line)


def test_runs_that_agree_exit_zero() -> None:
    status, lines = run_repeat(FakeRunner(dict.fromkeys((10, 11, 12), STABLE)))
    assert status == 0
    assert lines[-1].startswith("rnnspec repeat: 3 runs, 2 tests, 0 flaky, 0 failed in every run")


def test_a_test_failing_in_every_run_is_not_a_flake_but_is_not_success() -> None:
    broken = {**STABLE, "t.test_c::test_broken": "failed"}
    status, lines = run_repeat(FakeRunner(dict.fromkeys((10, 11, 12), broken)))
    assert status == 3
    assert "FAILED IN EVERY RUN t.test_c::test_broken" in lines


def test_a_test_missing_from_one_run_is_a_flake() -> None:
    runner = FakeRunner({10: STABLE, 11: {"t.test_a::test_ok": "passed"}, 12: STABLE})
    status, lines = run_repeat(runner)
    assert status == 1
    assert "FLAKY t.test_a::test_cuda: absent with seed 11; skipped with seeds 10, 12" in lines


def test_a_run_without_results_is_reported_and_fails_the_command() -> None:
    status, lines = run_repeat(FakeRunner({10: STABLE, 11: None, 12: STABLE}))
    assert status == 2
    assert "NO RESULTS from the run with seed 11 (pytest exit status 4)" in lines


def test_outcomes_are_read_from_junit_xml(tmp_path: Path) -> None:
    outcomes = {
        "m::test_p": "passed",
        "m::test_f": "failed",
        "m::test_e[param-1]": "error",
        "m::test_s": "skipped",
    }
    write_junit(tmp_path / "run.xml", outcomes)
    assert read_outcomes(tmp_path / "run.xml") == outcomes
    assert read_outcomes(tmp_path / "missing.xml") == {}


def test_find_flakes_compares_only_runs_with_results() -> None:
    runs = [
        repeat_module.Run(1, 0, {"m::t": "passed"}),
        repeat_module.Run(2, 4, {}),
        repeat_module.Run(3, 0, {"m::t": "passed"}),
    ]
    assert find_flakes(runs) == {}


def test_each_run_turns_pytest_randomly_on_with_its_seed_and_hash_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest.ini says `-p no:randomly`; a later `-p randomly` undoes it, with the run's seed."""
    seen = {}

    def fake_run(
        command: list[str], env: dict[str, str], check: bool
    ) -> subprocess.CompletedProcess:
        seen.update(command=command, env=env)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert repeat_module.run_pytest(1234, ["-x"], tmp_path / "j.xml") == 0
    command = seen["command"]
    assert command[1:5] == ["-m", "pytest", "-p", "randomly"]
    assert "--randomly-seed=1234" in command
    assert f"--junitxml={tmp_path / 'j.xml'}" in command
    assert command[-1] == "-x"
    assert seen["env"]["PYTHONHASHSEED"] == "1234"
    assert pytest_command(7, [], tmp_path / "j.xml")[4:6] == ["randomly", "--randomly-seed=7"]


def test_cli_passes_unknown_arguments_to_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = FakeRunner(dict.fromkeys((5, 6), STABLE))
    monkeypatch.setattr(repeat_module, "run_pytest", runner)
    status = main(["repeat", "--runs", "2", "--seed", "5", "tests/", "-m", "not slow", "-n", "2"])
    assert status == 0
    assert runner.calls == [
        (5, ["tests/", "-m", "not slow", "-n", "2"]),
        (6, ["tests/", "-m", "not slow", "-n", "2"]),
    ]


def test_fewer_than_two_runs_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        repeat(1, [], runner=FakeRunner({}))


ORDER_DEPENDENT = """
STATE = []

def test_first():
    STATE.append("first")

def test_second():
    assert STATE == ["first"], "test_second ran before test_first"
"""

HASH_DEPENDENT = """
def test_hash():
    assert hash("rnnspec") % 2 == 0
"""


@pytest.mark.slow
def test_real_runs_find_order_and_hash_seed_flakes(pytester: pytest.Pytester) -> None:
    """Two real pytest processes on a folder whose pytest.ini turns pytest-randomly off."""
    pytester.makeini("[pytest]\naddopts = -p no:randomly -p no:cacheprovider\n")
    pytester.makepyfile(
        test_order=ORDER_DEPENDENT, test_hash=HASH_DEPENDENT, test_fine="def test_ok():\n    pass\n"
    )
    lines: list[str] = []
    # Seed 18 runs test_second first and hashes "rnnspec" odd; seed 19 neither.
    status = repeat(2, ["-q"], seed=18, out=lines.append)
    text = "\n".join(lines)
    assert status == 1, text
    flakes = [line for line in lines if line.startswith("FLAKY")]
    assert len(flakes) == 2, text
    assert flakes[0].startswith("FLAKY test_hash::test_hash: failed with seed")
    assert flakes[1].startswith("FLAKY test_order::test_second: failed with seed")
    assert "rnnspec repeat: 2 runs, 4 tests, 2 flaky" in text
