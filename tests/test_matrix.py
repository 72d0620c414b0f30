"""`rnnspec matrix`: environments, statuses and the merged comparison, with a fake runner.

`FakeUv` stands in for every command the matrix runs (uv venv, uv pip install,
the import probe, `python -m rnnspec check`), records them, and answers as the
real ones would: the venv step creates ENV/bin/python, the probe prints the
versions, the suite writes a report.json with the outcomes the test chose. No
environment is built and nothing is downloaded; only the tests marked `slow`
start real processes.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from rnnspec import cli, compare, matrix
from rnnspec.matrix import (
    CRASHED,
    ENV_MARKER,
    NOT_INSTALLED,
    PROBE,
    REPO,
    TIMED_OUT,
    CommandResult,
    MatrixConfig,
    install_commands,
    run_command,
    run_matrix,
    runtime_dependencies,
)
from tests.test_compare import make_report

Outcomes = dict[str, str]


BENCH_NAME = "test_forward[cpu-lstm-2x128-seed004]"


class FakeUv:
    """A Runner that pretends to be uv, the probe and the suite."""

    def __init__(
        self,
        outcomes: dict[str, Outcomes] | None = None,
        broken: Sequence[str] = (),
        suite_exit: dict[str, int | None] | None = None,
        timeouts: Sequence[str] = (),
    ) -> None:
        self.outcomes = outcomes or {}
        self.broken = broken  # releases whose `uv pip install` fails
        self.suite_exit = suite_exit or {}  # releases whose suite exits so, without a report
        self.timeouts = timeouts  # releases whose suite runs out of time
        self.calls: list[list[str]] = []
        self.empty_exit = 0  # the suite's exit status when it ran no fact
        self.bench_medians = {"2.5.1": 0.010, "2.6.0": 0.013}  # seconds, by release

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        timeout: float | None,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        argv = list(argv)
        self.calls.append(argv)
        if argv[:2] == ["uv", "venv"]:
            python = Path(argv[-1]) / "bin" / "python"
            python.parent.mkdir(parents=True, exist_ok=True)
            python.touch()
            return CommandResult(argv, 0, "Creating virtual environment", 0.1)
        if argv[:3] == ["uv", "pip", "install"]:
            pinned = [a.removeprefix("torch==") for a in argv if a.startswith("torch==")]
            if pinned and pinned[0] in self.broken:
                error = f"No solution found when resolving dependencies: torch=={pinned[0]}"
                return CommandResult(argv, 1, f"  x {error}\n", 0.2)
            return CommandResult(argv, 0, "Installed 45 packages", 0.2)
        release = Path(argv[0]).parents[1].name.removeprefix("torch-")
        if argv[1:] == ["-c", PROBE]:
            found = {"torch": f"{release}+cpu", "torchvision": "0.0.1", "python": "3.11.7"}
            found["rnnspec"] = str(REPO / "rnnspec" / "__init__.py")
            return CommandResult(argv, 0, json.dumps(found) + "\n", 1.0)
        if argv[1:4] == ["-m", "pytest", "benchmarks/test_bench_models.py"]:
            (option,) = [a for a in argv if a.startswith("--benchmark-json=")]
            median = self.bench_medians.get(release, 0.01)
            bench = {"name": BENCH_NAME, "fullname": BENCH_NAME, "stats": {"median": median}}
            Path(option.removeprefix("--benchmark-json=")).write_text(
                json.dumps({"benchmarks": [bench]})
            )
            return CommandResult(argv, 0, "1 passed", 2.0)
        assert argv[1:4] == ["-m", "rnnspec", "check"], argv
        if release in self.timeouts:
            return CommandResult(argv, -9, "killed", timeout or 0.0, timed_out=True)
        if release in self.suite_exit:
            return CommandResult(argv, self.suite_exit[release], "INTERNALERROR> boom", 3.0)
        (option,) = [a for a in argv if a.startswith("--report-dir=")]
        report_dir = Path(option.removeprefix("--report-dir="))
        outcomes = self.outcomes.get(release, {"specs/test_a.py::test_a": "passed"})
        make_report(report_dir, f"{release}+cpu", outcomes)
        code = int("failed" in outcomes.values()) if outcomes else self.empty_exit
        return CommandResult(argv, code, "== done ==", 5.0)

    def suites(self) -> list[list[str]]:
        return [c for c in self.calls if c[1:4] == ["-m", "rnnspec", "check"]]

    def installs(self) -> list[list[str]]:
        return [c for c in self.calls if c[0] == "uv"]


@pytest.fixture(autouse=True)
def _no_heatmap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The heat-map is tested in test_compare.py; here it would only cost matplotlib's start-up."""
    monkeypatch.setattr(compare, "plot_heatmap", lambda releases, path: path.write_bytes(b""))


def config_for(tmp_path: Path, releases: Sequence[str], **overrides: object) -> MatrixConfig:
    return MatrixConfig(
        releases=list(releases),
        out=tmp_path / "out",
        env_root=tmp_path / "envs",
        **overrides,  # type: ignore[arg-type]
    )


def test_install_commands_pin_torch_and_leave_torchvision_to_the_resolver(tmp_path: Path) -> None:
    env = tmp_path / "torch-2.6.0"
    venv, deps, project = install_commands("2.6.0", env, REPO)
    assert venv == ["uv", "venv", "--clear", "--python", "3.11", str(env)]
    assert deps[:5] == ["uv", "pip", "install", "--python", str(env / "bin" / "python")]
    assert deps[5:7] == ["torch==2.6.0", "torchvision"]
    assert not [d for d in deps[7:] if d.startswith(("torch", "torchvision"))]
    assert project[-3:] == ["--no-deps", "-e", str(REPO)]  # pyproject's torch range can't apply


def test_runtime_dependencies_come_from_pyproject_without_torch() -> None:
    deps = runtime_dependencies(REPO)
    assert "pytest-xdist>=3.6" in deps
    assert not [d for d in deps if d.startswith("torch")]


def test_matrix_builds_each_env_runs_the_suite_and_merges_the_reports(tmp_path: Path) -> None:
    fake = FakeUv(
        outcomes={
            "2.5.1": {"specs/t.py::test_a": "passed", "specs/t.py::test_b": "passed"},
            "2.6.0": {"specs/t.py::test_a": "failed", "specs/t.py::test_b": "passed"},
        }
    )
    config = config_for(
        tmp_path,
        ["2.5.1", "2.6.0"],
        pytest_args=["-m", "not slow"],
        mnist_root=tmp_path / "data",
    )
    runs = run_matrix(config, fake)
    assert [(r.torch, r.status) for r in runs] == [("2.5.1", "passed"), ("2.6.0", "failed")]
    assert [c[5] for c in fake.installs() if c[:3] == ["uv", "pip", "install"]][::2] == [
        "torch==2.5.1",
        "torch==2.6.0",
    ]
    suite = fake.suites()[0]
    assert suite[4:] == [
        f"--report-dir={(tmp_path / 'out' / 'torch-2.5.1').resolve()}",
        f"--mnist-root={(tmp_path / 'data').resolve()}",
        "-m",
        "not slow",
    ]
    for run in runs:
        marker = json.loads((Path(run.env) / ENV_MARKER).read_text())
        assert marker["release"] == run.torch
        assert run.installed["torch"] == f"{run.torch}+cpu"
    saved = json.loads((tmp_path / "out" / "matrix.json").read_text())
    assert [(r["torch"], r["status"]) for r in saved["releases"]] == [
        ("2.5.1", "passed"),
        ("2.6.0", "failed"),
    ]
    assert all(Path(r["report"]).exists() for r in saved["releases"])
    page = (tmp_path / "out" / "comparison.md").read_text()
    pair = page.split("### 2.5.1 -> 2.6.0")[1]
    assert "- `specs/t.py::test_a`: passed -> failed — regression" in pair
    assert "test_b`:" not in pair
    assert (tmp_path / "out" / "comparison.png").exists()
    for run in runs:  # each release timed the seed models; the page shows the medians
        medians = json.loads(Path(run.report or "").read_text())["benchmarks"]
        assert medians == [{"name": BENCH_NAME, "median_s": fake.bench_medians[run.torch]}]
    assert f"| `{BENCH_NAME}` | 10 ms | 13 ms | 1.30x |" in page  # 2.6.0 over 2.5.1


def test_a_healthy_env_is_reused_without_installing(tmp_path: Path) -> None:
    run_matrix(config_for(tmp_path, ["2.6.0"]), FakeUv())
    again = FakeUv()
    (run,) = run_matrix(config_for(tmp_path, ["2.6.0"]), again)
    assert run.env_reused
    assert again.installs() == []
    assert len(again.suites()) == 1


def test_an_env_whose_marker_names_another_release_is_rebuilt(tmp_path: Path) -> None:
    run_matrix(config_for(tmp_path, ["2.6.0"]), FakeUv())
    marker = tmp_path / "envs" / "torch-2.6.0" / ENV_MARKER
    marker.write_text(json.dumps({"release": "2.5.1"}))
    again = FakeUv()
    (run,) = run_matrix(config_for(tmp_path, ["2.6.0"]), again)
    assert not run.env_reused
    assert [c[:2] for c in again.installs()] == [["uv", "venv"], ["uv", "pip"], ["uv", "pip"]]


def test_a_release_that_cannot_be_installed_is_not_a_pass(tmp_path: Path) -> None:
    fake = FakeUv(broken=["2.6.0"])
    runs = run_matrix(config_for(tmp_path, ["2.5.1", "2.6.0"]), fake)
    assert [r.status for r in runs] == ["passed", NOT_INSTALLED]
    assert "No solution found when resolving dependencies: torch==2.6.0" in (runs[1].error or "")
    assert runs[1].report is None
    assert not (Path(runs[1].env) / ENV_MARKER).exists()  # a failed env is never reused
    assert [s[0] for s in fake.suites()] == [str(Path(runs[0].env) / "bin" / "python")]
    page = (tmp_path / "out" / "comparison.md").read_text()
    assert "| 2.6.0 | not installed |" in page
    assert "No solution found" in page


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


def test_a_failed_run_without_facts_crashed_rather_than_failed(tmp_path: Path) -> None:
    """Under xdist a collection error exits 1, like a failure; with no fact it checked nothing."""
    fake = FakeUv(outcomes={"2.6.0": {}})
    fake.empty_exit = 1
    (run,) = run_matrix(config_for(tmp_path, ["2.6.0"]), fake)
    assert run.status == "crashed (no facts collected)"
    page = (tmp_path / "out" / "comparison.md").read_text()
    assert "No release produced a report with facts." in page


def test_a_stale_report_never_passes_for_a_crashed_run(tmp_path: Path) -> None:
    run_matrix(config_for(tmp_path, ["2.6.0"]), FakeUv())
    (run,) = run_matrix(config_for(tmp_path, ["2.6.0"]), FakeUv(suite_exit={"2.6.0": 3}))
    assert run.status == CRASHED


def test_releases_run_in_parallel_keep_their_order(tmp_path: Path) -> None:
    releases = ["2.5.1", "2.6.0", "2.11.0"]
    runs = run_matrix(config_for(tmp_path, releases, jobs=2), FakeUv())
    assert [r.torch for r in runs] == releases
    assert {r.status for r in runs} == {"passed"}


def test_command_line_orders_releases_and_passes_pytest_args(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeUv()
    argv = ["matrix", "--torch", "2.10.0,2.9.0", "--out", str(tmp_path / "out")]
    argv += ["--env-root", str(tmp_path / "envs"), "--", "-m", "not slow", "-n", "2"]
    args, extra = cli.build_parser().parse_known_args(argv)
    assert args.func is matrix.cmd_matrix
    assert matrix.cmd_matrix(args, extra, runner=fake) == 0
    saved = json.loads((tmp_path / "out" / "matrix.json").read_text())
    assert [r["torch"] for r in saved["releases"]] == ["2.9.0", "2.10.0"]
    assert saved["pytest_args"] == ["-m", "not slow", "-n", "2"]
    assert fake.suites()[0][-4:] == ["-m", "not slow", "-n", "2"]


def test_command_line_rejects_a_release_that_is_not_a_version(tmp_path: Path) -> None:
    args, extra = cli.build_parser().parse_known_args(["matrix", "--torch", "2.x"])
    assert matrix.cmd_matrix(args, extra, runner=FakeUv()) == 2


def test_command_line_exits_1_when_a_release_is_not_installed(tmp_path: Path) -> None:
    argv = ["matrix", "--torch", "2.6.0", "--out", str(tmp_path / "o")]
    args, extra = cli.build_parser().parse_known_args([*argv, "--env-root", str(tmp_path / "e")])
    assert matrix.cmd_matrix(args, extra, runner=FakeUv(broken=["2.6.0"])) == 1


@pytest.mark.slow
def test_run_command_logs_output_and_kills_on_timeout(tmp_path: Path) -> None:
    log = tmp_path / "cmd.log"
    done = run_command([sys.executable, "-c", "print('hello')"], cwd=tmp_path, timeout=30, log=log)
    assert (done.ok, done.output.splitlines()[-1]) == (True, "hello")
    slow = [sys.executable, "-c", "import time; print('start', flush=True); time.sleep(30)"]
    killed = run_command(slow, cwd=tmp_path, timeout=1.0, log=log)
    assert killed.timed_out
    assert killed.output.splitlines()[0] == "start"  # this command's output, not the log's
    assert not killed.ok
    assert killed.seconds < 20
    assert "killed after 1 s" in log.read_text()
    missing = run_command(["rnnspec-no-such-program"], cwd=tmp_path, timeout=5, log=log)
    assert missing.returncode is None


def _prebuilt_env() -> Path | None:
    """The environment `rnnspec matrix` built for the torch running these tests, if any."""
    import torch
    from packaging.version import Version

    env = REPO / matrix.DEFAULT_ENV_ROOT / f"torch-{Version(torch.__version__).public}"
    return env if (env / ENV_MARKER).exists() else None


@pytest.mark.slow
@pytest.mark.skipif(
    _prebuilt_env() is None,
    reason="no prebuilt matrix environment for this torch under .rnnspec/envs/; "
    "run `rnnspec matrix` once to build it",
)
def test_one_release_end_to_end_in_a_prebuilt_env(tmp_path: Path) -> None:
    """The real runner reuses the environment and the suite writes a report (one spec file)."""
    env = _prebuilt_env()
    assert env is not None
    release = env.name.removeprefix("torch-")
    config = MatrixConfig(
        releases=[release],
        out=tmp_path / "out",
        env_root=env.parent,
        pytest_args=[
            "specs/test_rnn_lstm_shapes.py",
            "-k",
            "defaults",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        timeout=600,
    )
    (run,) = run_matrix(config)
    assert run.env_reused, run.error
    assert run.status in ("passed", "failed"), run.error
    report = json.loads(Path(run.report or "").read_text())
    assert report["torch"].startswith(release)
    assert report["facts"]
    assert os.path.exists(tmp_path / "out" / "comparison.md")


def test_suite_fingerprint_changes_with_a_spec_and_the_page_warns(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "test_x.py"
    spec.write_text("def test_x(): pass\n")
    (tmp_path / "README.md").write_text("not part of the suite")
    before = matrix.suite_fingerprint(tmp_path)
    (tmp_path / "README.md").write_text("edited")
    assert matrix.suite_fingerprint(tmp_path) == before
    spec.write_text("def test_x(): assert False\n")
    after = matrix.suite_fingerprint(tmp_path)
    assert after != before
    report = {"torch": "2.6.0", "facts": [{"id": "specs/t.py::test_a", "outcome": "passed"}]}
    page = compare.render_comparison(
        [
            compare.Release("2.5.1", "passed", report, details={"suite_fingerprint": before}),
            compare.Release("2.6.0", "passed", report, details={"suite_fingerprint": after}),
        ]
    )
    assert "**Warning:** the releases ran different versions of the suite" in page
