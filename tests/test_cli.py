"""The `rnnspec` command line does what the README says.

Every command of README.md's ```sh blocks runs as written: only a DIR placeholder
becomes a real folder, and commands that would run the pytest suite are narrowed to
a few fast facts through PYTEST_ADDOPTS (so the command text is unchanged). The
`rnnspec matrix` commands are parsed by the real argument parser, not executed: each
builds an environment of several GB per torch release; `--plan` builds none and runs.
The CI section's `rnnspec compare gathered --plan plan.json` reads a gathered tree that
the test lays out as the job command would (a job folder holding the narrowed report).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnnspec.schema import stable_id
from rnnspec.tool import check, cli, matrix

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SUBCOMMANDS = ("check", "bench", "golden", "index", "matrix", "compare", "diff", "repeat")
# Parsed only: multi-GB environments. `--plan` installs nothing and runs.
NOT_EXECUTED = re.compile(r"^uv run rnnspec matrix\b(?!.*--plan)")
MNIST_PLACEHOLDER = re.compile(r"(--mnist-root[ =]|RNNSPEC_MNIST_ROOT=)DIR\b")


def readme_commands() -> list[str]:
    """Each command line of README.md's ```sh blocks (comments dropped), in order."""
    blocks = re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", README.read_text(), re.M | re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def fast_specs() -> Path:
    """A spec module of quick facts that PYTEST_ADDOPTS narrows a suite run to."""
    for pattern in ("rnnspec/specs/pytorch/test_dropout.py", "rnnspec/specs/**/test_*dropout*.py"):
        found = sorted(REPO.glob(pattern))
        if found:
            return found[0]
    raise LookupError("no dropout spec module under specs/ to narrow the README's runs to")


def parse(argv: list[str]) -> tuple[object, list[str]]:
    return cli.build_parser().parse_known_args(argv)


def test_every_command_registers_through_one_function() -> None:
    """Red if a command module lost its `register(sub)` or a subcommand went missing."""
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    assert set(SUBCOMMANDS) <= set(sub.choices)
    for name in SUBCOMMANDS:
        args, _ = parse([name, *required_arguments(name)])
        assert callable(args.func), name


def required_arguments(command: str) -> list[str]:
    """The least each subcommand needs to parse."""
    return {"diff": ["old.json", "new.json"], "compare": ["a.json"]}.get(command, [])


@pytest.mark.parametrize(
    "spelling",
    [
        ["--mnist-root", "data", "--report-dir", "out", "--profile", "deep"],
        ["--mnist-root=data", "--report-dir=out", "--profile=deep"],
    ],
    ids=["space", "equals"],
)
def test_check_options_reach_pytest_in_one_spelling_pinned_to_the_project(
    spelling: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Red if `--mnist-root DIR` (with a space) could move pytest's rootdir, or an option of
    `rnnspec check` reached pytest in the spelling pytest mistakes for a test path."""
    monkeypatch.chdir(tmp_path)
    argv = ["check", *spelling, "--download-mnist", "-n", "2", "--", "-k", "dropout"]
    args, extra = parse(argv)
    arguments = check.pytest_arguments(args, extra, Path("out").resolve())
    assert arguments == [
        "-c",
        str(REPO / "rnnspec" / "facts.ini"),
        f"--rootdir={REPO / 'rnnspec'}",
        f"--report-dir={tmp_path / 'out'}",
        "-p",
        "rnnspec.plugin",
        "-p",
        "rnnspec.suite",
        f"--mnist-root={tmp_path / 'data'}",
        "--download-mnist",
        "--profile=deep",
        "-n",
        "2",
        "-k",
        "dropout",
        str(REPO / "rnnspec" / "specs"),
    ]


def test_check_runs_the_facts_and_a_team_s_folders_unless_given_test_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Red if `rnnspec check` collected rnnspec's machinery tests (tests/), dropped a team's
    `--specs` folder, or added the default folders to test paths the caller named."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "test_x.py").write_text("")
    args, extra = parse(["check", "--specs", "ours", "-k", "x"])
    arguments = check.pytest_arguments(args, extra, tmp_path / "out")
    assert f"--user-specs={tmp_path / 'ours'}" in arguments
    assert arguments[-2:] == [str(REPO / "rnnspec" / "specs"), str(tmp_path / "ours")]
    assert not any(a.startswith(str(REPO / "tests")) for a in arguments)
    args, extra = parse(["check", "--specs", "ours", "ours/test_x.py::test_a"])
    assert check.pytest_arguments(args, extra, tmp_path / "out")[-1] == "ours/test_x.py::test_a"
    monkeypatch.setenv("PYTEST_ADDOPTS", "-q ours/test_x.py")
    args, extra = parse(["check"])
    assert str(REPO / "rnnspec" / "specs") not in check.pytest_arguments(args, extra, tmp_path)


def test_the_packaged_configuration_is_the_checkout_s_without_its_testpaths() -> None:
    """Red if rnnspec/facts.ini (what `rnnspec check` runs the facts with, from a wheel too)
    and pytest.ini (the test command's) disagreed on markers, options or warning filters."""
    import configparser

    def settings(path: Path) -> dict[str, str]:
        parser = configparser.ConfigParser()
        parser.read(path)
        return {k: " ".join(v.split()) for k, v in parser["pytest"].items() if k != "testpaths"}

    assert settings(REPO / "rnnspec" / "facts.ini") == settings(REPO / "pytest.ini")


@pytest.mark.slow
def test_the_command_line_starts_without_torch() -> None:
    program = (
        "import sys; from rnnspec.tool.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_check_says_no_report_was_written_when_pytest_cannot_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Red if a pytest usage error passes for a run, or leaves an earlier report looking new."""
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    (report_dir / "report.json").write_text("{}")  # from an earlier run
    status = cli.main(["check", f"--report-dir={report_dir}", "--", "--no-such-option"])
    assert status == pytest.ExitCode.USAGE_ERROR
    assert "rnnspec: no report was written (pytest exited with status 4)" in capsys.readouterr().err
    assert not (report_dir / "report.json").exists()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the checkout, holding the reports the README's diff and compare read:
    `old/` and `new/` (two runs of the same torch) and `reports/*/`."""
    return tmp_path_factory.mktemp("readme")


def readme_environment(workspace: Path, mnist: Path) -> dict[str, str]:
    """A user's shell: without this test's virtual environment on PATH (`python3` is the
    system's, as in the README's set-up), plus the variables that narrow the runs."""
    venv_bin = str(Path(sys.prefix) / "bin")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    shell = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    return {
        **shell,
        "PATH": path,
        "UV_PROJECT": str(REPO),  # `uv run` from the workspace runs this project
        "RNNSPEC_MNIST_ROOT": str(mnist),  # --download-mnist finds it: no network needed
        "PYTEST_ADDOPTS": f"-m 'not slow' -p no:randomly {fast_specs()}",
    }


def prepare_reports(workspace: Path, env: dict[str, str]) -> None:
    """Two narrowed `rnnspec check` reports in the layouts the README's diff and compare use."""
    if (workspace / "new" / "report.json").is_file():
        return
    for name in ("old", "new"):
        subprocess.run(
            [sys.executable, "-m", "rnnspec", "check", f"--report-dir={workspace / name}"],
            cwd=workspace,
            env=env,
            check=True,
            capture_output=True,
        )
        copy = workspace / "reports" / name / "report.json"
        copy.parent.mkdir(parents=True)
        copy.write_text((workspace / name / "report.json").read_text())


def prepare_gathered(workspace: Path, env: dict[str, str]) -> None:
    """What the CI section's compare reads: plan.json from the README's own plan command,
    and gathered/torch-<ver>/ as `rnnspec matrix --job torch-<ver>` leaves it (its report)."""
    prepare_reports(workspace, env)
    report = json.loads((workspace / "new" / "report.json").read_text())
    release = report["torch"].split("+")[0]
    folder = workspace / "gathered" / f"torch-{release}"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        (folder / "report.json").write_text(json.dumps(report))
    if not (workspace / "plan.json").is_file():
        (command,) = [c for c in readme_commands() if "matrix --plan" in c]
        subprocess.run(["bash", "-c", command], cwd=workspace, env=env, check=True)


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_runs_as_written(
    command: str, workspace: Path, mnist_root: Path
) -> None:
    """Red if a command the README shows fails as written (a renamed option, a subcommand that
    moved, a `--mnist-root DIR` that pytest mistakes for a test path)."""
    if Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        pytest.skip(
            "the README's commands run in the project's environment (uv sync); this is another "
            f"one ({sys.prefix}), e.g. a release of `rnnspec matrix`"
        )
    env = readme_environment(workspace, mnist_root)
    text = MNIST_PLACEHOLDER.sub(lambda m: m.group(1) + shlex.quote(str(mnist_root)), command)
    text = re.sub(r"\bDIR\b", shlex.quote(str(workspace / "out")), text)
    if NOT_EXECUTED.match(command):
        args, _ = parse(shlex.split(text)[3:])  # after "uv run rnnspec"
        assert args.command == "matrix"
        if "--mnist-root" in command:
            assert Path(args.mnist_root) == mnist_root
        if args.job is not None:  # a job the plan has, by name
            assert matrix.job_of(args.job, REPO, args.python).name == args.job
        return
    uses_reports = re.search(r"\brnnspec [a-z]", command) is not None  # the CLI, not a path
    if uses_reports:
        prepare_reports(workspace, env)
    team = "--specs examples/" in command  # a team's folder, as the README's example names it
    if team:  # the example's own facts, and only they are collected (a test path replaces
        # the default folders: rnnspec.check), not rnnspec's 950 beside them
        shutil.copytree(REPO / "examples", workspace / "examples", dirs_exist_ok=True)
        tagger = "examples/gru_tagger/tagger_facts/test_tagger.py"
        env = {**env, "PYTEST_ADDOPTS": f"-p no:randomly {tagger}"}
    if "gathered" in command:
        prepare_gathered(workspace, env)
    done = subprocess.run(
        ["bash", "-c", text],
        cwd=workspace if uses_reports else REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{text}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    if command.startswith("uv run rnnspec check"):
        written = re.search(r"report in (\S+)/ ", done.stdout)
        assert written, done.stdout
        payload = json.loads((Path(written.group(1)) / "report.json").read_text())
        assert payload["verdict"] == "passed"
        if team:
            topic = "tagger_facts/test_tagger.py"
        else:
            topic = stable_id(fast_specs().relative_to(REPO).as_posix())
        assert payload["facts"]
        assert all(f["topic"] == topic for f in payload["facts"])
