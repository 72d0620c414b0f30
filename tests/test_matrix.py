"""`rnnspec matrix`: the uv commands, statuses, benchmark rounds and merged pages, with a fake uv.

`FakeUv` stands in for every command the matrix runs (`uv run ... -- python -c
VERSIONS`, `... python -m rnnspec check`, `... python -m pytest benchmarks/...`),
records them, and answers as the real ones would: the versions line, a report.json
with the outcomes the test chose, a pytest-benchmark JSON. No environment is built
and nothing is downloaded; only the tests marked `slow` start real processes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from rnnspec.schema import STATUS_CRASHED as CRASHED
from rnnspec.schema import STATUS_ENVIRONMENT as INCOMPLETE
from rnnspec.schema import STATUS_FAILED as FAILED
from rnnspec.schema import STATUS_NO_FACTS as NO_FACTS
from rnnspec.schema import STATUS_NOT_INSTALLED as NOT_INSTALLED
from rnnspec.schema import STATUS_PASSED as PASSED
from rnnspec.schema import STATUS_TIMED_OUT as TIMED_OUT
from rnnspec.schema import Report, release_status
from rnnspec.tool import bench, compare, matrix
from rnnspec.tool.matrix import (
    ALL_RELEASES,
    DEFAULT_RELEASES,
    ONNX_PACKAGES,
    REPO,
    VERSIONS,
    CommandResult,
    MatrixConfig,
    requirements,
    run_command,
    run_matrix,
)

FORWARD = "test_forward[cpu-lstm-2x128-seed004]"


def make_report(folder: Path, torch: str, outcomes: dict[str, str], verdict: str) -> None:
    """A schema-2 report.json with one fact row per outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    facts = [{"id": i, "topic": i.split("::")[0], "outcome": o} for i, o in outcomes.items()]
    summary = {o: list(outcomes.values()).count(o) for o in ("passed", "failed", "skipped")}
    payload = {"schema": 2, "torch": torch, "verdict": verdict, "summary": summary}
    (folder / "report.json").write_text(json.dumps({**payload, "facts": facts}))


class FakeUv:
    """A Runner that pretends to be `uv run` with the versions probe, the suite and the timings."""

    def __init__(
        self,
        outcomes: dict[str, dict[str, str]] | None = None,
        *,
        unresolvable: Sequence[str] = (),
        onnx_unresolvable: Sequence[str] = (),
        install_timeouts: Sequence[str] = (),
        suite_exit: dict[str, int | None] | None = None,
        timeouts: Sequence[str] = (),
        medians: dict[str, Sequence[float]] | None = None,
    ) -> None:
        self.outcomes = outcomes or {}
        self.unresolvable = unresolvable  # no environment at all
        self.onnx_unresolvable = onnx_unresolvable  # resolves only without the ONNX packages
        self.install_timeouts = install_timeouts
        self.suite_exit = suite_exit or {}  # the suite exits so, without a report
        self.timeouts = timeouts  # the suite runs out of time
        self.medians = medians or {}  # per release, the median of each successive round
        self.verdict: dict[str, str] = {}  # per release, the report's verdict when not derived
        self.calls: list[list[str]] = []
        self.envs: list[dict[str, str]] = []

    def __call__(
        self, argv: Sequence[str], *, cwd: Path, timeout: float, log: Path, env: dict[str, str]
    ) -> CommandResult:
        argv = list(argv)
        self.calls.append(argv)
        self.envs.append(env)
        assert argv[:4] == ["uv", "run", "--isolated", "--no-project"], argv
        assert cwd == REPO
        assert env["PYTHONPATH"] == str(REPO)
        (release,) = [a.removeprefix("torch==") for a in argv if a.startswith("torch==")]
        command = argv[argv.index("--") + 1 :]
        if command == ["python", "-c", VERSIONS]:
            return self.versions(argv, release)
        if command[:4] == ["python", "-m", "pytest", "benchmarks/test_bench_models.py"]:
            (option,) = [a for a in argv if a.startswith("--benchmark-json=")]
            series = self.medians.get(release, [0.01])
            median = series[(len(self.of("bench", release)) - 1) % len(series)]
            bench_json = {
                "benchmarks": [{"name": FORWARD, "fullname": FORWARD, "stats": {"median": median}}]
            }
            Path(option.removeprefix("--benchmark-json=")).write_text(json.dumps(bench_json))
            return CommandResult(argv, 0, "1 passed", 2.0)
        assert command[:4] == ["python", "-m", "rnnspec", "check"], argv
        if release in self.timeouts:
            if release in self.outcomes:  # rnnspec check wrote its report on SIGTERM
                (option,) = [a for a in argv if a.startswith("--report-dir=")]
                folder = Path(option.removeprefix("--report-dir="))
                make_report(folder, release, self.outcomes[release], "failed")
            return CommandResult(argv, -9, "killed", timeout, timed_out=True)
        if release in self.suite_exit:
            return CommandResult(argv, self.suite_exit[release], "INTERNALERROR> boom", 3.0)
        (option,) = [a for a in argv if a.startswith("--report-dir=")]
        outcomes = self.outcomes.get(release, {"specs/pytorch/test_a.py::test_a": "passed"})
        failed = "failed" in outcomes.values()
        verdict = self.verdict.get(release, "failed" if failed else "passed")
        make_report(Path(option.removeprefix("--report-dir=")), release, outcomes, verdict)
        return CommandResult(argv, int(failed), "== done ==", 5.0)

    def versions(self, argv: list[str], release: str) -> CommandResult:
        with_onnx = any(a.startswith("onnx") for a in argv)
        if release in self.install_timeouts:
            return CommandResult(argv, -9, "Downloading torch", 1.0, timed_out=True)
        if release in self.unresolvable or (release in self.onnx_unresolvable and with_onnx):
            error = "error: No solution found when resolving `--with` dependencies"
            return CommandResult(argv, 1, f"{error}\n  cause: torch=={release}\n", 0.2)
        found = {"torch": release, "torchvision": "0.0.1", "numpy": "1.26.4", "pytest": "9.1.1"}
        found |= {p: ("1.0" if with_onnx else None) for p in ONNX_PACKAGES}
        return CommandResult(argv, 0, f"Installed 60 packages\n{json.dumps(found)}\n", 1.0)

    def of(self, kind: str, release: str | None = None) -> list[list[str]]:
        """The calls of one kind (versions, suite, bench), optionally of one release."""
        marks = {
            "versions": VERSIONS,
            "suite": "rnnspec",
            "bench": "benchmarks/test_bench_models.py",
        }
        return [
            c
            for c in self.calls
            if marks[kind] in c and (release is None or f"torch=={release}" in c)
        ]


@pytest.fixture(autouse=True)
def _no_heatmap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The heat-map is tested in test_compare.py; here it would only cost matplotlib's start-up."""
    monkeypatch.setattr(compare, "plot_heatmap", lambda releases, path: path.write_bytes(b""))


def config_for(tmp_path: Path, releases: Sequence[str], **overrides: object) -> MatrixConfig:
    settings: dict[str, object] = {"out": tmp_path / "out", "bench_rounds": 0}
    return MatrixConfig(releases=list(releases), **(settings | overrides))  # type: ignore[arg-type]


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="rnnspec")
    matrix.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_known_args(["matrix", *argv])


# ----------------------------------------------------------------------------------------------
# The environments: what uv is asked for


@pytest.mark.parametrize(
    ("release", "numpy"),
    [
        ("2.0.1", "numpy<2"),
        ("2.2.2", "numpy<2"),
        ("2.3.1", "numpy>=1.26"),
        ("2.15.0", "numpy>=1.26"),
    ],
)
def test_requirements_pin_torch_and_numpy_1_before_2_3(release: str, numpy: str) -> None:
    """torch before 2.3 was built against NumPy 1 ("Numpy is not available" with NumPy 2)."""
    found = requirements(release, REPO)
    assert found[:3] == [f"torch=={release}", "torchvision", numpy]  # torchvision: the resolver's
    assert not [r for r in found[3:] if r.startswith(("torch", "numpy"))]  # none from pyproject
    assert "pytest-xdist>=3.6" in found
    assert "onnxscript>=0.1" in found


def test_requirements_without_onnx_drop_exactly_the_onnx_packages() -> None:
    full, without = requirements("2.6.0", REPO), requirements("2.6.0", REPO, onnx=False)
    dropped = [r for r in full if r not in without]
    assert sorted(Requirement(r).name for r in dropped) == sorted(ONNX_PACKAGES)


def test_every_command_of_a_release_asks_uv_for_one_environment(tmp_path: Path) -> None:
    """uv reuses an environment for the same requirements: the suite and the timings ask for
    exactly what the first command resolved, offline; only that one may reinstall."""
    fake = FakeUv()
    run_matrix(config_for(tmp_path, ["2.6.0"], bench_rounds=2, rebuild=True), fake)
    (versions,) = fake.of("versions")
    later = fake.of("suite") + fake.of("bench")
    assert len(later) == 3
    with_args = [c for c in fake.calls[0] if c.startswith(("torch", "numpy", "onnx"))]
    assert with_args[:3] == ["torch==2.6.0", "torchvision", "numpy>=1.26"]
    assert "--reinstall" in versions
    assert "--offline" not in versions
    for call in later:
        head = call[: call.index("--")]
        assert "--offline" in head
        assert "--reinstall" not in head
        assert [a for a in head if a != "--offline"] == [
            a for a in versions[: versions.index("--")] if a != "--reinstall"
        ]


def test_a_release_that_cannot_be_installed_is_not_a_pass(tmp_path: Path) -> None:
    fake = FakeUv(unresolvable=["2.6.0"])
    runs = run_matrix(config_for(tmp_path, ["2.5.1", "2.6.0"]), fake)
    assert [r.status for r in runs] == [PASSED, NOT_INSTALLED]
    assert "No solution found when resolving" in (runs[1].error or "")
    assert runs[1].report is None
    assert fake.of("suite", "2.6.0") == []  # no suite runs in an environment that is not there
    assert len(fake.of("versions", "2.6.0")) == 2  # with and without the ONNX packages
    page = (tmp_path / "out" / "comparison.md").read_text()
    assert "| 2.6.0 | not installed |" in page
    assert "No solution found" in page


def test_onnx_packages_that_do_not_resolve_are_left_out_and_said(tmp_path: Path) -> None:
    (run,) = run_matrix(config_for(tmp_path, ["2.0.1"]), FakeUv(onnx_unresolvable=["2.0.1"]))
    assert run.status == PASSED
    assert run.without == list(ONNX_PACKAGES)
    assert run.installed["onnxscript"] is None
    assert run.installed["torch"] == "2.0.1"
    assert "No solution found" in (run.error or "")
    assert "without onnx" in (run.error or "")
    assert not [a for a in run.requirements if a.startswith("onnx")]
    saved = json.loads((tmp_path / "out" / "matrix.json").read_text())
    assert saved["releases"][0]["without"] == list(ONNX_PACKAGES)


def test_an_install_that_times_out_is_not_retried(tmp_path: Path) -> None:
    fake = FakeUv(install_timeouts=["2.6.0"])
    (run,) = run_matrix(config_for(tmp_path, ["2.6.0"]), fake)
    assert run.status == NOT_INSTALLED
    assert "timed out" in (run.error or "")
    assert len(fake.calls) == 1


def test_the_versions_uv_resolved_are_recorded(tmp_path: Path) -> None:
    (run,) = run_matrix(config_for(tmp_path, ["2.2.2"]), FakeUv())
    saved = json.loads((tmp_path / "out" / "matrix.json").read_text())["releases"][0]
    assert saved["installed"] == run.installed
    assert set(run.installed) == set(matrix.REPORTED)
    assert "numpy<2" in saved["requirements"]


# ----------------------------------------------------------------------------------------------
# Statuses


@pytest.mark.parametrize(
    ("code", "verdict", "status"),
    [
        (0, "passed", PASSED),
        (1, "failed", FAILED),
        (1, "passed", FAILED),  # a test outside the facts failed: never a pass
        (6, "incomplete: environment", INCOMPLETE),  # rnnspec's exit status for it
        (1, "incomplete: environment", INCOMPLETE),
        (5, "not run", NO_FACTS),
        (2, "passed", f"{CRASHED} (exit 2)"),  # interrupted: collection errors
        (3, "failed", f"{CRASHED} (exit 3)"),  # pytest's internal error
        (-11, "passed", f"{CRASHED} (exit -11)"),  # a signal
        (0, None, PASSED),  # a schema-1 report: the exit status decides
        (1, None, FAILED),
    ],
)
def test_status_of_a_suite_with_facts(code: int, verdict: str | None, status: str) -> None:
    report: dict[str, object] = {"facts": [{"id": "specs/t.py::test_a", "outcome": "passed"}]}
    if verdict is not None:
        report["verdict"] = verdict
    assert release_status(code, Report.from_data(report)) == status


@pytest.mark.parametrize(
    ("code", "status"), [(5, NO_FACTS), (1, f"{CRASHED} (no facts collected)")]
)
def test_status_of_a_suite_without_facts(code: int, status: str) -> None:
    """Under xdist a collection error exits 1, like a failure; with no fact it checked nothing."""
    assert release_status(code, Report.from_data({"verdict": "not run", "facts": []})) == status


def test_the_matrix_runs_each_release_and_merges_the_reports(tmp_path: Path) -> None:
    fake = FakeUv(
        outcomes={
            "2.5.1": {
                "specs/pytorch/t.py::test_a": "passed",
                "specs/pytorch/t.py::test_b": "passed",
            },
            "2.6.0": {
                "specs/pytorch/t.py::test_a": "failed",
                "specs/pytorch/t.py::test_b": "passed",
            },
        }
    )
    config = config_for(
        tmp_path, ["2.5.1", "2.6.0"], pytest_args=["-m", "not slow"], mnist_root=tmp_path / "data"
    )
    runs = run_matrix(config, fake)
    assert [(r.torch, r.status) for r in runs] == [("2.5.1", PASSED), ("2.6.0", FAILED)]
    suite = fake.of("suite", "2.5.1")[0]
    assert suite[suite.index("--") + 1 :] == [
        "python",
        "-m",
        "rnnspec",
        "check",
        f"--report-dir={(tmp_path / 'out' / 'torch-2.5.1').resolve()}",
        f"--mnist-root={(tmp_path / 'data').resolve()}",
        "-m",
        "not slow",
    ]
    saved = json.loads((tmp_path / "out" / "matrix.json").read_text())
    assert [(r["torch"], r["status"]) for r in saved["releases"]] == [
        ("2.5.1", PASSED),
        ("2.6.0", FAILED),
    ]
    assert all(Path(r["report"]).exists() for r in saved["releases"])
    page = (tmp_path / "out" / "comparison.md").read_text()
    assert "2.5.1 → 2.6.0" in page or "2.5.1 -> 2.6.0" in page
    assert "test_a" in page


@pytest.mark.parametrize(
    ("fake", "status"),
    [
        pytest.param(FakeUv(suite_exit={"2.6.0": 3}), CRASHED, id="internal-error-no-report"),
        pytest.param(FakeUv(suite_exit={"2.6.0": None}), CRASHED, id="could-not-start"),
        pytest.param(FakeUv(timeouts=["2.6.0"]), TIMED_OUT, id="timeout"),
    ],
)
def test_a_suite_that_ends_without_a_report_is_recorded(
    tmp_path: Path, fake: FakeUv, status: str
) -> None:
    (run,) = run_matrix(config_for(tmp_path, ["2.6.0"], timeout=7.0), fake)
    assert run.status == status
    assert run.report is None
    assert run.error


def test_a_suite_stopped_at_its_limit_keeps_the_facts_its_report_names(tmp_path: Path) -> None:
    """Red if a release that hung shows only "timed out" on the page: the report that rnnspec
    check wrote on SIGTERM names the fact that crashed, the one that hung, those not run."""
    outcomes = {
        "specs/pytorch/test_a.py::test_a": "passed",
        "specs/pytorch/test_a.py::test_segfaults": "crashed",
        "specs/pytorch/test_a.py::test_hangs": "timed out",
        "specs/pytorch/test_a.py::test_after": "not run",
    }
    before = dict.fromkeys(outcomes, "passed")
    fake = FakeUv({"2.5.1": before, "2.6.0": outcomes}, timeouts=["2.6.0"])
    old, new = run_matrix(config_for(tmp_path, ["2.5.1", "2.6.0"]), fake)
    assert (old.status, new.status) == ("passed", TIMED_OUT)
    assert new.report is not None
    page = (tmp_path / "out" / "comparison.md").read_text()
    assert "| 2.6.0 | timed out | 1 | 0 | 1 | 1 | 0 | 0 | 1 | 0 |" in page
    for fact in ("test_segfaults", "test_hangs"):
        assert f"regression: `specs/pytorch/test_a.py::{fact}`: passed → " in page


def test_a_stale_report_never_passes_for_a_crashed_run(tmp_path: Path) -> None:
    run_matrix(config_for(tmp_path, ["2.6.0"]), FakeUv())
    (run,) = run_matrix(config_for(tmp_path, ["2.6.0"]), FakeUv(suite_exit={"2.6.0": 3}))
    assert run.status == CRASHED
    assert not (tmp_path / "out" / "torch-2.6.0" / "report.json").exists()


def test_an_incomplete_environment_is_neither_a_pass_nor_a_failure(tmp_path: Path) -> None:
    fake = FakeUv()
    fake.verdict["2.6.0"] = "incomplete: environment"
    (run,) = run_matrix(config_for(tmp_path, ["2.6.0"]), fake)
    assert run.status == INCOMPLETE


# ----------------------------------------------------------------------------------------------
# Benchmarks: interleaved rounds and the noise band


def test_bench_rounds_go_round_robin_over_the_releases(tmp_path: Path) -> None:
    fake = FakeUv()
    run_matrix(config_for(tmp_path, ["2.5.1", "2.6.0"], bench_rounds=3), fake)
    order = [next(a for a in c if a.startswith("torch==")) for c in fake.of("bench")]
    assert order == ["torch==2.5.1", "torch==2.6.0"] * 3
    bench_envs = [e for c, e in zip(fake.calls, fake.envs, strict=True) if c in fake.of("bench")]
    assert {e["OMP_NUM_THREADS"] for e in bench_envs} == {"1"}


def test_bench_medians_and_bands_are_merged_into_each_report(tmp_path: Path) -> None:
    fake = FakeUv(medians={"2.6.0": [0.010, 0.012, 0.011], "2.7.1": [0.020, 0.020, 0.022]})
    runs = run_matrix(config_for(tmp_path, ["2.6.0", "2.7.1"], bench_rounds=3), fake)
    for run in runs:
        (entry,) = json.loads(Path(run.report or "").read_text())["benchmarks"]
        assert entry == run.benchmarks[0]
        assert entry["name"] == FORWARD
        assert entry["threads"] == 1
    first, second = (r.benchmarks[0] for r in runs)
    assert first["rounds_s"] == [0.010, 0.012, 0.011]
    assert first["median_s"] == pytest.approx(0.011)
    assert first["noise_band"] == pytest.approx(0.002 / 0.011)
    assert second["median_s"] == pytest.approx(0.020)
    page = (tmp_path / "out" / "comparison.md").read_text()
    assert "1.82x" in page  # the comparison page shows the change: it is beyond both bands


@pytest.mark.parametrize(
    ("rounds", "median", "band"),
    [
        ([[0.010]], 0.010, None),  # one round: no spread, no band
        ([[0.010], [0.014]], 0.012, 0.004 / 0.012),
        ([[0.010], [0.030], [0.011], [0.012]], 0.0115, 0.020 / 0.0115),  # an outlier round
    ],
)
def test_summarise_rounds_takes_the_median_and_the_relative_spread(
    rounds: list[list[float]], median: float, band: float | None
) -> None:
    entries = [[{"name": FORWARD, "median_s": seconds} for seconds in one] for one in rounds]
    (entry,) = bench.summarise_rounds(entries)
    assert entry["median_s"] == pytest.approx(median)
    assert entry["noise_band"] == (None if band is None else pytest.approx(band))
    assert entry["rounds_s"] == [one[0] for one in rounds]


@pytest.mark.parametrize(
    ("before", "after", "ratio"),
    [
        ((0.010, 0.10), (0.0108, 0.05), None),  # 8% slower, inside the wider band (10%)
        ((0.010, 0.05), (0.0114, 0.05), 1.14),  # 14% slower, beyond both bands (#151037's size)
        ((0.010, 0.05), (0.0080, 0.02), 0.8),  # faster counts too
        ((0.010, None), (0.0200, 0.05), None),  # one round: no band, no claim
    ],
)
def test_beyond_noise_compares_against_the_wider_band(
    before: tuple[float, float | None], after: tuple[float, float | None], ratio: float | None
) -> None:
    old = {"median_s": before[0], "noise_band": before[1]}
    new = {"median_s": after[0], "noise_band": after[1]}
    assert bench.beyond_noise(old, new) == (None if ratio is None else pytest.approx(ratio))


def test_bench_only_times_each_release_and_writes_its_own_page(tmp_path: Path) -> None:
    fake = FakeUv(medians={"2.6.0": [0.010, 0.0105], "2.7.1": [0.0114, 0.0116]})
    args, extra = parse(
        ["--torch", "2.6.0", "2.7.1", "--bench-only", "--bench-rounds", "2", "--out", str(tmp_path)]
    )
    assert matrix.cmd_matrix(args, extra, runner=fake) == 0
    assert fake.of("suite") == []
    page = (tmp_path / "benchmarks.md").read_text()
    assert f"- `{FORWARD}`: 2.6.0 → 2.7.1: 1.12x (slower)" in page
    assert not (tmp_path / "comparison.md").exists()


def test_bench_only_within_noise_claims_no_change(tmp_path: Path) -> None:
    runs = run_matrix(
        config_for(tmp_path, ["2.6.0", "2.7.1"], bench_rounds=2, bench_only=True),
        FakeUv(medians={"2.6.0": [0.010, 0.013], "2.7.1": [0.011, 0.012]}),
    )
    assert all(r.benchmarks for r in runs)
    assert "\n- none\n" in (tmp_path / "out" / "benchmarks.md").read_text() + "\n"


# ----------------------------------------------------------------------------------------------
# Release lists and the command line


def test_all_releases_are_one_per_minor_from_2_0_oldest_first() -> None:
    from packaging.version import Version

    minors = [Version(r).minor for r in ALL_RELEASES]
    assert minors == list(range(16))
    assert {Version(r).major for r in ALL_RELEASES} == {2}
    assert sorted(ALL_RELEASES, key=Version) == list(ALL_RELEASES)


@pytest.mark.parametrize("boundary", ["2.3", "2.6", "2.11"])
def test_the_default_set_spans_each_known_boundary(boundary: str) -> None:
    """Each release where a fact changed lies between two adjacent releases of the default set,
    so the default matrix shows it at one pair."""
    from packaging.version import Version

    assert set(DEFAULT_RELEASES) <= set(ALL_RELEASES)
    pairs = itertools.pairwise(Version(r) for r in DEFAULT_RELEASES)
    assert any(old < Version(boundary) <= new for old, new in pairs)


def test_all_runs_every_release_in_order(tmp_path: Path) -> None:
    fake = FakeUv()
    args, extra = parse(["--all", "--bench-rounds", "0", "--out", str(tmp_path)])
    assert matrix.cmd_matrix(args, extra, runner=fake) == 0
    suites = [next(a for a in c if a.startswith("torch==")) for c in fake.of("suite")]
    assert suites == [f"torch=={r}" for r in ALL_RELEASES]
    numpy_1 = [c for c in fake.of("suite") if "numpy<2" in c]
    assert len(numpy_1) == 3  # 2.0.1, 2.1.2, 2.2.2


def test_command_line_orders_releases_and_passes_pytest_args(tmp_path: Path) -> None:
    fake = FakeUv()
    argv = ["--torch", "2.10.0,2.9.1", "2.9.1", "--bench-rounds", "0", "--out", str(tmp_path)]
    args, extra = parse([*argv, "--", "-m", "not slow", "-n", "2"])
    assert matrix.cmd_matrix(args, extra, runner=fake) == 0
    saved = json.loads((tmp_path / "matrix.json").read_text())
    assert [r["torch"] for r in saved["releases"]] == ["2.9.1", "2.10.0"]
    assert saved["pytest_args"] == ["-m", "not slow", "-n", "2"]
    assert fake.of("suite")[0][-4:] == ["-m", "not slow", "-n", "2"]


def test_command_line_defaults_to_the_default_set(tmp_path: Path) -> None:
    args, extra = parse(["--out", str(tmp_path)])
    assert args.torch is None
    assert not args.all
    fake = FakeUv()
    assert matrix.cmd_matrix(args, extra, runner=fake) == 0
    suites = [next(a for a in c if a.startswith("torch==")) for c in fake.of("suite")]
    assert suites == [f"torch=={r}" for r in DEFAULT_RELEASES]
    assert len(fake.of("bench")) == matrix.BENCH_ROUNDS * len(DEFAULT_RELEASES)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--torch", "2.x"], id="not-a-version"),
        pytest.param(["--torch", "2.6.0", "--bench-only", "--", "-k", "x"], id="bench-only-args"),
    ],
)
def test_command_line_rejects_what_it_cannot_run(argv: list[str]) -> None:
    args, extra = parse(argv)
    assert matrix.cmd_matrix(args, extra, runner=FakeUv()) == 2


def test_all_and_torch_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(["--all", "--torch", "2.6.0"])
    assert "not allowed with" in capsys.readouterr().err


def test_command_line_exits_1_when_a_release_is_not_installed(tmp_path: Path) -> None:
    args, extra = parse(["--torch", "2.6.0", "--bench-rounds", "0", "--out", str(tmp_path)])
    assert matrix.cmd_matrix(args, extra, runner=FakeUv(unresolvable=["2.6.0"])) == 1


# ----------------------------------------------------------------------------------------------
# Real processes


@pytest.mark.slow
def test_run_command_logs_output_and_kills_the_process_group_on_timeout(tmp_path: Path) -> None:
    log, env = tmp_path / "cmd.log", {"PATH": "/usr/bin:/bin"}
    done = run_command(
        [sys.executable, "-c", "print('hello')"], cwd=tmp_path, timeout=30, log=log, env=env
    )
    assert (done.ok, done.output.splitlines()[-1]) == (True, "hello")
    # A grandchild that would outlive a plain subprocess.run timeout.
    code = "import subprocess, sys, time; print('start', flush=True); "
    code += (
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    )
    killed = run_command([sys.executable, "-c", code], cwd=tmp_path, timeout=2.0, log=log, env=env)
    assert killed.timed_out
    assert not killed.ok
    assert killed.output.splitlines()[0] == "start"  # this command's output, not the log's
    assert killed.seconds < 20
    assert "stopped after 2 s" in log.read_text()
    assert (
        run_command(
            ["rnnspec-no-such-program"], cwd=tmp_path, timeout=5, log=log, env=env
        ).returncode
        is None
    )


def test_run_command_sends_sigterm_first_and_sigkill_after_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Red if a suite past its limit is killed before it could write its report (SIGTERM
    first), or survives the grace by ignoring SIGTERM (then SIGKILL)."""
    monkeypatch.setattr(matrix, "TERMINATE_GRACE_S", 0.5)
    code = (
        "import signal, time; "
        "signal.signal(signal.SIGTERM, lambda *a: print('got SIGTERM', flush=True)); "
        "print('start', flush=True); time.sleep(30)"
    )
    log, env = tmp_path / "cmd.log", {"PATH": "/usr/bin:/bin"}
    stopped = run_command([sys.executable, "-c", code], cwd=tmp_path, timeout=1.0, log=log, env=env)
    assert stopped.timed_out
    lines = stopped.output.splitlines()
    assert lines[0] == "start"
    assert lines.index("got SIGTERM") > lines.index("rnnspec matrix: stopped after 1 s")
    assert stopped.returncode == -signal.SIGKILL
    assert stopped.seconds < 15


def _cached_release() -> str | None:
    """The torch running these tests, if uv can build its matrix environment offline."""
    from rnnspec.releases import torch_release

    if shutil.which("uv") is None:
        return None
    release = str(torch_release())
    argv = [*matrix.uv_run(requirements(release, REPO), offline=True), "python", "-c", "pass"]
    env = matrix.child_environment(REPO)
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, timeout=600, check=False)
    return release if done.returncode == 0 else None


@pytest.mark.slow
def test_one_release_end_to_end_in_uvs_cached_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real uv reuses the cached environment offline and the suite writes a report."""
    release = _cached_release()
    if release is None:
        pytest.skip(
            "uv's cache cannot build this torch's matrix environment offline; "
            "run `rnnspec matrix --torch <this release>` once"
        )
    monkeypatch.setenv("UV_OFFLINE", "1")  # uv reads it: nothing is downloaded
    selection = [
        "rnnspec/specs/pytorch/test_dropout.py",
        "-m",
        "not slow",
        "-p",
        "no:randomly",
        "-q",
    ]
    config = MatrixConfig(releases=[release], out=tmp_path, pytest_args=selection, bench_rounds=0)
    (run,) = run_matrix(config)
    assert run.status in (PASSED, FAILED), run.error
    assert run.installed["torch"] == release
    report = json.loads(Path(run.report or "").read_text())
    assert report["torch"].startswith(release)
    assert report["facts"]


def test_clean_cache_empties_uvs_cache_after_each_release(tmp_path: Path) -> None:
    """Red if `--clean-cache` let the releases' CUDA builds pile up in uv's cache, or emptied
    it before a release's suite had run."""
    fake, order = FakeUv(), []

    def runner(argv: Sequence[str], **kwargs: Any) -> CommandResult:
        if list(argv) == ["uv", "cache", "clean", "--force"]:
            order.append("clean")
            return CommandResult(list(argv), 0, "Removed 12 GiB", 1.0)
        result = fake(argv, **kwargs)
        if "check" in argv:
            order.append(next(a for a in argv if a.startswith("torch==")))
        return result

    args, extra = parse(
        [
            "--torch",
            "2.6.0",
            "2.7.1",
            "--clean-cache",
            "--bench-rounds",
            "0",
            "--out",
            str(tmp_path),
        ]
    )
    assert matrix.cmd_matrix(args, extra, runner=runner) == 0
    assert order == ["torch==2.6.0", "clean", "torch==2.7.1", "clean"]


def test_clean_cache_refuses_interleaved_benchmark_rounds(tmp_path: Path) -> None:
    args, extra = parse(["--torch", "2.6.0", "--clean-cache", "--out", str(tmp_path)])
    assert matrix.cmd_matrix(args, extra, runner=FakeUv()) == 2


def test_torch_takes_wheels_urls_and_requirements_under_their_own_release(tmp_path: Path) -> None:
    """`--torch` names PyPI releases, or builds from elsewhere under a release of their own.
    Red if a local wheel of 2.15.0 shared the folder of PyPI's 2.15.0, if a build's
    requirement were not what uv installs, or if a value that names no build passed."""
    from rnnspec.tool.matrix import TorchBuild, parse_builds, plan_jobs

    wheel = tmp_path / "torch-2.15.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"")
    nightly = (
        "https://download.pytorch.org/whl/nightly/cpu/"
        "torch-2.16.0.dev20261201%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    )
    builds = parse_builds(["2.15.0", str(wheel), nightly, "torch==2.16.0rc1", "2.0.1,2.4.1"])
    assert [b.release for b in builds] == [
        "2.0.1", "2.4.1", "2.15.0", "2.15.0+local", "2.16.0.dev20261201+cpu", "2.16.0rc1"
    ]  # fmt: skip
    by_release = {b.release: b.requirement for b in builds}
    assert by_release["2.15.0"] is None
    assert by_release["2.15.0+local"] == f"torch @ {wheel.as_uri()}"
    assert by_release["2.16.0.dev20261201+cpu"] == f"torch @ {nightly}"
    assert by_release["2.16.0rc1"] == "torch==2.16.0rc1"
    elsewhere = {r: q for r, q in by_release.items() if q}
    jobs = plan_jobs([b.release for b in builds], REPO, builds=elsewhere)
    assert [j.name for j in jobs][3] == "torch-2.15.0+local"
    assert jobs[3].requirements[0] == f"torch @ {wheel.as_uri()}"
    assert jobs[2].requirements[0] == "torch==2.15.0"
    for wrong in ("2.15.0.whl", str(tmp_path / "missing.whl"), "torch>=2.1", "numpy==2.0"):
        with pytest.raises(argparse.ArgumentTypeError):
            TorchBuild.parse(wrong)
