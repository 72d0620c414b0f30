"""`rnnspec matrix`: run the spec suite against several torch releases and say what changed.

    rnnspec matrix [--torch VER ...] [--out DIR] [--mnist-root DIR] [--jobs N] [-- PYTEST ARGS]

For each release the command makes (or reuses) an isolated virtual environment
`.rnnspec/envs/torch-<ver>/` with uv:

    uv venv --clear --python 3.11 ENV
    uv pip install --python ENV/bin/python torch==VER torchvision <other runtime deps>
    uv pip install --python ENV/bin/python --no-deps -e REPO

torchvision is left unpinned: each torchvision release pins the torch it was
built for, so the resolver picks the one that matches (2.5.1 -> 0.20.1, 2.6.0
-> 0.21.0, 2.11.0 -> 0.26.0, 2.15.0 -> 0.29.2). The project goes in last with
`--no-deps`, so its own `torch>=...` range cannot move the release under test.
An environment is reused when its marker file names the same release and a
probe (`import torch, torchvision, rnnspec`) reports that torch.

It then runs `ENV/bin/python -m rnnspec check --report-dir OUT/torch-<ver>
[--mnist-root DIR] [PYTEST ARGS]` from the repository, one release after
another (`--jobs N` runs N at once), each under a time limit, and keeps each
release's report folder with its `install.log` and `suite.log`.

Each release ends with a status: passed, failed (a fact or test failed), no
facts executed, not installed (the installer's error is kept), timed out, or
crashed (the suite ended without a report or with pytest's internal/usage/
interrupted exit codes). OUT/matrix.json records releases, statuses, paths and
times, and OUT/comparison.md with OUT/comparison.png compares the reports (see
rnnspec.compare). The command exits 0 when every release passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from rnnspec.compare import Release, ReportError, load_report, status_from_exit, write_comparison

# Old to newest; 2.15.0 is the newest torch on PyPI with a matching torchvision (0.29.2).
DEFAULT_RELEASES = ("2.5.1", "2.6.0", "2.8.0", "2.11.0", "2.15.0")
DEFAULT_OUT = Path("reports/matrix")
DEFAULT_ENV_ROOT = Path(".rnnspec/envs")
PYTHON = "3.11"
ENV_MARKER = "rnnspec-env.json"
REPO = Path(__file__).resolve().parents[1]  # the checkout this rnnspec was loaded from
INSTALL_TIMEOUT_S = 1800.0
SUITE_TIMEOUT_S = 1800.0
PINNED_HERE = ("torch", "torchvision")  # installed per release, not from pyproject's ranges
ERROR_CHARS = 4000  # how much of a failing command's output matrix.json keeps

NOT_INSTALLED = "not installed"
TIMED_OUT = "timed out"
CRASHED = "crashed"

PROBE = (
    "import json, sys, torch, torchvision, rnnspec; "
    "print(json.dumps({'torch': torch.__version__, 'torchvision': torchvision.__version__, "
    "'python': sys.version.split()[0], 'rnnspec': rnnspec.__file__}))"
)


@dataclass
class CommandResult:
    """What one command did: exit status (None when it could not start), output tail, time."""

    argv: list[str]
    returncode: int | None
    output: str
    seconds: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class Runner(Protocol):
    """Runs one command; `run_command` is the real one, tests pass fakes."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        timeout: float | None,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> CommandResult: ...


def _tail(path: Path, chars: int = 20000, start: int = 0) -> str:
    """The last `chars` bytes of the file after byte `start`, as text."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(start, f.tell() - chars))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float | None,
    log: Path,
    env: dict[str, str] | None = None,
) -> CommandResult:
    """Run argv in cwd with stdout and stderr appended to log; kill its process group on timeout."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        offset = out.tell()  # this command's output starts here
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as error:
            out.write(f"cannot start {argv[0]}: {error}\n")
            return CommandResult(
                list(argv), None, f"cannot start {argv[0]}: {error}", time.monotonic() - start
            )
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # the suite's xdist workers go with it
            proc.wait()
        except BaseException:  # Ctrl-C: the child's own session would not get the signal
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        seconds = time.monotonic() - start
        if timed_out:
            out.write(f"\nrnnspec matrix: killed after {timeout:.0f} s\n")
    return CommandResult(list(argv), proc.returncode, _tail(log, start=offset), seconds, timed_out)


SUITE_FILES = ("conftest.py", "pytest.ini", "specs", "tests", "models", "rnnspec")


def suite_fingerprint(repo: Path) -> str:
    """A hash of the suite's Python files and settings: equal when releases ran the same tests.

    Releases run one after another; if the checkout is edited meanwhile, facts appear or
    disappear between releases for reasons that have nothing to do with torch.
    """
    digest = hashlib.sha256()
    for name in SUITE_FILES:
        path = repo / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(file.relative_to(repo).as_posix().encode() + b"\0")
                digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def runtime_dependencies(repo: Path) -> list[str]:
    """The project's runtime requirements from pyproject.toml, without torch and torchvision."""
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    return [d for d in project["dependencies"] if Requirement(d).name not in PINNED_HERE]


def env_python(env: Path) -> Path:
    return env / "bin" / "python"


def install_commands(release: str, env: Path, repo: Path, python: str = PYTHON) -> list[list[str]]:
    """The uv commands that build a release's environment, in order."""
    py = str(env_python(env))
    return [
        ["uv", "venv", "--clear", "--python", python, str(env)],
        [
            "uv",
            "pip",
            "install",
            "--python",
            py,
            f"torch=={release}",
            "torchvision",
            *runtime_dependencies(repo),
            "--compile-bytecode",  # else each run recompiles torch where PYTHONDONTWRITEBYTECODE=1
        ],
        ["uv", "pip", "install", "--python", py, "--no-deps", "-e", str(repo)],
    ]


def child_environment(env: Path) -> dict[str, str]:
    """os.environ with the release's environment activated and no outside Python paths."""
    variables = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")
    }
    variables["VIRTUAL_ENV"] = str(env)
    variables["PATH"] = f"{env / 'bin'}{os.pathsep}{variables.get('PATH', '')}"
    return variables


@dataclass
class ReleaseRun:
    """One release's row of matrix.json."""

    torch: str
    status: str = "pending"
    env: str = ""
    env_reused: bool = False
    env_seconds: float | None = None
    suite_seconds: float | None = None
    exit_code: int | None = None
    report_dir: str = ""
    report: str | None = None
    install_log: str = ""
    suite_log: str = ""
    installed: dict[str, str] = field(default_factory=dict)  # torch, torchvision, python
    suite_fingerprint: str | None = None  # of the tests this release ran (suite_fingerprint)
    error: str | None = None


@dataclass
class MatrixConfig:
    """What `rnnspec matrix` was asked to do."""

    releases: list[str]
    out: Path = DEFAULT_OUT
    env_root: Path = DEFAULT_ENV_ROOT
    repo: Path = field(default_factory=lambda: REPO)
    pytest_args: list[str] = field(default_factory=list)
    mnist_root: Path | None = None
    jobs: int = 1
    timeout: float = SUITE_TIMEOUT_S
    install_timeout: float = INSTALL_TIMEOUT_S
    rebuild: bool = False
    python: str = PYTHON
    bench: bool = True  # time the seed models' forward and backward in each release


def _say(release: str, message: str) -> None:
    print(f"[torch {release}] {message}", flush=True)


def probe(env: Path, log: Path, runner: Runner, timeout: float = 300.0) -> dict[str, str] | None:
    """Import torch, torchvision and rnnspec in the environment; their versions, or None."""
    if not env_python(env).exists():
        return None
    result = runner(
        [str(env_python(env)), "-c", PROBE],
        cwd=env,
        timeout=timeout,
        log=log,
        env=child_environment(env),
    )
    if not result.ok:
        return None
    for line in reversed(result.output.strip().splitlines()):
        try:
            found = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(found, dict) and "torch" in found:
            return found
    return None


def _matches(found: dict[str, str], release: str) -> bool:
    try:
        return Version(found["torch"]).public == Version(release).public
    except (InvalidVersion, KeyError):
        return False


def prepare_env(run: ReleaseRun, config: MatrixConfig, runner: Runner) -> bool:
    """Reuse or build the release's environment; False (with run.error set) when it fails."""
    release, env, log = run.torch, Path(run.env), Path(run.install_log)
    start = time.monotonic()
    marker = env / ENV_MARKER
    if not config.rebuild and marker.exists():
        try:
            recorded = json.loads(marker.read_text())
        except (OSError, json.JSONDecodeError):
            recorded = {}
        found = probe(env, log, runner) if recorded.get("release") == release else None
        if found is not None and _matches(found, release):
            if not Path(found.get("rnnspec", "")).resolve().is_relative_to(config.repo):
                # Built for another checkout: point the editable install at this one.
                editable = install_commands(release, env, config.repo, config.python)[-1]
                result = runner(editable, cwd=config.repo, timeout=config.install_timeout, log=log)
                if not result.ok:
                    run.error = f"{' '.join(editable)} failed:\n{result.output[-ERROR_CHARS:]}"
                    run.env_seconds = round(time.monotonic() - start, 1)
                    return False
            run.env_reused, run.installed = True, found
            run.env_seconds = round(time.monotonic() - start, 1)
            _say(release, f"reusing {env} ({run.env_seconds} s to check it)")
            return True
        _say(release, f"{env} is not healthy: rebuilding it")
    _say(release, f"creating {env}")
    for argv in install_commands(release, env, config.repo, config.python):
        result = runner(argv, cwd=config.repo, timeout=config.install_timeout, log=log)
        if not result.ok:
            why = "timed out" if result.timed_out else f"exit {result.returncode}"
            run.error = f"{' '.join(argv[:3])} ... {why}:\n{result.output[-ERROR_CHARS:].strip()}"
            run.env_seconds = round(time.monotonic() - start, 1)
            return False
    found = probe(env, log, runner)
    run.env_seconds = round(time.monotonic() - start, 1)
    if found is None or not _matches(found, release):
        run.error = f"installed, but the probe found {found}:\n{_tail(log, ERROR_CHARS).strip()}"
        return False
    run.installed = found
    marker.write_text(
        json.dumps(
            {
                "release": release,
                "python": config.python,
                "repo": str(config.repo),
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "seconds": run.env_seconds,
                "installed": found,
            },
            indent=1,
        )
        + "\n"
    )
    _say(
        release,
        f"environment ready in {run.env_seconds} s: torch {found['torch']}, "
        f"torchvision {found['torchvision']}",
    )
    return True


REPORT_FILES = (
    "report.json",
    "report.md",
    "training_curves.png",
    "install.log",
    "suite.log",
    "benchmarks.json",
    "bench.log",
)


def run_release(release: str, config: MatrixConfig, runner: Runner) -> ReleaseRun:
    """Build or reuse the release's environment, run the suite there, classify the result."""
    report_dir = (config.out / f"torch-{release}").resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    for name in REPORT_FILES:  # a stale report must not pass for this run's
        (report_dir / name).unlink(missing_ok=True)
    run = ReleaseRun(
        torch=release,
        env=str((config.env_root / f"torch-{release}").resolve()),
        report_dir=str(report_dir),
        install_log=str(report_dir / "install.log"),
        suite_log=str(report_dir / "suite.log"),
    )
    if not prepare_env(run, config, runner):
        run.status = NOT_INSTALLED
        _say(release, f"not installed ({run.env_seconds} s)")
        return run
    argv = [str(env_python(Path(run.env))), "-m", "rnnspec", "check", f"--report-dir={report_dir}"]
    if config.mnist_root is not None:
        # "--opt=DIR": pytest would take an existing DIR given alone for a test path and look
        # for its rootdir and pytest.ini there, not in the checkout.
        argv.append(f"--mnist-root={config.mnist_root.resolve()}")
    argv += config.pytest_args
    _say(release, "running the suite")
    run.suite_fingerprint = suite_fingerprint(config.repo)
    result = runner(
        argv,
        cwd=config.repo,
        timeout=config.timeout,
        log=Path(run.suite_log),
        env=child_environment(Path(run.env)),
    )
    run.suite_seconds = round(result.seconds, 1)
    run.exit_code = result.returncode
    report = report_dir / "report.json"
    if result.timed_out:
        run.status = TIMED_OUT
        run.error = f"killed after {config.timeout:.0f} s"
    elif not report.exists():
        run.status = CRASHED
        run.error = f"no report.json (exit {result.returncode}):\n" + result.output[-ERROR_CHARS:]
    else:
        run.report = str(report)
        try:
            run.status = status_from_exit(result.returncode, load_report(report))
        except ReportError as error:
            run.status, run.error = CRASHED, str(error)
        if run.status.startswith(CRASHED):
            output = result.output[-ERROR_CHARS:].strip()
            run.error = "\n".join(part for part in (run.error, output) if part)
    if config.bench and run.report is not None:
        run_benchmarks(run, config, runner)
    _say(release, f"{run.status} in {run.suite_seconds} s")
    return run


def benchmark_command(env: Path, out_json: Path) -> list[str]:
    """pytest-benchmark over the seed models' forward and forward+backward, on CPU, into out_json.

    Rounds follow pytest-benchmark's defaults (up to 1 s per benchmark); nothing is
    saved under benchmarks/results/, which holds this checkout's own runs.
    """
    from rnnspec.bench import benchmark_options

    return [
        str(env_python(env)),
        "-m",
        "pytest",
        "benchmarks/test_bench_models.py",
        *benchmark_options(out_json),
        "-k",
        "cpu and test_forward",  # test_forward and test_forward_backward
        "-q",
    ]


def run_benchmarks(run: ReleaseRun, config: MatrixConfig, runner: Runner) -> None:
    """Time the seed models in the release's environment; merge the medians into its report."""
    from rnnspec.bench import benchmark_medians, merge_into_report

    report_dir = Path(run.report_dir)
    out_json = report_dir / "benchmarks.json"  # removed with the stale report (REPORT_FILES)
    _say(run.torch, "timing the seed models")
    result = runner(
        benchmark_command(Path(run.env), out_json),
        cwd=config.repo,
        timeout=config.timeout,
        log=report_dir / "bench.log",
        env=child_environment(Path(run.env)),
    )
    if result.ok and out_json.is_file():
        merge_into_report(run.report or "", benchmark_medians(out_json))
    else:
        note = f"benchmarks did not run (exit {result.returncode}); see {report_dir / 'bench.log'}"
        run.error = "\n".join(part for part in (run.error, note) if part)


def _as_release(run: ReleaseRun) -> Release:
    report = None
    error = run.error
    if run.report is not None:
        try:
            report = load_report(Path(run.report))
        except ReportError as problem:
            error = str(problem)
    details = {
        "env_seconds": run.env_seconds,
        "suite_seconds": run.suite_seconds,
        "suite_fingerprint": run.suite_fingerprint,
    }
    return Release(run.torch, run.status, report, run.report, error, details)


def write_matrix(config: MatrixConfig, runs: Sequence[ReleaseRun], started: dt.datetime) -> Path:
    """Write OUT/matrix.json (what ran, where, how long, with what result)."""
    config.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema": 1,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "repo": str(config.repo),
        "env_root": str(config.env_root.resolve()),
        "python": config.python,
        "pytest_args": config.pytest_args,
        "mnist_root": str(config.mnist_root) if config.mnist_root else None,
        "releases": [asdict(r) for r in runs],
    }
    path = config.out / "matrix.json"
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def run_matrix(config: MatrixConfig, runner: Runner = run_command) -> list[ReleaseRun]:
    """Run every release (config.jobs at a time), then write matrix.json and the comparison."""
    started = dt.datetime.now(dt.UTC)
    runs: dict[str, ReleaseRun] = {r: ReleaseRun(torch=r) for r in config.releases}
    lock = threading.Lock()

    def one(release: str) -> None:
        try:
            result = run_release(release, config, runner)
        except Exception as error:  # one broken release must not lose the others' results
            result = ReleaseRun(torch=release, status=CRASHED, error=f"rnnspec matrix: {error!r}")
        with lock:
            runs[release] = result
            write_matrix(config, list(runs.values()), started)  # progress survives an interrupt

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool:
        list(pool.map(one, config.releases))
    ordered = list(runs.values())
    write_matrix(config, ordered, started)
    if len({r.suite_fingerprint for r in ordered if r.suite_fingerprint}) > 1:
        print(
            "rnnspec matrix: the suite's files changed during the run; facts that appear or "
            "disappear between releases may come from those edits",
            file=sys.stderr,
        )
    write_comparison([_as_release(r) for r in ordered], config.out)
    return ordered


def parse_releases(values: Sequence[str]) -> list[str]:
    """Releases from `--torch` (space or comma separated), deduplicated, oldest first."""
    releases: list[str] = []
    for value in values:
        for item in value.replace(",", " ").split():
            try:
                Version(item)
            except InvalidVersion as error:
                raise argparse.ArgumentTypeError(f"not a torch version: {item!r}") from error
            if item not in releases:
                releases.append(item)
    return sorted(releases, key=Version)


def cmd_matrix(args: argparse.Namespace, extra: Sequence[str], runner: Runner = run_command) -> int:
    """Run the suite against each release and write matrix.json and the comparison page."""
    try:
        releases = parse_releases(args.torch)
    except argparse.ArgumentTypeError as error:
        print(f"rnnspec matrix: {error}", file=sys.stderr)
        return 2
    pytest_args = list(extra)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    config = MatrixConfig(
        releases=releases,
        out=Path(args.out),
        env_root=Path(args.env_root),
        pytest_args=pytest_args,
        mnist_root=Path(args.mnist_root) if args.mnist_root else None,
        jobs=args.jobs,
        timeout=args.timeout,
        install_timeout=args.install_timeout,
        rebuild=args.rebuild,
        python=args.python,
        bench=not args.no_bench,
    )
    runs = run_matrix(config, runner)
    width = max(len(r.torch) for r in runs)
    print(f"rnnspec matrix: {config.out / 'matrix.json'}, {config.out / 'comparison.md'}")
    for r in runs:
        times = f"env {r.env_seconds} s, suite {r.suite_seconds} s"
        print(f"  torch {r.torch:<{width}}  {r.status:<16} {times}")
    return 0 if all(r.status == "passed" for r in runs) else 1


def add_parser(sub: Any) -> None:
    """Add the `matrix` subcommand to rnnspec's subparsers."""
    matrix = sub.add_parser(
        "matrix",
        help="run the spec suite against several torch releases and compare them",
        description="Arguments after -- go to pytest in every release, e.g. "
        "-- -m 'not slow' -n 2. Exit status 0 when every release passed, 1 otherwise.",
    )
    matrix.add_argument(
        "--torch",
        nargs="+",
        default=list(DEFAULT_RELEASES),
        metavar="VER",
        help=f"torch releases (default: {' '.join(DEFAULT_RELEASES)})",
    )
    matrix.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (%(default)s)")
    matrix.add_argument(
        "--env-root",
        default=str(DEFAULT_ENV_ROOT),
        help="where the environments live (%(default)s)",
    )
    matrix.add_argument("--mnist-root", help="folder holding MNIST/raw/, passed to every release")
    matrix.add_argument("--jobs", type=int, default=1, help="releases run at once (%(default)s)")
    matrix.add_argument(
        "--timeout",
        type=float,
        default=SUITE_TIMEOUT_S,
        help="seconds allowed for one release's suite (%(default)s)",
    )
    matrix.add_argument(
        "--install-timeout",
        type=float,
        default=INSTALL_TIMEOUT_S,
        help="seconds allowed for each install step (%(default)s)",
    )
    matrix.add_argument("--rebuild", action="store_true", help="rebuild existing environments")
    matrix.add_argument(
        "--no-bench",
        action="store_true",
        help="skip the forward and forward+backward timings of the seed models",
    )
    matrix.add_argument(
        "--python", default=PYTHON, help="Python for the environments (%(default)s)"
    )
    matrix.set_defaults(func=cmd_matrix)
