"""One job of the release matrix: the plan's record, and the status file the job leaves.

`rnnspec matrix --plan` prints a list of `Job` records as JSON, the input of a CI
system's job matrix (GitHub Actions: `strategy.matrix.include: ${{ fromJSON(...) }}`).
`rnnspec matrix --job` runs one of them into OUT/<name>/ and writes `job.json` there (a
`JobResult`): first with the status STATUS_STARTED, then with the release's status, so that
a runner that dies halfway still leaves a file that says so. `rnnspec compare` reads
both: a planned job without a result is STATUS_NOT_RUN, a job.json still STATUS_STARTED is a job
that stopped before it finished. The status names live in rnnspec.schema.

A job's requirements are strings that uv installs, torch first: a pin today
(`torch==2.15.0`); a URL or a wheel fits the same record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from rnnspec.schema import STATUS_CRASHED, STATUS_STARTED

JOB_FILE = "job.json"
JOB_SCHEMA = 1  # job.json's layout; a reader refuses a schema it does not know
CPU, CUDA = "cpu", "cuda"
# "cpu": CUDA hidden from the suite (CUDA_VISIBLE_DEVICES=""), whatever the runner has;
# "cuda": a GPU runner, and a release that sees no CUDA device is not a pass.
DEVICES = (CPU, CUDA)
NAME = re.compile(r"^torch-(?P<release>[^-/\s]+?)(?:-(?P<device>[a-z]+))?$")
# The files whose content makes the suite what it is: two jobs that hashed them differently
# ran different suites (the comparison page warns).
SUITE_FILES = ("rnnspec/**/*.py", "rnnspec/**/*.json", "rnnspec/facts.ini", "models/**/*.py")


class JobError(Exception):
    """A job record, plan or job.json that rnnspec cannot read; the message is one line."""


def job_name(release: str, device: str) -> str:
    """The folder and artifact name of a job, the same on every runner: torch-2.15.0,
    torch-2.15.0-cuda."""
    return f"torch-{release}" if device == CPU else f"torch-{release}-{device}"


@dataclass(frozen=True)
class Job:
    """One entry of the plan: one torch release on one kind of runner."""

    name: str  # the job's folder and artifact name (job_name)
    release: str  # the torch release it checks
    device: str  # CPU or CUDA
    python: str  # the Python of the release's environment
    requirements: tuple[str, ...]  # what uv installs, torch first; numpy<2 before torch 2.3

    @property
    def label(self) -> str:
        """The job's name on the comparison page: the release, with its device unless CPU."""
        return self.release if self.device == CPU else f"{self.release} ({self.device})"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "requirements": list(self.requirements)}

    @classmethod
    def from_json(cls, data: Any) -> Job:
        """A job from its JSON record (a dict, or the text of one); JobError if malformed."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as error:
                raise JobError(f"a job record is a JSON object: {error}") from error
        if not isinstance(data, dict):
            raise JobError(f"a job record is a JSON object, not {type(data).__name__}")
        missing = [
            k for k in ("name", "release", "device", "python", "requirements") if k not in data
        ]
        if missing:
            raise JobError(f"job record without {', '.join(missing)}: {json.dumps(data)[:200]}")
        requirements = data["requirements"]
        if not (isinstance(requirements, list) and requirements) or not all(
            isinstance(r, str) and r for r in requirements
        ):
            raise JobError(f"job {data['name']!r}: requirements must be a list of strings")
        job = cls(
            name=str(data["name"]),
            release=str(data["release"]),
            device=str(data["device"]),
            python=str(data["python"]),
            requirements=tuple(requirements),
        )
        job.check()
        return job

    def check(self) -> None:
        """JobError unless the record names a release, a known device and a plain folder name."""
        try:
            Version(self.release)
        except InvalidVersion as error:
            raise JobError(f"job {self.name!r}: not a torch version: {self.release!r}") from error
        if self.device not in DEVICES:
            raise JobError(f"job {self.name!r}: device {self.device!r} is not one of {DEVICES}")
        if self.name != job_name(self.release, self.device):
            raise JobError(
                f"job {self.name!r}: its name must be {job_name(self.release, self.device)!r}, "
                "the folder that gathering expects"
            )


def parse_job_name(name: str) -> tuple[str, str]:
    """(release, device) of a job name (torch-2.15.0, torch-2.15.0-cuda); JobError otherwise."""
    match = NAME.match(name)
    device = (match.group("device") or CPU) if match else ""
    if match is None or device not in DEVICES:
        raise JobError(f"not a job name: {name!r} (torch-VER, or torch-VER-cuda)")
    return match.group("release"), device


def read_plan(path: Path) -> list[Job]:
    """The jobs of a plan file that `rnnspec matrix --plan` printed; JobError if unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise JobError(f"{path}: cannot read the plan: {error.strerror or error}") from error
    except json.JSONDecodeError as error:
        raise JobError(f"{path}: the plan is not JSON: {error}") from error
    if not isinstance(data, list):
        raise JobError(f"{path}: a plan is a JSON list of jobs (rnnspec matrix --plan)")
    try:
        return [Job.from_json(item) for item in data]
    except JobError as error:
        raise JobError(f"{path}: {error}") from error


def suite_fingerprint(repo: Path) -> str:
    """A short hash of the suite's files (specs, rnnspec, models, the pytest configuration):
    reports gathered from runners that checked out different suites hash differently."""
    digest = hashlib.sha256()
    files = sorted({p for pattern in SUITE_FILES for p in repo.glob(pattern) if p.is_file()})
    for path in files:
        digest.update(path.relative_to(repo).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def rnnspec_version(repo: Path) -> str | None:
    """The version in the checkout's pyproject.toml (the matrix runs the checkout, not a wheel)."""
    try:
        return tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class JobResult:
    """job.json: what one job did, written when it starts and again when it ends."""

    job: Job
    status: str = STATUS_STARTED
    error: str | None = None
    installed: dict[str, str | None] = field(default_factory=dict)  # what uv resolved
    without: list[str] = field(default_factory=list)  # packages left out to resolve at all
    env_seconds: float | None = None
    suite_seconds: float | None = None
    exit_code: int | None = None
    report: str | None = None  # report.json beside job.json, when the suite wrote one
    suite: str | None = None  # suite_fingerprint of the checkout that ran
    rnnspec: str | None = None  # rnnspec_version
    started: str = field(default_factory=now)
    finished: str | None = None
    schema: int = JOB_SCHEMA

    @property
    def final_status(self) -> str:
        """The status to show: a job.json still STATUS_STARTED belongs to a job that was stopped
        (its runner lost, cancelled, past the CI's own limit) before it could say more."""
        if self.status == STATUS_STARTED:
            return f"{STATUS_CRASHED} (the job stopped before rnnspec matrix finished)"
        return self.status

    def write(self, folder: Path) -> Path:
        """Write folder/job.json whole (a temporary file renamed)."""
        from rnnspec.tool.report import write_whole

        folder.mkdir(parents=True, exist_ok=True)
        payload = {**asdict(self), "job": self.job.to_json()}
        write_whole(folder / JOB_FILE, json.dumps(payload, indent=1) + "\n")
        return folder / JOB_FILE

    def finished_now(self, **changes: Any) -> JobResult:
        return replace(self, finished=now(), **changes)

    @classmethod
    def read(cls, folder: Path) -> JobResult | None:
        """folder/job.json, or None when there is none; JobError when it cannot be read."""
        path = Path(folder) / JOB_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise JobError(f"{path}: not a readable job.json: {error}") from error
        if not isinstance(data, dict):
            raise JobError(f"{path}: not a job.json (a JSON object)")
        if data.get("schema") != JOB_SCHEMA:
            raise JobError(
                f"{path}: job.json schema {data.get('schema')!r}, this rnnspec reads schema "
                f"{JOB_SCHEMA}: gather with the rnnspec that ran the jobs"
            )
        known = set(cls.__dataclass_fields__) - {"job"}
        try:
            job = Job.from_json(data.get("job"))
            return cls(job=job, **{k: v for k, v in data.items() if k in known})
        except (JobError, TypeError) as error:
            raise JobError(f"{path}: {error}") from error


def plan_json(jobs: Sequence[Job]) -> str:
    """The plan as one line of JSON: a list of job records, ready for `fromJSON`."""
    return json.dumps([job.to_json() for job in jobs])
