"""report.json, one schema: its names, its helpers and its typed records.

A fact has one outcome; a run has one verdict and one exit status; a release of the
matrix (one job) has one status. The plugin writes the first three and `rnnspec matrix`
the last; `rnnspec diff`, `compare` and `matrix` read them. Every one of them takes the
names, the fact ids, the release sides, the issue numbers and the records from here, and
reads a report only through `Report.from_json`, which also reads the older layouts
(`upgrade`: schema 1, and schema-2 reports written before a field existed).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
from packaging.version import InvalidVersion, Version

# ------------------------------------------------------------------- a fact's outcome
PASSED = "passed"  # the installed release keeps the promise
FAILED = "failed"  # it does not
CRASHED = "crashed"  # the fact killed its process (a signal, an abort, os._exit)
TIMED_OUT = "timed out"  # the fact ran past its time limit and was stopped
SKIPPED = "skipped"  # not checkable here, with the reason
ERROR = "error"  # the environment stopped it (no network, a broken data folder)
KNOWN_BUG = "known_bug"  # the release has a known upstream bug, as the ledger describes it
NOT_RUN = "not run"  # collected, but the run ended before it (interrupted, too many crashes)

OUTCOMES = (PASSED, FAILED, CRASHED, TIMED_OUT, SKIPPED, ERROR, KNOWN_BUG, NOT_RUN)
FAILING = (FAILED, CRASHED, TIMED_OUT)  # the release broke the promise: a failure of the fact
EXECUTED = (PASSED, FAILED, CRASHED, TIMED_OUT, KNOWN_BUG)  # the fact's body ran to a verdict

# ----------------------------------------------------------------------- a run's verdict
VERDICT_PASSED = PASSED
VERDICT_FAILED = FAILED
VERDICT_INTERRUPTED = "incomplete: interrupted"
VERDICT_ENVIRONMENT = "incomplete: environment"
VERDICT_NOT_RUN = NOT_RUN
VERDICTS = (VERDICT_PASSED, VERDICT_FAILED, VERDICT_INTERRUPTED, VERDICT_ENVIRONMENT, NOT_RUN)

# ------------------------------------------------------ `rnnspec check`'s exit statuses
# pytest's own codes where they mean the same (0, 1, 5), and two of rnnspec's.
EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_NOT_RUN = 5  # facts were collected but none executed (pytest's NO_TESTS_COLLECTED)
EXIT_ENVIRONMENT = 6  # nothing failed, but facts could not run because of the environment
EXIT_INTERRUPTED = 7  # nothing failed, but the run was interrupted before every fact ran

EXIT_OF_VERDICT = {
    VERDICT_PASSED: EXIT_PASSED,
    VERDICT_FAILED: EXIT_FAILED,
    VERDICT_INTERRUPTED: EXIT_INTERRUPTED,
    VERDICT_ENVIRONMENT: EXIT_ENVIRONMENT,
    VERDICT_NOT_RUN: EXIT_NOT_RUN,
}
VERDICT_OF_EXIT = {code: verdict for verdict, code in EXIT_OF_VERDICT.items()}


# ------------------------------------------- a release's status in the matrix (one job each)
# What `rnnspec matrix` writes into each job's job.json and matrix.json, and what the
# comparison page shows in its releases table.
STATUS_PASSED = PASSED  # a report whose verdict is VERDICT_PASSED, from a suite that exited 0
STATUS_FAILED = FAILED
STATUS_ENVIRONMENT = "incomplete (environment)"
STATUS_INTERRUPTED = "incomplete (interrupted)"
STATUS_NO_FACTS = "no facts executed"
STATUS_NOT_INSTALLED = "not installed"  # uv could not build the release's environment
STATUS_TIMED_OUT = TIMED_OUT  # the suite ran past its limit (its report, if any, is kept)
STATUS_CRASHED = CRASHED  # no report, pytest's internal error, a signal; a reason may follow
STATUS_NOT_RUN = NOT_RUN  # planned, but no result of the job reached the comparison
STATUS_STARTED = "started"  # job.json while the job runs; left so, the job never finished
STATUS_OF_VERDICT = {
    VERDICT_PASSED: STATUS_PASSED,
    VERDICT_FAILED: STATUS_FAILED,
    VERDICT_ENVIRONMENT: STATUS_ENVIRONMENT,
    VERDICT_INTERRUPTED: STATUS_INTERRUPTED,
    VERDICT_NOT_RUN: STATUS_NO_FACTS,
}


def verdict(summary: dict[str, int]) -> str:
    """The run's verdict from its count of facts per outcome: a failing fact decides it;
    then a run that ended early; then facts the environment stopped; then no fact run."""
    if any(summary.get(outcome) for outcome in FAILING):
        return VERDICT_FAILED
    if summary.get(NOT_RUN):
        return VERDICT_INTERRUPTED
    if summary.get(ERROR):
        return VERDICT_ENVIRONMENT
    if not any(summary.get(outcome) for outcome in EXECUTED):
        return VERDICT_NOT_RUN
    return VERDICT_PASSED


def crashed(reason: str) -> str:
    """A crash with its reason, as an outcome's message or a release's status says it:
    `crashed("SIGSEGV (signal 11)")` after a colon, `crashed("(exit 3)")` after a space."""
    return f"{CRASHED}{'' if reason.startswith('(') else ':'} {reason}"


def release_status(code: int | None, report: Report | None) -> str:
    """A release's status from `rnnspec check`'s exit status and its report.

    No exit status or one rnnspec never gives (internal or usage error, a signal): crashed.
    A run that exited without a fact in its report did not check anything (under xdist a
    collection error exits 1, like a failing test): crashed, or no facts executed for 5.
    Else the report's verdict, except that a passing verdict with a non-zero exit fails.
    """
    if code is None:
        return STATUS_CRASHED
    if code not in VERDICT_OF_EXIT:
        return crashed(f"(exit {code})")
    if report is None or not report.facts:
        return STATUS_NO_FACTS if code == EXIT_NOT_RUN else crashed("(no facts collected)")
    found = report.verdict or VERDICT_OF_EXIT[code]  # a schema-1 report records none
    status = STATUS_OF_VERDICT.get(found, crashed(f"(verdict {found!r})"))
    return STATUS_FAILED if status == STATUS_PASSED and code != EXIT_PASSED else status


# ------------------------------------------------------------------------- a fact's id

SPECS_FOLDER = "specs"  # a fact's id starts at the folder of that name that holds its module
XDIST_GROUP = re.compile(r"@[^@\[\]/:]*$")  # "...::test_x[a]@char-rnn" -> "...::test_x[a]"


def stable_id(node_id: str, groups: Sequence[str] = ()) -> str:
    """A fact's id, the same wherever and however it ran: from its `specs/` folder on
    ("rnnspec/specs/pytorch/test_x.py::test_y" in a checkout and ".../site-packages/rnnspec/
    specs/pytorch/..." in an installed wheel are both "specs/pytorch/test_x.py::test_y"),
    without the "@group" suffix xdist's --dist loadgroup appends: `groups` are the item's
    xdist_group names (the plugin knows them); without them any such suffix goes (a reader
    of reports that pytest-xdist once wrote so). A team's own facts keep their ids."""
    if groups:
        suffix = "@" + "_".join(sorted(groups))
        node_id = node_id.removesuffix(suffix)
    else:
        node_id = XDIST_GROUP.sub("", node_id)
    path, separator, rest = node_id.partition("::")
    folders = path.split("/")[:-1]
    if SPECS_FOLDER not in folders:
        return node_id
    start = folders.index(SPECS_FOLDER)
    return "/".join(path.split("/")[start:]) + separator + rest


def family_of(fact_id: str) -> str:
    """The fact family: a parametrized test function's id without its `[...]` parameters."""
    path, separator, test = fact_id.partition("::")
    return path + separator + test.split("[", 1)[0]


def case_of(fact_id: str) -> str:
    """The parameters of one case of a family ("LSTM-proj_size"), "" for a plain test."""
    test = fact_id.partition("::")[2]
    return test.partition("[")[2].removesuffix("]")


def topic_of_id(fact_id: str) -> str:
    """The spec module a fact belongs to: the path part of its id."""
    return fact_id.partition("::")[0]


# ------------------------------------------------------------ a version-gated fact's side

RELEASE_SIDE = "release_side"  # the observation a `since=` fact records


def boundaries(since: str | Sequence[str]) -> tuple[str, ...]:
    """The release boundaries of a `since=` fact, oldest first: "2.11", ("2.4", "2.6") or
    "2.4, 2.6" (as reports record it). Raises InvalidVersion for anything that is not a
    release number, or releases out of order."""
    values = since.split(",") if isinstance(since, str) else since
    found = tuple(str(v).strip() for v in values)
    releases = [Version(v) for v in found]
    if not found or releases != sorted(releases):
        raise InvalidVersion(f"{since!r}: give one or more releases, oldest first")
    return found


def release_side(since: str | Sequence[str], reached: Callable[[str], bool]) -> str:
    """Which side of its boundaries a release is on: "from 2.6" for the newest boundary it
    has reached (`reached(boundary)`), "before 2.4" when it reached none."""
    found = boundaries(since)
    passed = [b for b in found if reached(b)]
    return f"from {passed[-1]}" if passed else f"before {found[0]}"


def base_version(text: str | None) -> Version | None:
    """A torch version without its local tag (2.11.0+cpu -> 2.11.0); None when unreadable."""
    try:
        return Version(Version(str(text)).base_version)
    except InvalidVersion:
        return None


# ------------------------------------------------------------------ issues and threads

# A GitHub issue or pull request: owner, repository, "issues" or "pull", number.
GITHUB_THREAD = re.compile(r"^https://github\.com/([\w.-]+)/([\w.-]+)/(issues|pull)/(\d+)$")


def issue_number(url: str) -> str:
    """A GitHub issue or pull request URL as owner/repo#N; any other text as it is."""
    match = GITHUB_THREAD.match(url.rstrip("/"))
    return f"{match.group(1)}/{match.group(2)}#{match.group(4)}" if match else url


# ---------------------------------------------------------------------- the records

SCHEMA = 2  # the layout this rnnspec writes
READABLE_SCHEMAS = (1, 2)  # and those it reads (1: no observations, warnings, bugs, errors)
REPORT_FILE = "report.json"
ARCHIVED_REPORT_FILE = "report.json.gz"  # a committed report, slimmed to what diff reads


class ReportError(Exception):
    """A report file that is missing, is not JSON, is not an rnnspec report, or has a schema
    this rnnspec cannot read; the message is one line."""


class Observation(msgspec.Struct):
    """A value a fact observed, with the tolerance within which another release matches."""

    value: Any = None
    tolerance: float | None = None


class RaisedWarning(msgspec.Struct):
    """A warning raised while a fact ran: its category, message and the module that raised it."""

    category: str = ""
    message: str = ""
    module: str = ""


class Bug(msgspec.Struct):
    """A known bug as a report carries it (rnnspec.bugs.KnownBug), with whether it held."""

    issue: str
    number: str = ""
    summary: str = ""
    affects: str = ""
    package: str = "torch"
    fixed_by: str | None = None
    kind: str = ""
    measured: str = ""
    upstream: str = ""
    crash: str | None = None
    holds: bool = False

    @property
    def name(self) -> str:
        """ "owner/repo#N (summary)" for one-line mentions."""
        number = issue_number(self.issue)
        return f"{number} ({self.summary})" if self.summary else number


class HeldBug(Bug):
    """A known bug that holds for the report's release, with the facts that name it."""

    facts: list[dict[str, str]] = []


class Fact(msgspec.Struct):
    """One fact of a report: what it cites and claims, its outcome and what it observed."""

    id: str
    topic: str = ""
    source: str = ""
    quote: str | None = None
    claim: str = ""
    erratum: str | None = None
    since: str | None = None  # "2.11", or "2.4, 2.6" for a fact that changed twice
    bug: Bug | None = None
    outcome: str = PASSED
    observed: str | None = None
    fix: str | None = None
    observations: dict[str, Observation] = {}
    warnings: list[RaisedWarning] = []
    duration_s: float = 0.0

    @property
    def family(self) -> str:
        return family_of(self.id)

    @property
    def module(self) -> str:
        """The spec module (the page's topic): recorded, else the path part of its id."""
        return self.topic or topic_of_id(self.id)


class TorchBuild(msgspec.Struct):
    """The torch build: its commit and the CUDA or ROCm it was built for (None: CPU only)."""

    git_version: str | None = None
    cuda: str | None = None
    hip: str | None = None


class Report(msgspec.Struct):
    """report.json: the machine and its packages, the run's verdict, the facts."""

    facts: list[Fact]
    schema: int = 1
    torch: str = "?"
    torch_build: TorchBuild = msgspec.field(default_factory=TorchBuild)
    torchvision: str | None = None
    packages: dict[str, str | None] = {}
    python: str | None = None
    platform: str | None = None
    cpu: str | None = None
    cpu_capability: str | None = None
    threads: int | None = None
    cuda: str | None = None
    device: str | None = None
    started: str | None = None
    finished: str | None = None
    duration_s: float | None = None
    exitstatus: int | None = None
    verdict: str | None = None
    summary: dict[str, int] = {}
    other_tests: dict[str, int] = {}
    errata: list[dict[str, Any]] = []
    known_bugs: list[HeldBug] = []
    training: list[dict[str, Any]] = []
    benchmarks: list[dict[str, Any]] = []

    @property
    def records_observations(self) -> bool:
        """Whether its facts record observations and warnings (schema 2 on; not schema 1)."""
        return self.schema >= 2

    @property
    def release(self) -> Version | None:
        """Its torch release without the local tag."""
        return base_version(self.torch)

    def by_id(self) -> dict[str, Fact]:
        return {fact.id: fact for fact in self.facts}

    @classmethod
    def from_json(cls, data: bytes | str, origin: str = "report") -> Report:
        """Parse and check a report of any readable schema; ReportError names what is wrong."""
        try:
            raw = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ReportError(f"{origin}: not JSON: {error}") from error
        return cls.from_data(raw, origin)

    @classmethod
    def from_data(cls, raw: object, origin: str = "report") -> Report:
        """A parsed report.json (any readable schema) as the typed record."""
        if not isinstance(raw, dict) or not isinstance(raw.get("facts"), list):
            raise ReportError(f"{origin}: not an rnnspec report (no 'facts' list)")
        schema = raw.get("schema", 1)
        if schema not in READABLE_SCHEMAS:
            raise ReportError(
                f"{origin}: report schema {schema!r}, this rnnspec reads schemas "
                f"{', '.join(map(str, READABLE_SCHEMAS))}: compare with the rnnspec that wrote "
                "it, or a newer one"
            )
        for fact in raw["facts"]:
            if not isinstance(fact, dict) or not {"id", "outcome"} <= fact.keys():
                raise ReportError(f"{origin}: a fact without 'id' and 'outcome': {fact!r:.200}")
        try:
            return msgspec.convert(upgrade(raw), cls)
        except msgspec.ValidationError as error:
            raise ReportError(f"{origin}: {error}") from error

    @classmethod
    def read(cls, path: Path) -> Report:
        """Read report.json (or report.json.gz), or the one inside a folder."""
        path = Path(path)
        if path.is_dir():
            full, archived = path / REPORT_FILE, path / ARCHIVED_REPORT_FILE
            path = archived if archived.is_file() and not full.is_file() else full
        try:
            data = path.read_bytes()
            if path.name.endswith(".gz"):
                data = gzip.decompress(data)
        except OSError as error:
            raise ReportError(f"{path}: cannot read: {error.strerror or error}") from error
        except gzip.BadGzipFile as error:
            raise ReportError(f"{path}: not gzip: {error}") from error
        return cls.from_json(data, str(path))

    def to_json(self, *, slim: bool = False) -> bytes:
        """The report as JSON, one fact per line (compact, and still diffable by line);
        `slim` leaves out the empty fields of facts and bugs (an archived report)."""
        head = msgspec.to_builtins(self)
        facts = head.pop("facts")
        if slim:
            head = {k: v for k, v in head.items() if v not in EMPTY}
            head["known_bugs"] = [_without_empty(bug) for bug in head.get("known_bugs", [])]
            facts = [_without_empty(fact) for fact in facts]
        lines = ",\n".join(json.dumps(fact, separators=(",", ":")) for fact in facts)
        top = json.dumps(head, separators=(",", ":"))
        return (top[:-1] + ("," if head else "") + f'"facts":[\n{lines}\n]}}\n').encode()

    def archived(self) -> Report:
        """The report slimmed to what `rnnspec diff` and `compare` read: facts keep their
        outcome, source, since, bug (its thread, summary and whether it held), what they
        observed and raised; claims, quotes, errata, topics, durations and training go
        (the full report stays in the run's own folder)."""
        facts = [
            msgspec.structs.replace(
                fact,
                topic="",
                quote=None,
                claim=fact.claim if fact.outcome in FAILING else "",
                erratum=None,
                duration_s=0.0,
                bug=None
                if fact.bug is None
                else Bug(
                    fact.bug.issue,
                    summary=fact.bug.summary,
                    affects=fact.bug.affects,
                    holds=fact.bug.holds,
                ),
            )
            for fact in self.facts
        ]
        bugs = [
            HeldBug(bug.issue, summary=bug.summary, affects=bug.affects, holds=True)
            for bug in self.known_bugs
        ]
        return msgspec.structs.replace(
            self, facts=facts, errata=[], training=[], known_bugs=bugs, schema=SCHEMA
        )


EMPTY: tuple[Any, ...] = (None, "", [], {})


def _without_empty(fact: dict[str, Any]) -> dict[str, Any]:
    """A fact's fields without those that hold nothing (its bug's too; observations as they are)."""
    kept = {k: v for k, v in fact.items() if v not in EMPTY and k != "duration_s"}
    if isinstance(kept.get("bug"), dict):
        kept["bug"] = {k: v for k, v in kept["bug"].items() if v not in EMPTY}
    return kept


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """The older layouts read as the current one, in this one place: a schema-1 report records
    no observations, warnings, bugs or errors (its facts get none, and `records_observations`
    says so); an observation stored as a bare value has no tolerance; fact ids lose any xdist
    "@group" suffix and start at `specs/`."""
    facts = []
    for fact in raw["facts"]:
        observations = fact.get("observations") or {}
        fact = {
            **{k: v for k, v in fact.items() if v is not None},
            "id": stable_id(str(fact["id"])),
            "observations": {
                name: entry
                if isinstance(entry, dict) and "value" in entry
                else {"value": entry, "tolerance": None}
                for name, entry in observations.items()
            },
            "warnings": [w for w in fact.get("warnings") or [] if isinstance(w, dict)],
        }
        if not isinstance(fact.get("bug"), dict) or not fact["bug"].get("issue"):
            fact.pop("bug", None)
        facts.append(fact)
    return {**{k: v for k, v in raw.items() if v is not None}, "facts": facts}
