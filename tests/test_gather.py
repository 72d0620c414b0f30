"""The matrix on many runners: `--plan`, one `--job` per runner, `rnnspec compare` gathering.

Most tests use test_matrix's FakeUv, which answers uv's commands without building an
environment; each job writes into its own "runner" folder, and the folders are copied
into one tree as a CI system's artifact download would. The test marked `slow` runs two
real jobs in uv's cached environments, as two processes, and holds the gathered page
to the one `rnnspec matrix` makes on one machine.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rnnspec.schema import NOT_RUN, PASSED, READABLE_SCHEMAS, SCHEMA, STATUS_ENVIRONMENT
from rnnspec.tool import compare, jobs, matrix
from rnnspec.tool.compare import NO_REPORT, releases_from_reports, render_comparison, topic_grid
from rnnspec.tool.jobs import JOB_FILE, Job, JobResult
from rnnspec.tool.matrix import ALL_RELEASES, DEFAULT_RELEASES, REPO, CommandResult, plan_jobs
from tests.test_matrix import FakeUv, make_report

A, B = "specs/pytorch/test_a.py::test_a", "specs/pytorch/test_a.py::test_b"


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="rnnspec")
    sub = parser.add_subparsers(dest="command", required=True)
    matrix.register(sub)
    compare.register(sub)
    return parser.parse_known_args(list(argv))


def rnnspec(argv: Sequence[str], runner: FakeUv | None = None) -> int:
    """`rnnspec matrix|compare ARGS` in this process, matrix with a fake uv."""
    args, extra = parse(argv)
    if args.command == "matrix":
        return matrix.cmd_matrix(args, extra, runner=runner or FakeUv())
    return args.func(args, extra)


def plan(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """What `rnnspec matrix --plan ARGS` prints, parsed."""
    capsys.readouterr()
    assert rnnspec(["matrix", "--plan", *argv]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one line: a CI system reads it as one output value
    return json.loads(out)


@pytest.fixture(autouse=True)
def _no_heatmap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The picture is tested in test_compare.py; its grid is checked here through topic_grid."""
    monkeypatch.setattr(compare, "plot_heatmap", lambda releases, path: path.write_bytes(b""))


# ----------------------------------------------------------------------------------------------
# The plan


def test_plan_of_all_prints_sixteen_jobs_a_ci_matrix_can_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = plan(["--all"], capsys)
    assert [j["release"] for j in found] == list(ALL_RELEASES)
    assert len(found) == 16
    for record in found:
        assert set(record) == {"name", "release", "device", "python", "requirements"}
        assert record["name"] == f"torch-{record['release']}"
        assert (record["device"], record["python"]) == ("cpu", matrix.PYTHON)
        assert record["requirements"][:2] == [f"torch=={record['release']}", "torchvision"]
        assert Job.from_json(record).to_json() == record  # the record the job runner reads
    numpy_1 = [j["release"] for j in found if "numpy<2" in j["requirements"]]
    assert numpy_1 == ["2.0.1", "2.1.2", "2.2.2"]


@pytest.mark.parametrize(
    "selection",
    [
        pytest.param([], id="default-set"),
        pytest.param(["--all"], id="all"),
        pytest.param(["--torch", "2.10.0,2.9.1", "2.9.1"], id="torch"),
        pytest.param(["--torch", "default", "2.7.1"], id="named-set-and-a-version"),
    ],
)
def test_the_plan_selects_exactly_what_the_matrix_runs(
    selection: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Red if `--plan` and a run on one machine chose their releases in two ways."""
    planned = [j["release"] for j in plan(selection, capsys)]
    fake = FakeUv()
    argv = ["matrix", *selection, "--bench-rounds", "0", "--out", str(tmp_path)]
    assert rnnspec(argv, fake) == 0
    ran = [next(a for a in c if a.startswith("torch==")) for c in fake.of("suite")]
    assert ran == [f"torch=={r}" for r in planned]


def test_named_sets_expand_to_their_releases(capsys: pytest.CaptureFixture[str]) -> None:
    assert [j["release"] for j in plan(["--torch", "all"], capsys)] == list(ALL_RELEASES)
    assert [j["release"] for j in plan(["--torch", "default"], capsys)] == list(DEFAULT_RELEASES)


def test_cuda_jobs_are_planned_beside_the_cpu_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    found = plan(["--torch", "2.6.0", "2.7.1", "--devices", "cpu", "cuda"], capsys)
    assert [(j["name"], j["device"]) for j in found] == [
        ("torch-2.6.0", "cpu"),
        ("torch-2.6.0-cuda", "cuda"),
        ("torch-2.7.1", "cpu"),
        ("torch-2.7.1-cuda", "cuda"),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--plan", "--", "-k", "x"], "pytest arguments go to each", id="plan-args"),
        pytest.param(["--torch", "2.x", "--plan"], "not a torch version", id="not-a-version"),
        pytest.param(["--job", "torch-2.6.0", "--all"], "drop --torch", id="job-and-all"),
        pytest.param(
            ["--job", "torch-2.6.0", "--bench-rounds", "3"], "timings", id="job-and-bench"
        ),
        pytest.param(["--job", "2.6.0"], "not a job name", id="job-name"),
        pytest.param(["--job", "torch-2.6.0-rocm"], "not a job name", id="job-device"),
        pytest.param(["--job", '{"name": "torch-2.6.0"}'], "without release", id="job-record"),
        pytest.param(["--job", "{not json"], "JSON object", id="job-json"),
    ],
)
def test_the_command_line_refuses_what_it_cannot_run(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert rnnspec(["matrix", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


# ----------------------------------------------------------------------------------------------
# One job per runner


def run_job(record: dict[str, Any] | str, runner_dir: Path, fake: FakeUv, *args: str) -> int:
    """`rnnspec matrix --job RECORD --out RUNNER_DIR [ARGS]`, as a CI job runs it."""
    job = record if isinstance(record, str) else json.dumps(record)
    return rnnspec(["matrix", "--job", job, "--out", str(runner_dir), *args], fake)


def gather(runners: Sequence[Path], tree: Path) -> Path:
    """Every job folder of every runner into one tree, as a CI artifact download does."""
    for runner in runners:
        for folder in runner.iterdir():
            shutil.copytree(folder, tree / folder.name)
    return tree


def test_a_job_runs_one_release_into_its_stable_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (record,) = plan(["--torch", "2.6.0"], capsys)
    fake = FakeUv()
    assert run_job(record, tmp_path, fake, "--", "-m", "not slow") == 0
    assert [p.name for p in tmp_path.iterdir()] == ["torch-2.6.0"]  # no page, no matrix.json
    folder = tmp_path / "torch-2.6.0"
    result = JobResult.read(folder)
    assert result is not None
    assert (result.job.to_json(), result.status, result.report) == (record, "passed", "report.json")
    assert result.suite == jobs.suite_fingerprint(REPO)
    assert result.finished is not None
    (suite,) = fake.of("suite")
    assert suite[-2:] == ["-m", "not slow"]
    assert [a for a in suite if a.startswith("torch==")] == ["torch==2.6.0"]


def test_a_job_named_and_a_job_recorded_are_the_same_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (record,) = plan(["--torch", "2.6.0", "--devices", "cuda"], capsys)
    by_record, by_name = FakeUv(), FakeUv()
    run_job(record, tmp_path / "a", by_record)
    run_job("torch-2.6.0-cuda", tmp_path / "b", by_name)
    assert [c for c in by_record.calls if "check" not in c] == [
        c for c in by_name.calls if "check" not in c
    ]


def test_the_record_s_requirements_are_what_uv_installs(tmp_path: Path) -> None:
    """A later plan may name a wheel or a URL: the job installs its record's requirements."""
    record = {
        "name": "torch-2.6.0",
        "release": "2.6.0",
        "device": "cpu",
        "python": "3.12",
        "requirements": ["torch==2.6.0", "torchvision", "numpy>=1.26", "onnx>=1.16"],
    }
    fake = FakeUv(onnx_unresolvable=["2.6.0"])
    run_job(record, tmp_path, fake)
    first, second = fake.of("versions")
    assert [a for a in first if a.startswith(("torch", "numpy", "onnx"))] == [
        "torch==2.6.0",
        "torchvision",
        "numpy>=1.26",
        "onnx>=1.16",
    ]
    assert "onnx>=1.16" not in second  # the retry without the ONNX packages
    assert first[first.index("--python") + 1] == "3.12"


def test_job_json_says_started_while_the_job_runs(tmp_path: Path) -> None:
    """Red if a runner that dies halfway left no job.json, or one that claims more."""
    fake, seen = FakeUv(), []

    def runner(argv: Sequence[str], **kwargs: Any) -> CommandResult:
        seen.append(json.loads((tmp_path / "torch-2.6.0" / JOB_FILE).read_text())["status"])
        return fake(argv, **kwargs)

    args, extra = parse(["matrix", "--job", "torch-2.6.0", "--out", str(tmp_path)])
    assert matrix.cmd_matrix(args, extra, runner=runner) == 0
    assert seen == ["started", "started"]  # the versions probe, the suite
    assert JobResult.read(tmp_path / "torch-2.6.0").status == "passed"  # type: ignore[union-attr]


def test_a_cpu_job_hides_cuda_and_a_cuda_job_must_see_it(tmp_path: Path) -> None:
    """The same release on a GPU runner checks the CPU job's facts; a CUDA job that finds no
    device skipped its CUDA facts and is not a pass."""
    fake = FakeUv()
    assert run_job("torch-2.6.0", tmp_path, fake) == 0
    assert run_job("torch-2.6.0-cuda", tmp_path, fake) == 1
    cpu_env, cuda_env = (e for c, e in zip(fake.calls, fake.envs, strict=True) if "check" in c)
    assert cpu_env["CUDA_VISIBLE_DEVICES"] == ""
    assert "CUDA_VISIBLE_DEVICES" not in cuda_env or cuda_env["CUDA_VISIBLE_DEVICES"] != ""
    result = JobResult.read(tmp_path / "torch-2.6.0-cuda")
    assert result is not None
    assert result.status == STATUS_ENVIRONMENT
    assert "no CUDA device" in (result.error or "")


def test_a_job_that_fails_exits_1(tmp_path: Path) -> None:
    fake = FakeUv({"2.6.0": {A: "failed"}})
    assert run_job("torch-2.6.0", tmp_path, fake) == 1


# ----------------------------------------------------------------------------------------------
# Gathering


@pytest.fixture
def gathered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """Four planned jobs on four runners: 2.5.1 and 2.8.0 pass, 2.6.0 crashes (pytest's
    internal error, no report), 2.7.1 never uploads anything. Returns (tree, plan file)."""
    records = plan(["--torch", "2.5.1", "2.6.0", "2.7.1", "2.8.0"], capsys)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(records))
    fake = FakeUv(
        {"2.5.1": {A: "passed", B: "passed"}, "2.8.0": {A: "passed", B: "failed"}},
        suite_exit={"2.6.0": 3},
    )
    runners = []
    for record in records:
        if record["release"] != "2.7.1":
            runners.append(tmp_path / f"runner-{record['release']}")
            run_job(record, runners[-1], fake)
    return gather(runners, tmp_path / "gathered"), plan_file


def releases_table(page: str) -> dict[str, list[str]]:
    """The releases table's rows: release -> its cells."""
    table = page.split("\n\n")[2]
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {row[0].strip(): [c.strip() for c in row[1:]] for row in rows}


def test_a_missing_and_a_crashed_job_show_their_statuses(
    gathered: tuple[Path, Path], tmp_path: Path
) -> None:
    """Red if a job that left nothing, or one that crashed, were an absent column."""
    tree, plan_file = gathered
    out = tmp_path / "page"
    assert rnnspec(["compare", str(tree), "--plan", str(plan_file), "--out", str(out)]) == 0
    page = (out / "comparison.md").read_text()
    rows = releases_table(page)
    assert list(rows) == ["2.5.1", "2.6.0", "2.7.1", "2.8.0"]
    assert rows["2.6.0"][0] == "crashed"
    assert "INTERNALERROR> boom" in rows["2.6.0"][-1]
    assert rows["2.7.1"][0] == "not run"
    assert "no result of this job arrived" in rows["2.7.1"][-1]
    assert page.startswith("# rnnspec: facts across torch releases\n\n4 releases, 2 with facts")
    assert f"- regression: `{B}`: passed → failed" in page
    assert "### 2.5.1 → 2.8.0" in page
    assert "Between them, without facts to compare: 2.6.0 (crashed), 2.7.1 (not run)." in page
    _, levels, _ = topic_grid(releases_from_reports([tree], plan=jobs.read_plan(plan_file)))
    assert [row[1:3] for row in levels] == [[NO_REPORT, NO_REPORT]]


def test_a_job_stopped_before_it_finished_is_crashed(tmp_path: Path) -> None:
    """job.json still "started": the runner was lost or the CI's own limit stopped the job."""
    (job,) = plan_jobs(["2.6.0"], REPO)
    JobResult(job=job).write(tmp_path / job.name)
    (release,) = releases_from_reports([tmp_path])
    assert release.status == "crashed (the job stopped before rnnspec matrix finished)"
    assert release.report is None


def test_timed_out_jobs_keep_the_facts_their_report_names(tmp_path: Path) -> None:
    fake = FakeUv({"2.6.0": {A: "passed", B: "not run"}}, timeouts=["2.6.0"])
    run_job("torch-2.6.0", tmp_path, fake)
    (release,) = releases_from_reports([tmp_path])
    assert release.status == "timed out"
    assert release.report is not None
    assert [f.outcome for f in release.report.facts] == [PASSED, NOT_RUN]


def test_one_machine_and_many_runners_make_the_same_page(tmp_path: Path) -> None:
    """The page of `rnnspec matrix` is the page of its folders gathered by `rnnspec compare`."""
    outcomes = {"2.5.1": {A: "passed", B: "passed"}, "2.8.0": {A: "failed", B: "passed"}}
    releases = ["--torch", "2.5.1", "2.6.0", "2.8.0"]
    local = tmp_path / "local"
    fake = FakeUv(outcomes, unresolvable=["2.6.0"])
    assert rnnspec(["matrix", *releases, "--bench-rounds", "0", "--out", str(local)], fake) == 1
    runners = []
    for name in ("torch-2.5.1", "torch-2.6.0", "torch-2.8.0"):
        runners.append(tmp_path / f"runner-{name}")
        run_job(name, runners[-1], FakeUv(outcomes, unresolvable=["2.6.0"]))
    tree = gather(runners, tmp_path / "gathered")
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(jobs.plan_json(plan_jobs(["2.5.1", "2.6.0", "2.8.0"], REPO)))
    out = tmp_path / "page"
    assert rnnspec(["compare", str(tree), "--plan", str(plan_file), "--out", str(out)]) == 0
    assert without_times((out / "comparison.md").read_text()) == without_times(
        (local / "comparison.md").read_text()
    )


def without_times(page: str) -> str:
    """The page with the releases table's env and suite seconds blanked (they vary by run)."""
    return re.sub(r"\| [\d.]* \| [\d.]* \| ([^|\n]*) \|$", r"| | | \1 |", page, flags=re.M)


def test_reports_from_different_machines_show_the_machine_apart_from_behaviour(
    tmp_path: Path,
) -> None:
    for release, cpu in (("2.5.1", "AMD EPYC"), ("2.6.0", "Intel Xeon")):
        make_report(tmp_path / f"torch-{release}", release, {A: "passed"}, "passed")
        path = tmp_path / f"torch-{release}" / "report.json"
        payload = json.loads(path.read_text())
        path.write_text(json.dumps({**payload, "cpu": cpu, "threads": 4}))
    page = render_comparison(releases_from_reports([tmp_path]))
    assert (
        "### 2.5.1 → 2.6.0\n\nno change.\n\nEnvironment (not behaviour): cpu AMD EPYC → Intel Xeon."
        in page
    )


def test_jobs_that_ran_different_suites_are_flagged(tmp_path: Path) -> None:
    """Runners that checked out different commits: facts may come and go for that reason."""
    for release, suite in (("2.5.1", "aaaa"), ("2.6.0", "bbbb")):
        (job,) = plan_jobs([release], REPO)
        folder = tmp_path / job.name
        make_report(folder, release, {A: "passed"}, "passed")
        JobResult(job=job, status="passed", report="report.json", suite=suite).write(folder)
    page = render_comparison(releases_from_reports([tmp_path]))
    assert "**Warning:** the releases ran different versions of the suite" in page
    assert "(suite aaaa: 2.5.1; suite bbbb: 2.6.0)" in page


def test_cpu_and_cuda_jobs_are_compared_within_their_device(tmp_path: Path) -> None:
    for name in ("torch-2.6.0", "torch-2.6.0-cuda", "torch-2.7.1", "torch-2.7.1-cuda"):
        run_job(name, tmp_path, FakeUv())
    releases = releases_from_reports([tmp_path])
    assert [r.label for r in releases] == ["2.6.0", "2.7.1", "2.6.0 (cuda)", "2.7.1 (cuda)"]
    page = render_comparison(releases)
    assert re.findall(r"^### (.*)$", page, flags=re.M) == [
        "2.6.0 → 2.7.1",
        "2.6.0 (cuda) → 2.7.1 (cuda)",
    ]


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        pytest.param("report.json", {"schema": 3, "facts": []}, "report schema 3", id="report"),
        pytest.param(JOB_FILE, {"schema": 2}, "job.json schema 2", id="job"),
        pytest.param(JOB_FILE, {"schema": 1, "job": {}}, "job record without", id="job-record"),
    ],
)
def test_compare_refuses_what_it_cannot_read_in_one_line(
    file: str,
    content: dict[str, Any],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A report from a newer rnnspec is refused, not half-read: exit 2, one line."""
    make_report(tmp_path / "tree" / "torch-2.5.1", "2.5.1", {A: "passed"}, "passed")
    (tmp_path / "tree" / "torch-2.6.0").mkdir()
    (tmp_path / "tree" / "torch-2.6.0" / file).write_text(json.dumps(content))
    assert rnnspec(["compare", str(tmp_path / "tree"), "--out", str(tmp_path / "page")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"rnnspec compare: {tmp_path / 'tree' / 'torch-2.6.0' / file}: {message}")


def test_the_report_schema_rnnspec_writes_is_one_it_reads() -> None:
    """Red if report.json's schema moved on and compare would refuse this rnnspec's reports."""
    assert max(READABLE_SCHEMAS) == SCHEMA


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param('{"jobs": []}', "a plan is a JSON list", id="not-a-list"),
        pytest.param("[{", "the plan is not JSON", id="not-json"),
        pytest.param('[{"name": "x"}]', "job record without", id="bad-record"),
    ],
)
def test_compare_refuses_a_plan_it_cannot_read(
    content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_report(tmp_path / "tree" / "torch-2.5.1", "2.5.1", {A: "passed"}, "passed")
    (tmp_path / "plan.json").write_text(content)
    argv = ["compare", str(tmp_path / "tree"), "--plan", str(tmp_path / "plan.json")]
    assert rnnspec([*argv, "--out", str(tmp_path / "page")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_an_empty_tree_is_all_not_run_with_a_plan_and_an_error_without(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every job died before uploading: the page still lists each release."""
    (tmp_path / "gathered").mkdir()
    (tmp_path / "plan.json").write_text(jobs.plan_json(plan_jobs(["2.5.1", "2.6.0"], REPO)))
    out = str(tmp_path / "page")
    assert rnnspec(["compare", str(tmp_path / "gathered"), "--out", out]) == 2
    assert "no report.json or job.json in it or below it" in capsys.readouterr().err
    plan_file = str(tmp_path / "plan.json")
    assert rnnspec(["compare", str(tmp_path / "gathered"), "--plan", plan_file, "--out", out]) == 0
    rows = releases_table((tmp_path / "page" / "comparison.md").read_text())
    assert {k: v[0] for k, v in rows.items()} == {"2.5.1": "not run", "2.6.0": "not run"}


# ----------------------------------------------------------------------------------------------
# The baseline and the CI summary


def baseline_tree(tmp_path: Path) -> Path:
    """docs/matrix's layout: torch-VER/report.json, from one machine."""
    for release in ("2.5.1", "2.6.0", "2.7.1"):
        make_report(
            tmp_path / "baseline" / f"torch-{release}",
            f"{release}+cu124",
            {A: "passed", B: "passed"},
            "passed",
        )
    return tmp_path / "baseline"


def test_a_regression_against_the_baseline_fails_and_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = baseline_tree(tmp_path)
    fake = FakeUv({"2.5.1": {A: "passed", B: "passed"}, "2.6.0": {A: "passed", B: "failed"}})
    for name in ("torch-2.5.1", "torch-2.6.0", "torch-2.15.0"):
        run_job(name, tmp_path / "gathered", fake)
    argv = ["compare", str(tmp_path / "gathered"), "--baseline", str(baseline)]
    assert rnnspec([*argv, "--out", str(tmp_path / "page")]) == 1
    assert "1 failing against the baseline" in capsys.readouterr().err
    page = (tmp_path / "page" / "comparison.md").read_text()
    section = page.split("## Against the baseline")[1].split("\n## ")[0]
    assert "| 2.5.1 | passed | no change |" in section
    assert "| 2.6.0 | failed | 1 regression |" in section
    assert "| 2.15.0 | passed | no baseline report: not checked |" in section
    assert f"- 2.6.0: regression: `{B}`: passed → failed" in section


def test_a_release_the_baseline_has_and_this_run_lost_fails(tmp_path: Path) -> None:
    baseline = baseline_tree(tmp_path)
    run_job("torch-2.5.1", tmp_path / "gathered", FakeUv(suite_exit={"2.5.1": -9}))
    argv = ["compare", str(tmp_path / "gathered"), "--baseline", str(baseline)]
    assert rnnspec([*argv, "--out", str(tmp_path / "page")]) == 1
    page = (tmp_path / "page" / "comparison.md").read_text()
    assert "| 2.5.1 | crashed | **no report**: every fact of the baseline is missing |" in page


def test_regressions_between_adjacent_releases_do_not_fail_the_gathering(tmp_path: Path) -> None:
    """They are torch's history (the committed matrix has some); only the baseline fails."""
    fake = FakeUv({"2.5.1": {A: "passed"}, "2.6.0": {A: "failed"}})
    for name in ("torch-2.5.1", "torch-2.6.0"):
        run_job(name, tmp_path / "gathered", fake)
    assert rnnspec(["compare", str(tmp_path / "gathered"), "--out", str(tmp_path / "page")]) == 0
    assert "1 regression" in (tmp_path / "page" / "comparison.md").read_text()


def test_the_summary_is_the_page_without_the_picture(tmp_path: Path) -> None:
    for name in ("torch-2.5.1", "torch-2.6.0"):
        run_job(name, tmp_path / "gathered", FakeUv())
    summary = tmp_path / "summary.md"
    summary.write_text("earlier steps\n")
    argv = ["compare", str(tmp_path / "gathered"), "--summary", str(summary)]
    assert rnnspec([*argv, "--out", str(tmp_path / "page")]) == 0
    text = summary.read_text()
    assert text.startswith("earlier steps\n# rnnspec: facts across torch releases\n")  # appended
    assert "### 2.5.1 → 2.6.0" in text
    assert "![" not in text
    assert (
        "![topics x releases](comparison.png)" in (tmp_path / "page" / "comparison.md").read_text()
    )


# ----------------------------------------------------------------------------------------------
# Two real jobs, two processes, one page


NARROW = [
    "rnnspec/specs/pytorch/test_errors.py",
    "-m",
    "not slow",
    "-k",
    "zero_layers or float64_input_to_a_float32_lstm or dtype_mismatch",
    "-p",
    "no:randomly",
]
RELEASES = ("2.0.1", "2.15.0")  # the oldest release and the locked one


def cached(release: str) -> bool:
    """Whether uv can build the release's matrix environment from its cache alone."""
    if shutil.which("uv") is None:
        return False
    argv = [*matrix.uv_run(matrix.requirements(release, REPO), offline=True), "python", "-c", ""]
    env = matrix.child_environment(REPO)
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, timeout=600, check=False)
    return done.returncode == 0


def run_rnnspec(argv: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rnnspec", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
def test_two_jobs_on_two_runners_gather_into_the_page_the_matrix_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--plan`'s output fed to `--job` in two processes with two output folders, gathered
    by `rnnspec compare`: the page equals the one `rnnspec matrix` makes of the same jobs."""
    missing = [r for r in RELEASES if not cached(r)]
    if missing:
        pytest.skip(
            f"uv's cache cannot build torch {', '.join(missing)} offline; "
            f"run `rnnspec matrix --torch {' '.join(missing)}` once"
        )
    monkeypatch.setenv("UV_OFFLINE", "1")  # nothing is downloaded
    env = matrix.child_environment(REPO)
    planned = run_rnnspec(["matrix", "--plan", "--torch", *RELEASES], env)
    assert planned.returncode == 0, planned.stderr
    records = json.loads(planned.stdout)
    (tmp_path / "plan.json").write_text(planned.stdout)
    runners = [tmp_path / f"runner-{i}" for i in range(len(records))]
    for record, runner in zip(records, runners, strict=True):
        done = run_rnnspec(
            ["matrix", "--job", json.dumps(record), "--out", str(runner), "--", *NARROW], env
        )
        assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
        assert [p.name for p in runner.iterdir()] == [record["name"]]
    tree = gather(runners, tmp_path / "gathered")
    argv = [
        "compare",
        str(tree),
        "--plan",
        str(tmp_path / "plan.json"),
        "--out",
        str(tmp_path / "page"),
    ]
    gathered = run_rnnspec(argv, env)
    assert gathered.returncode == 0, gathered.stderr
    one_machine = tmp_path / "matrix"
    argv = ["matrix", "--torch", *RELEASES, "--bench-rounds", "0", "--out", str(one_machine)]
    local = run_rnnspec([*argv, "--", *NARROW], env)
    assert local.returncode in (0, 1), local.stdout[-3000:] + local.stderr[-3000:]
    page = (tmp_path / "page" / "comparison.md").read_text()
    assert without_times(page) == without_times((one_machine / "comparison.md").read_text())
    rows = releases_table(page)
    assert list(rows) == list(RELEASES)
    assert all(int(cells[1]) > 0 for cells in rows.values())  # facts passed on both
    assert "### 2.0.1 → 2.15.0" in page
    assert "documented change" in page  # zero layers raise ValueError from 2.2
