"""`rnnspec matrix`: the spec suite in one environment per torch release, compared.

    rnnspec matrix [--all | --torch VER ...] [--devices cpu cuda] [--mnist-root DIR]
                   [--bench-rounds N] [--bench-only] [--rebuild] [-- PYTEST ARGS]
    rnnspec matrix --plan [--all | --torch VER ...] [--devices cpu cuda]
    rnnspec matrix --job JOB --out DIR [--mnist-root DIR] [-- PYTEST ARGS]

The releases and devices chosen make a plan: one job per release and device
(rnnspec.tool.jobs.Job: its name, release, device, Python and the requirements uv installs).
Run here, the jobs run one after another into OUT/<name>/ and the page follows. `--plan`
prints the jobs as JSON instead, for a CI system's job matrix, one runner per job; there
`--job` runs one of them (its record as printed, or its name) into OUT/<name>/, a folder
named the same on every runner, and `rnnspec compare` gathers the folders into the same
page (rnnspec.tool.compare). Every job's folder holds job.json: STATUS_STARTED while it runs, then
the release's status. A "cpu" job hides CUDA from the suite; a "cuda" job that sees no
CUDA device is not a pass.

uv carries the environments. Every command of a release runs as

    uv run --isolated --no-project --python 3.11 --compile-bytecode \\
        --with torch==VER --with torchvision [--with "numpy<2"] --with <pyproject's other
        runtime dependencies> -- python ...

from the checkout, with the checkout on PYTHONPATH (the project itself is not
installed, so its own `torch` range cannot move the release under test). uv
resolves the requirements, keeps the environment in its cache keyed by what it
resolved, and reuses it for the same requirements; the first command of a
release (which prints the versions the resolver picked) builds it, the later
ones run `--offline` against what that one resolved. `--rebuild` passes
`--reinstall`; uv's own variables apply as usual (`UV_CACHE_DIR=DIR` builds every
environment from nothing, `UV_OFFLINE=1` uses only the cache). torchvision is left to the resolver (each torchvision pins the
torch it was built for); torch before 2.3 was built against NumPy 1 and gets
`numpy<2`. Where the resolution fails with the ONNX packages (onnx, onnxruntime,
onnxscript), it is retried once without them and the release records that.

For each release the suite runs as `python -m rnnspec check --report-dir
OUT/torch-VER ...` under a time limit, and the release ends with a status:
passed, failed, incomplete (environment), incomplete (interrupted), no facts
executed, not installed (uv's error kept), timed out, or crashed (no report, or
pytest's internal or usage exit codes, or a signal). A suite past its time limit
gets SIGTERM and writes its report (the facts it did not reach NOT_RUN), so a
timed-out release still shows which facts crashed, timed out or never ran. Only a
report whose verdict is VERDICT_PASSED, from a suite that exited 0, makes a pass.

Then `--bench-rounds N` rounds time the seed models' forward and forward+backward
(benchmarks/test_bench_models.py, pytest-benchmark) in every release that
installed, round-robin: release after release in each round, so that the drift of
a shared machine falls on all of them alike. Each release's entries get the median
over the rounds and a noise band, the relative spread of its per-round medians
(rnnspec.tool.bench.summarise_rounds); the comparison page shows only the changes
outside it. The timings run on one intra-op thread (`--bench-threads`): on a shared
machine, threads that wait for a busy core swing tenfold. `--bench-only` skips the
suites and writes OUT/benchmarks.md.

OUT/matrix.json records what ran, with the statuses and times; OUT/comparison.md and
OUT/comparison.png compare the reports (rnnspec.tool.compare). The command exits 0 when
every release passed (with --bench-only: was timed), 1 otherwise; `--job` likewise for
its one release. `--job` runs no benchmark rounds: timings from different runners do not
compare.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from rnnspec.schema import (
    REPORT_FILE,
    STATUS_CRASHED,
    STATUS_ENVIRONMENT,
    STATUS_NOT_INSTALLED,
    STATUS_PASSED,
    STATUS_TIMED_OUT,
    Report,
    ReportError,
    release_status,
)
from rnnspec.tool.jobs import (
    CPU,
    CUDA,
    DEVICES,
    Job,
    JobError,
    JobResult,
    job_name,
    parse_job_name,
    plan_json,
    rnnspec_version,
    suite_fingerprint,
)

# Each known boundary lies between two adjacent releases: 2.3 (the input_size check,
# NumPy 2), 2.6 (torch.load's weights_only default), 2.11 (argument type checks, the
# dtype message); 2.15.0 is the newest torch on PyPI.
DEFAULT_RELEASES = ("2.0.1", "2.4.1", "2.6.0", "2.11.0", "2.15.0")
# The newest patch of every minor release from 2.0 with CPython 3.11 wheels on PyPI
# (checked with `pip index versions torch` and `uv pip compile --python 3.11`).
ALL_RELEASES = (
    "2.0.1",
    "2.1.2",
    "2.2.2",
    "2.3.1",
    "2.4.1",
    "2.5.1",
    "2.6.0",
    "2.7.1",
    "2.8.0",
    "2.9.1",
    "2.10.0",
    "2.11.0",
    "2.12.1",
    "2.13.0",
    "2.14.1",
    "2.15.0",
)
NUMPY_2_FROM = Version("2.3")  # torch before 2.3 says "Numpy is not available" with NumPy 2
ONNX_PACKAGES = ("onnx", "onnxruntime", "onnxscript")
PINNED_HERE = ("torch", "torchvision", "numpy")  # chosen per release, not from pyproject
REPORTED = ("torch", "torchvision", "numpy", *ONNX_PACKAGES, "pytest")

DEFAULT_OUT = Path("reports/matrix")
PYTHON = "3.11"
REPO = Path(__file__).resolve().parents[2]  # the checkout this rnnspec was loaded from
INSTALL_TIMEOUT_S = 1800.0
SUITE_TIMEOUT_S = 1800.0
BENCH_TIMEOUT_S = 600.0
BENCH_ROUNDS = 3  # the fewest that give a median and a spread
# One intra-op thread: on a shared 2-core machine, OpenMP threads waiting for a busy core made
# the 2-thread forward of the 2x128 LSTM swing from 13 ms to 980 ms; one thread stays within 2x.
BENCH_THREADS = 1
ERROR_CHARS = 4000  # how much of a failing command's output matrix.json keeps

# Named sets `--torch` accepts besides versions (a CI input can say "all").
RELEASE_SETS = {"all": ALL_RELEASES, "default": DEFAULT_RELEASES}
# A command past its time limit gets SIGTERM (rnnspec check then writes its report, the facts
# it did not reach NOT_RUN), and SIGKILL this many seconds later if it is still there.
TERMINATE_GRACE_S = 60

# Prints the versions the resolver picked, as one JSON line; importing torch proves it loads.
VERSIONS = (
    "import json, importlib.metadata as m, torch\n"
    "def v(p):\n"
    "    try: return m.version(p)\n"
    "    except m.PackageNotFoundError: return None\n"
    f"print(json.dumps({{p: v(p) for p in {REPORTED!r}}}))"
)


# ----------------------------------------------------------------------------------------------
# Commands


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
        self, argv: Sequence[str], *, cwd: Path, timeout: float, log: Path, env: dict[str, str]
    ) -> CommandResult: ...


def run_command(
    argv: Sequence[str], *, cwd: Path, timeout: float, log: Path, env: dict[str, str]
) -> CommandResult:
    """Run argv with its output appended to `log`; on timeout kill its whole process group.

    subprocess.run's timeout kills only the direct child: uv's python, and the suite's xdist
    workers below it, would go on running.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        offset = out.tell()
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
            return CommandResult(list(argv), None, str(error), time.monotonic() - start)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            out.write(f"\nrnnspec matrix: stopped after {timeout:.0f} s\n")
            out.flush()
            end_group(proc)
        except BaseException:  # Ctrl-C: the child's own session would not get the signal
            end_group(proc)
            raise
    with log.open("rb") as f:
        f.seek(max(offset, log.stat().st_size - 20000))
        output = f.read().decode(errors="replace")
    return CommandResult(list(argv), proc.returncode, output, time.monotonic() - start, timed_out)


def end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, so that rnnspec check writes its report;
    SIGKILL after TERMINATE_GRACE_S to whatever is left of the group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=TERMINATE_GRACE_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def runtime_dependencies(repo: Path) -> list[str]:
    """pyproject.toml's runtime requirements, without those chosen per release."""
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    return [d for d in project["dependencies"] if Requirement(d).name not in PINNED_HERE]


def requirements(
    release: str, repo: Path, *, onnx: bool = True, torch: str | None = None
) -> list[str]:
    """What a release's environment holds: torch pinned (or `torch`, the requirement of a
    build that is not a PyPI release: a wheel, a URL), torchvision to match, the rest."""
    numpy = "numpy<2" if Version(release) < NUMPY_2_FROM else "numpy>=1.26"
    found = [torch or f"torch=={release}", "torchvision", numpy, *runtime_dependencies(repo)]
    return found if onnx else without_onnx(found)


WHEEL_NAME = re.compile(r"^torch-(?P<version>[^-]+)-.+\.whl$")
LOCAL_BUILD = "local"  # the local version label of a build whose wheel names none: 2.15.0+local


@dataclass(frozen=True)
class TorchBuild:
    """What `--torch` names: a PyPI release ("2.15.0"), or a build from elsewhere (a wheel file,
    a URL, a requirement "torch @ ..." or "torch==2.16.0rc1") under the release it reports."""

    release: str  # a PEP 440 version: the PyPI release, or the build's own ("2.15.0+local")
    requirement: str | None = None  # what uv installs for a build from elsewhere

    @classmethod
    def parse(cls, value: str) -> TorchBuild:
        """A build from one `--torch` value; ArgumentTypeError when it names none."""
        try:
            return cls(str(Version(value)))
        except InvalidVersion:
            pass
        if value.endswith(".whl") and "://" not in value:
            path = Path(value).expanduser().resolve()
            if not path.is_file():
                raise argparse.ArgumentTypeError(f"no such wheel: {value}")
            return cls(_wheel_release(path.name), f"torch @ {path.as_uri()}")
        if re.match(r"^(https?|file)://", value):
            return cls(_wheel_release(value.rsplit("/", 1)[-1]), f"torch @ {value}")
        unknown = argparse.ArgumentTypeError(
            f"not a torch version, wheel, URL or requirement: {value!r} "
            f"(nor {' or '.join(RELEASE_SETS)})"
        )
        try:
            requirement = Requirement(value)
        except InvalidRequirement as error:
            raise unknown from error
        if requirement.name != "torch":
            raise unknown
        if requirement.url:
            return cls(_wheel_release(requirement.url.rsplit("/", 1)[-1]), value)
        pins = [s.version for s in requirement.specifier if s.operator in ("==", "===")]
        if len(pins) != 1 or "*" in pins[0]:
            raise argparse.ArgumentTypeError(f"{value!r} pins no single torch release (use ==)")
        return cls(str(Version(pins[0])), value)


def _wheel_release(filename: str) -> str:
    """The release a torch wheel's file name gives, with a local label ("+local") unless the
    name has one, so that a build never shares a folder with the PyPI release of its number."""
    match = WHEEL_NAME.match(filename)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"cannot tell the torch release of {filename!r}: name a wheel torch-VER-...whl, or "
            "give a requirement with a version, e.g. 'torch==2.16.0rc1'"
        )
    version = Version(match.group("version").replace("%2B", "+"))
    return str(version) if version.local else f"{version}+{LOCAL_BUILD}"


def without_onnx(packages: Sequence[str]) -> list[str]:
    """The requirements less the ONNX packages (a URL or a path is kept as it is)."""

    def name(requirement: str) -> str | None:
        try:
            return Requirement(requirement).name
        except InvalidRequirement:
            return None

    return [p for p in packages if name(p) not in ONNX_PACKAGES]


def plan_jobs(
    releases: Sequence[str],
    repo: Path,
    *,
    python: str = PYTHON,
    devices: Sequence[str] = (CPU,),
    builds: Mapping[str, str] | None = None,
) -> list[Job]:
    """One job per release and device, oldest release first: what `--plan` prints for a CI
    system's job matrix, and what a run on this machine runs one after another. `builds`
    gives the torch requirement of each release that is not a PyPI one (TorchBuild)."""
    builds = builds or {}
    return [
        Job(
            name=job_name(release, device),
            release=release,
            device=device,
            python=python,
            requirements=tuple(requirements(release, repo, torch=builds.get(release))),
        )
        for release in releases
        for device in devices
    ]


def uv_run(
    packages: Sequence[str],
    *,
    python: str = PYTHON,
    reinstall: bool = False,
    offline: bool = False,
    options: Sequence[str] = (),
) -> list[str]:
    """`uv run` in a cached environment holding `packages` and nothing from the project;
    `options` are uv's own (an index, --prerelease)."""
    argv = ["uv", "run", "--isolated", "--no-project", "--python", python, "--compile-bytecode"]
    argv += options
    if reinstall:
        argv.append("--reinstall")
    if offline:
        argv.append("--offline")
    for package in packages:
        argv += ["--with", package]
    return [*argv, "--"]


def child_environment(repo: Path, device: str | None = None) -> dict[str, str]:
    """os.environ with the checkout on PYTHONPATH and no outside environment selected; for a
    CPU job, CUDA hidden, so that its facts are the same on a CPU runner and a GPU one."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    variables = {k: v for k, v in os.environ.items() if k not in drop}
    variables["PYTHONPATH"] = str(repo)  # rnnspec and models, in the suite and its workers
    if device == CPU:
        variables["CUDA_VISIBLE_DEVICES"] = ""
    return variables


# ----------------------------------------------------------------------------------------------
# One release


@dataclass
class ReleaseRun:
    """One release's row of matrix.json (one job of the plan)."""

    torch: str
    status: str = "pending"
    name: str = ""  # the job's name, its folder's name (rnnspec.tool.jobs.job_name)
    device: str = CPU
    python: str = PYTHON
    requirements: list[str] = field(default_factory=list)
    installed: dict[str, str | None] = field(default_factory=dict)  # what the resolver picked
    without: list[str] = field(default_factory=list)  # packages left out to resolve at all
    env_seconds: float | None = None
    suite_seconds: float | None = None
    exit_code: int | None = None
    report_dir: str = ""
    report: str | None = None
    benchmarks: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    suite: str | None = None  # the suite's fingerprint when it started (rnnspec.tool.jobs)

    def note(self, message: str) -> None:
        self.error = "\n".join(part for part in (self.error, message) if part)


@dataclass
class MatrixConfig:
    """What `rnnspec matrix` was asked to do."""

    releases: list[str]
    out: Path = DEFAULT_OUT
    repo: Path = field(default_factory=lambda: REPO)
    pytest_args: list[str] = field(default_factory=list)
    mnist_root: Path | None = None
    timeout: float = SUITE_TIMEOUT_S
    install_timeout: float = INSTALL_TIMEOUT_S
    rebuild: bool = False
    python: str = PYTHON
    bench_rounds: int = BENCH_ROUNDS
    bench_threads: int = BENCH_THREADS  # 0: torch's default
    bench_only: bool = False
    clean_cache: bool = False  # empty uv's cache after each release (disk for --all)
    devices: tuple[str, ...] = (CPU,)  # each release once per device (rnnspec.tool.jobs.DEVICES)
    # The torch requirement of each release that is not a PyPI one (a wheel, a URL: TorchBuild)
    builds: dict[str, str] = field(default_factory=dict)
    # uv's own options for every environment: --index-url, --extra-index-url, --find-links,
    # --prerelease (a nightly index, a release candidate)
    uv_options: tuple[str, ...] = ()


def _say(name: str, message: str) -> None:
    print(f"[{name}] {message}", flush=True)


def _folder(config: MatrixConfig, name: str) -> Path:
    return (config.out / name).resolve()


def prepare(run: ReleaseRun, job: Job, config: MatrixConfig, runner: Runner) -> bool:
    """Let uv build (or reuse) the job's environment and record what it resolved.

    When it cannot resolve with the ONNX packages, it tries once without them (an old torch
    may have no onnxscript to match); their facts then skip, and the release says why.
    """
    log, env = Path(run.report_dir) / "install.log", child_environment(config.repo, job.device)
    start = time.monotonic()
    for onnx in (True, False):
        run.requirements = list(job.requirements) if onnx else without_onnx(job.requirements)
        argv = uv_run(
            run.requirements,
            python=job.python,
            reinstall=config.rebuild,
            options=config.uv_options,
        )
        result = runner(
            [*argv, "python", "-c", VERSIONS],
            cwd=config.repo,
            timeout=config.install_timeout,
            log=log,
            env=env,
        )
        run.env_seconds = round(time.monotonic() - start, 1)
        installed = _last_json_line(result.output) if result.ok else None
        if installed is not None:
            run.installed = installed
            break
        why = STATUS_TIMED_OUT if result.timed_out else f"exit {result.returncode}"
        run.note(f"uv run ... {why}:\n{result.output[-ERROR_CHARS:].strip()}")
        if result.timed_out:
            return False
    else:
        return False
    if not onnx:
        run.without = list(ONNX_PACKAGES)
        run.note(f"installed without {', '.join(ONNX_PACKAGES)}: they did not resolve (above)")
    _say(run.name, f"environment ready in {run.env_seconds} s: {run.installed}")
    return True


def _last_json_line(output: str) -> dict[str, Any] | None:
    """The object printed by VERSIONS: the last output line that is a JSON object."""
    for line in reversed(output.strip().splitlines()):
        try:
            found = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(found, dict):
            return found
    return None


def run_suite(run: ReleaseRun, config: MatrixConfig, runner: Runner) -> None:
    """Run `rnnspec check` in the release's environment and classify the result."""
    folder = Path(run.report_dir)
    argv = uv_run(run.requirements, python=run.python, offline=True, options=config.uv_options)
    argv += ["python", "-m"]
    argv += ["rnnspec", "check", f"--report-dir={folder}"]
    if config.mnist_root is not None:
        # "--opt=DIR": pytest would take an existing DIR given alone for a test path and look
        # for its rootdir and pytest.ini there, not in the checkout.
        argv.append(f"--mnist-root={config.mnist_root.resolve()}")
    argv += config.pytest_args
    _say(run.name, "running the suite")
    result = runner(
        argv,
        cwd=config.repo,
        timeout=config.timeout,
        log=folder / "suite.log",
        env=child_environment(config.repo, run.device),
    )
    run.suite_seconds, run.exit_code = round(result.seconds, 1), result.returncode
    report = folder / REPORT_FILE
    if result.timed_out:
        run.status = STATUS_TIMED_OUT
        run.note(f"stopped after {config.timeout:.0f} s")
        if report.is_file():  # the facts that completed, the rest NOT_RUN
            run.report = str(report)
        return
    try:
        payload = Report.read(report)
    except ReportError as error:
        run.status = STATUS_CRASHED
        run.note(f"no readable {REPORT_FILE} ({error}), exit {result.returncode}:\n")
        run.note(result.output[-ERROR_CHARS:].strip())
        return
    run.report = str(report)
    run.status = release_status(result.returncode, payload)
    if run.status.startswith(STATUS_CRASHED):
        run.note(result.output[-ERROR_CHARS:].strip())
    if run.device == CUDA and not payload.cuda:  # its CUDA facts skipped: not a pass
        run.note("a CUDA job, but torch saw no CUDA device: the CUDA facts were skipped")
        if run.status == STATUS_PASSED:
            run.status = STATUS_ENVIRONMENT
    _say(run.name, f"{run.status} in {run.suite_seconds} s")


# ----------------------------------------------------------------------------------------------
# Benchmarks, interleaved over the releases


def bench_command(run: ReleaseRun, config: MatrixConfig, out_json: Path) -> list[str]:
    """pytest-benchmark over the seed models' forward and forward+backward on CPU."""
    from rnnspec.tool.bench import benchmark_options

    argv = uv_run(run.requirements, python=run.python, offline=True, options=config.uv_options)
    argv += ["python", "-m"]
    argv += ["pytest", "benchmarks/test_bench_models.py", *benchmark_options(out_json)]
    return [*argv, "-k", "cpu and test_forward", "-q", "-p", "no:cacheprovider"]


def run_bench_rounds(runs: Sequence[ReleaseRun], config: MatrixConfig, runner: Runner) -> None:
    """`config.bench_rounds` rounds, each timing every release once, in release order."""
    from rnnspec.tool.bench import benchmark_medians, merge_into_report, summarise_rounds

    rounds: dict[str, list[list[dict[str, Any]]]] = {run.name: [] for run in runs}
    env = child_environment(config.repo, CPU)  # the timings are of the CPU
    if config.bench_threads > 0:
        env["OMP_NUM_THREADS"] = str(config.bench_threads)
    for number in range(1, config.bench_rounds + 1):
        for run in runs:
            folder = Path(run.report_dir)
            out_json = folder / f"bench-round-{number}.json"
            out_json.unlink(missing_ok=True)
            _say(run.name, f"benchmark round {number} of {config.bench_rounds}")
            result = runner(
                bench_command(run, config, out_json),
                cwd=config.repo,
                timeout=BENCH_TIMEOUT_S,
                log=folder / "bench.log",
                env=env,
            )
            if result.ok and out_json.is_file():
                rounds[run.name].append(benchmark_medians(out_json))
            else:
                why = STATUS_TIMED_OUT if result.timed_out else f"exit {result.returncode}"
                run.note(f"benchmark round {number} failed ({why}); see {folder / 'bench.log'}")
    for run in runs:
        run.benchmarks = summarise_rounds(rounds[run.name])
        for entry in run.benchmarks:
            entry["threads"] = config.bench_threads or None
        if run.report is not None and run.benchmarks:
            merge_into_report(run.report, run.benchmarks)


# ----------------------------------------------------------------------------------------------
# The matrix


def write_matrix(config: MatrixConfig, runs: Sequence[ReleaseRun], started: dt.datetime) -> Path:
    """Write OUT/matrix.json: what ran, with what, how long, with what result."""
    config.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema": 2,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "repo": str(config.repo),
        "python": config.python,
        "devices": list(config.devices),
        "pytest_args": config.pytest_args,
        "mnist_root": str(config.mnist_root) if config.mnist_root else None,
        "bench_rounds": config.bench_rounds,
        "bench_threads": config.bench_threads,
        "bench_only": config.bench_only,
        "releases": [asdict(r) for r in runs],
    }
    path = config.out / "matrix.json"
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


STALE = ("report.json", "report.md", "training_curves.png", "install.log", "suite.log")


def run_release(job: Job, config: MatrixConfig, runner: Runner) -> ReleaseRun:
    """One job: its environment, then its suite, into OUT/<name>/ beside job.json.

    job.json says STATUS_STARTED from the first moment, so a runner that dies leaves a truthful
    file; it gets the release's status when the job ends.
    """
    folder = _folder(config, job.name)
    run = ReleaseRun(
        torch=job.release,
        name=job.name,
        device=job.device,
        python=job.python,
        report_dir=str(folder),
        suite=suite_fingerprint(config.repo),
    )
    folder.mkdir(parents=True, exist_ok=True)
    for name in [*STALE, "bench.log", *(p.name for p in folder.glob("bench-round-*.json"))]:
        (folder / name).unlink(missing_ok=True)  # a stale report must not pass for this one
    JobResult(job=job, suite=run.suite, rnnspec=rnnspec_version(config.repo)).write(folder)
    try:
        if not prepare(run, job, config, runner):
            run.status = STATUS_NOT_INSTALLED
            _say(run.name, f"not installed ({run.env_seconds} s)")
        elif config.bench_only:
            run.status = "installed"
        else:
            run_suite(run, config, runner)
    except Exception as error:  # one broken release must not lose the others' results
        run.status, run.error = STATUS_CRASHED, f"rnnspec matrix: {error!r}"
    if config.clean_cache:
        clean_cache(run, config, runner)
    finish_job(job, run)
    return run


def finish_job(job: Job, run: ReleaseRun) -> Path:
    """Rewrite the job's job.json with what the run found (again after the benchmarks)."""
    folder = Path(run.report_dir)
    started = JobResult.read(folder) or JobResult(job=job, suite=run.suite)
    result = started.finished_now(
        status=run.status,
        error=run.error,
        installed=run.installed,
        without=run.without,
        env_seconds=run.env_seconds,
        suite_seconds=run.suite_seconds,
        exit_code=run.exit_code,
        report=Path(run.report).name if run.report else None,
    )
    return result.write(folder)


def run_matrix(config: MatrixConfig, runner: Runner = run_command) -> list[ReleaseRun]:
    """Each job's environment and suite in turn, the benchmark rounds, then the pages."""
    started = dt.datetime.now(dt.UTC)
    jobs = plan_jobs(
        config.releases,
        config.repo,
        python=config.python,
        devices=config.devices,
        builds=config.builds,
    )
    runs: list[ReleaseRun] = []
    for job in jobs:
        runs.append(run_release(job, config, runner))
        write_matrix(config, runs, started)  # progress survives an interrupt
    installed = [r for r in runs if r.installed and r.status != STATUS_NOT_INSTALLED]
    if config.bench_rounds > 0 and installed:
        run_bench_rounds(installed, config, runner)
        for job, run in zip(jobs, runs, strict=True):  # the rounds' notes, into job.json too
            finish_job(job, run)
    write_matrix(config, runs, started)
    if config.bench_only:
        write_bench_page(runs, config.out)
    else:
        write_comparison_page(jobs, config.out)
    return runs


def clean_cache(run: ReleaseRun, config: MatrixConfig, runner: Runner) -> None:
    """Empty uv's cache once a release is done (`--clean-cache`).

    Each torch release is a CUDA build of 3-5 GB in uv's cache; sixteen of them do not
    fit on a small disk. Installed environments, the project's own among them, keep
    their files; the next release is downloaded again (about 30 s here).
    """
    runner(
        ["uv", "cache", "clean", "--force"],  # the `uv run` of rnnspec itself holds the lock
        cwd=config.repo,
        timeout=config.install_timeout,
        log=Path(run.report_dir) / "install.log",
        env=child_environment(config.repo),
    )


def write_bench_page(runs: Sequence[ReleaseRun], out: Path) -> Path:
    """OUT/benchmarks.md: the medians per release and the changes outside the noise band."""
    from rnnspec.tool.bench import cross_release_lines

    timed = [(r.torch, r.benchmarks) for r in runs if r.benchmarks]
    page = out / "benchmarks.md"
    page.write_text(
        "\n".join(["# Seed models across torch releases", "", *cross_release_lines(timed)]) + "\n"
    )
    return page


def write_comparison_page(jobs: Sequence[Job], out: Path) -> Path:
    """The comparison page of the jobs' folders, read as `rnnspec compare` reads gathered
    ones: a page from one machine and one gathered from many runners are the same page."""
    from rnnspec.tool.compare import releases_from_reports, write_comparison

    folders = [(out / job.name).resolve() for job in jobs]
    return write_comparison(releases_from_reports(folders, plan=jobs), out)


# ----------------------------------------------------------------------------------------------
# The command


def parse_builds(values: Sequence[str]) -> list[TorchBuild]:
    """The builds `--torch` names: releases (space or comma separated, or a named set: "all",
    "default"), wheels, URLs or requirements, deduplicated by release, oldest first."""
    builds: dict[str, TorchBuild] = {}
    for value in values:
        items = [value] if _is_one_build(value) else value.replace(",", " ").split()
        for item in items:
            for name in RELEASE_SETS.get(item, (item,)):
                build = TorchBuild.parse(name)
                builds.setdefault(build.release, build)
    return sorted(builds.values(), key=lambda b: Version(b.release))


def _is_one_build(value: str) -> bool:
    """Whether a `--torch` value is one requirement ("torch @ URL", "torch >= ...") that may
    hold spaces or commas, rather than a list of releases."""
    return value.lstrip().startswith("torch")


def parse_releases(values: Sequence[str]) -> list[str]:
    """The releases `--torch` names (see parse_builds)."""
    return [build.release for build in parse_builds(values)]


def job_of(value: str, repo: Path, python: str) -> Job:
    """`--job`'s job: a JSON record as `--plan` printed it (CI passes it on as it is), or a
    job's name (torch-2.15.0, torch-2.15.0-cuda), planned here as `--plan` would."""
    if value.lstrip().startswith("{"):
        return Job.from_json(value)
    release, device = parse_job_name(value)
    return plan_jobs([release], repo, python=python, devices=[device])[0]


def _refuse(message: str) -> int:
    print(f"rnnspec matrix: {message}", file=sys.stderr)
    return 2


def cmd_matrix(args: argparse.Namespace, extra: Sequence[str], runner: Runner = run_command) -> int:
    """Run the suite (or only the benchmarks) against each release and write the pages; or
    print the plan (`--plan`), or run one job of it (`--job`)."""
    pytest_args = list(extra)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    if args.job is not None:
        return cmd_job(args, pytest_args, runner)
    try:
        builds = parse_builds(ALL_RELEASES if args.all else args.torch or DEFAULT_RELEASES)
    except argparse.ArgumentTypeError as error:
        return _refuse(str(error))
    releases = [build.release for build in builds]
    elsewhere = {b.release: b.requirement for b in builds if b.requirement is not None}
    devices = tuple(dict.fromkeys(args.devices or (CPU,)))
    if args.plan:
        if pytest_args:
            return _refuse("--plan prints the jobs; pytest arguments go to each `--job` run")
        jobs = plan_jobs(releases, REPO, python=args.python, devices=devices, builds=elsewhere)
        print(plan_json(jobs))
        return 0
    bench_rounds = BENCH_ROUNDS if args.bench_rounds is None else args.bench_rounds
    if args.clean_cache and (args.bench_only or bench_rounds > 0):
        return _refuse(
            "--clean-cache removes each release's environment before the interleaved "
            "benchmark rounds could use it; add --bench-rounds 0"
        )
    if args.bench_only and pytest_args:
        return _refuse("--bench-only runs no suite; pytest arguments make no sense")
    config = _config(args, releases, pytest_args, bench_rounds, devices, builds=elsewhere)
    runs = run_matrix(config, runner)
    page = "benchmarks.md" if config.bench_only else "comparison.md"
    print(f"rnnspec matrix: {config.out / 'matrix.json'}, {config.out / page}")
    width = max(len(r.name) for r in runs)
    for r in runs:
        times = f"env {r.env_seconds} s" + (
            "" if config.bench_only else f", suite {r.suite_seconds} s"
        )
        print(f"  {r.name:<{width}}  {r.status:<24} {times}")
    if config.bench_only:
        return 0 if all(r.benchmarks for r in runs) else 1
    return 0 if all(r.status == STATUS_PASSED for r in runs) else 1


def cmd_job(args: argparse.Namespace, pytest_args: list[str], runner: Runner) -> int:
    """`--job`: one job of a plan into OUT/<name>/ (job.json, the report, the logs), no page;
    exit 0 when the release passed, 1 otherwise."""
    if args.torch or args.all or args.devices or args.plan:
        return _refuse("--job names its release and device; drop --torch, --all, --devices, --plan")
    if args.bench_only or args.bench_rounds:
        return _refuse(
            "--job runs no benchmark rounds: timings from different runners do not compare; "
            "time the releases on one machine with --bench-only"
        )
    try:
        job = job_of(args.job, REPO, args.python)
    except JobError as error:
        return _refuse(f"--job: {error}")
    config = _config(args, [job.release], pytest_args, 0, (job.device,))
    run = run_release(job, config, runner)
    print(
        f"rnnspec matrix: {job.name}: {run.status} (env {run.env_seconds} s, suite "
        f"{run.suite_seconds} s); {Path(run.report_dir) / 'job.json'}"
    )
    return 0 if run.status == STATUS_PASSED else 1


def _config(
    args: argparse.Namespace,
    releases: list[str],
    pytest_args: list[str],
    bench_rounds: int,
    devices: tuple[str, ...],
    builds: dict[str, str] | None = None,
) -> MatrixConfig:
    uv_options: list[str] = []
    for option in ("index_url", "extra_index_url", "find_links"):
        for value in getattr(args, option, None) or ():
            uv_options += [f"--{option.replace('_', '-')}", value]
    if getattr(args, "prerelease", None):
        uv_options += ["--prerelease", args.prerelease]
    return MatrixConfig(
        releases=releases,
        out=Path(args.out),
        pytest_args=pytest_args,
        mnist_root=Path(args.mnist_root) if args.mnist_root else None,
        timeout=args.timeout,
        install_timeout=args.install_timeout,
        rebuild=args.rebuild,
        python=args.python,
        bench_rounds=max(1, bench_rounds) if args.bench_only else bench_rounds,
        bench_threads=args.bench_threads,
        bench_only=args.bench_only,
        clean_cache=args.clean_cache,
        devices=devices,
        builds=builds or {},
        uv_options=tuple(uv_options),
    )


def register(sub: Any) -> None:
    """Add the `matrix` subcommand to rnnspec's subparsers."""
    matrix = sub.add_parser(
        "matrix",
        help="run the spec suite against several torch releases and compare them",
        description="Arguments after -- go to pytest in every release, e.g. -- -m 'not slow'. "
        "Exit status 0 when every release passed, 1 otherwise.",
    )
    which = matrix.add_mutually_exclusive_group()
    which.add_argument(
        "--torch",
        nargs="+",
        metavar="VER",
        help="torch releases, or a named set: all, default (default: "
        f"{' '.join(DEFAULT_RELEASES)}); or a build from elsewhere: a wheel file, a URL, a "
        "requirement ('torch @ URL', 'torch==2.16.0rc1'), reported under its own release",
    )
    which.add_argument(
        "--all",
        action="store_true",
        help=f"one release per minor from 2.0: {' '.join(ALL_RELEASES)}",
    )
    matrix.add_argument(
        "--devices",
        nargs="+",
        choices=DEVICES,
        metavar="DEVICE",
        help="each release once per device: cpu (CUDA hidden from the suite), cuda (needs a "
        "GPU; a release that sees none is not a pass) (default: cpu)",
    )
    matrix.add_argument(
        "--plan",
        action="store_true",
        help="print the jobs (release, device, Python, requirements) as one line of JSON, "
        "for a CI system's job matrix; run nothing",
    )
    matrix.add_argument(
        "--job",
        metavar="JOB",
        help="run one job of a plan: its JSON record, as --plan prints it, or its name "
        "(torch-2.15.0, torch-2.15.0-cuda); writes OUT/<name>/ with job.json, no page; "
        "exit 0 when the release passed",
    )
    matrix.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (%(default)s)")
    matrix.add_argument("--mnist-root", help="folder holding MNIST/raw/, passed to every release")
    matrix.add_argument(
        "--bench-rounds",
        type=int,
        metavar="N",
        help=f"interleaved rounds timing the seed models in every release; 0: none "
        f"({BENCH_ROUNDS}; none with --job)",
    )
    matrix.add_argument(
        "--bench-threads",
        type=int,
        default=BENCH_THREADS,
        metavar="N",
        help="torch's intra-op threads while timing (OMP_NUM_THREADS); 0: torch's default "
        "(%(default)s)",
    )
    matrix.add_argument(
        "--bench-only", action="store_true", help="only the benchmark rounds, no suite"
    )
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
        help="seconds allowed for building one environment (%(default)s)",
    )
    matrix.add_argument(
        "--rebuild", action="store_true", help="reinstall every package (uv run --reinstall)"
    )
    matrix.add_argument(
        "--python", default=PYTHON, help="Python for the environments (%(default)s)"
    )
    index = matrix.add_argument_group(
        "where uv finds torch", "uv's own options, for a nightly or an in-house index"
    )
    index.add_argument("--index-url", action="append", metavar="URL", help="uv --index-url")
    index.add_argument(
        "--extra-index-url", action="append", metavar="URL", help="uv --extra-index-url"
    )
    index.add_argument("--find-links", action="append", metavar="DIR", help="uv --find-links")
    index.add_argument(
        "--prerelease", choices=("allow", "if-necessary", "explicit"), help="uv --prerelease"
    )
    matrix.add_argument(
        "--clean-cache",
        action="store_true",
        help="empty uv's cache after each release, for disks that cannot hold every "
        "release's CUDA build at once (with --bench-rounds 0)",
    )
    matrix.set_defaults(func=cmd_matrix)
