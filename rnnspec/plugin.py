"""The rnnspec pytest plugin: the fact mark, the suite's options, the citation check, the report.

A spec is a test under `specs/` marked `@pytest.mark.fact(source, *, quote=None,
erratum=None, since=None, bug=None)`; its docstring's first paragraph is its claim.
Collection fails for a spec without a source or a claim, so no fact goes uncited.

What a fact records, beside its outcome:

- `observe(name, value, *, tolerance=None)` (a fixture): a small JSON value the fact
  observed; a float needs the tolerance within which another release counts as the same.
- the warnings raised while it ran (category, message, the module that raised them);
- `release_side`, for a `since="2.11"` fact: "from 2.11" or "before 2.11" (a fact that
  changed twice names both releases, oldest first: `since=("2.4", "2.6")`);
- `known_bug` (a fixture): for a fact naming `bug=`, `with known_bug.expected(match=...)`
  holds the promised behaviour; where the installed release has the bug the block must
  fail (the fact is then "known_bug"), and where it no longer does the fact fails with
  "fixed in <package> <release>".

A fact that raises `rnnspec.environment.EnvironmentProblem` (no network for a download,
a missing data folder) is an "error" with the problem's one-line fix, not a failure. A
fact that kills its process is "crashed", one that outlives its time limit "timed out",
and the facts an interrupted run never reached "not run" (rnnspec.guard, loaded with
this plugin, keeps the run going and says how). A fact marked `@pytest.mark.forked`
runs in a child process of its own (pytest-forked); its crash names the signal too.

The rows are gathered from the test reports on the xdist controller (or the only
process), so the report sees exactly what pytest saw, and a fact has one id whatever
the run: xdist's `@group` suffix is removed. Exit status: pytest's own, except 5 when
facts were collected but none executed, and 6 (`ENVIRONMENT_INCOMPLETE`) when nothing
failed but some facts could not run because of the environment, and 7
(`EXIT_INTERRUPTED`) when nothing failed but the run was interrupted (rnnspec.schema).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import os
import re
import signal
import site
import sysconfig
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from packaging.version import InvalidVersion

from rnnspec import guard
from rnnspec.bugs import KnownBug
from rnnspec.diff import warning_module
from rnnspec.environment import EnvironmentProblem
from rnnspec.guard import pytest_cmdline_main  # noqa: F401 (the guard's hook is this plugin's)
from rnnspec.releases import installed, torch_at_least
from rnnspec.schema import (
    CRASHED,
    ERROR,
    EXIT_ENVIRONMENT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    FAILED,
    KNOWN_BUG,
    NOT_RUN,
    PASSED,
    RELEASE_SIDE,
    SKIPPED,
    TIMED_OUT,
    VERDICT_FAILED,
    VERDICT_INTERRUPTED,
    VERDICT_NOT_RUN,
    Fact,
    Observation,
    RaisedWarning,
    boundaries,
    crashed,
    release_side,
    stable_id,
    verdict,
)

SPECS_DIR = "specs"
# Keys of item.user_properties: they travel from xdist workers (and forked children) to the
# controller inside each test report.
FACT_KEY = "rnnspec.fact"
OBSERVATION_KEY = "rnnspec.observation"
WARNINGS_KEY = "rnnspec.warnings"
ENVIRONMENT_KEY = "rnnspec.environment_problem"
KNOWN_BUG_KEY = "rnnspec.known_bug"
CURVE_KEY = "training_curve"  # a training log, recorded by the MNIST facts with record_property

FACT_OPTIONS = ("source", "quote", "erratum", "since", "bug")
OBSERVATION_LIMIT = 4000  # characters of JSON: an observation is a value, not a tensor dump
ENVIRONMENT_INCOMPLETE = EXIT_ENVIRONMENT  # exit status: no fact failed, some could not run
# A fact's outcome is the worst of its phases' (set-up, call, teardown).
OUTCOME_RANK = {
    PASSED: 0,
    SKIPPED: 1,
    KNOWN_BUG: 2,
    NOT_RUN: 3,
    ERROR: 4,
    FAILED: 5,
    TIMED_OUT: 6,
    CRASHED: 7,
}
XDIST_WORKER = re.compile(r"<WorkerController (\w+)>")
CRASH = re.compile(r"CRASHED with signal (\d+)|EXITED with status (\d+)")


# ----------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rnnspec")
    group.addoption(
        "--mnist-root",
        metavar="DIR",
        default=None,
        help="folder holding MNIST/raw/ (else $RNNSPEC_MNIST_ROOT, else $TORCH_HOME/datasets); "
        "an explicit folder that is missing or corrupt is an error",
    )
    group.addoption(
        "--download-mnist",
        action="store_true",
        help="let torchvision download MNIST into that folder (needs the network)",
    )
    group.addoption(
        "--profile",
        choices=("default", "deep"),
        default=os.environ.get("RNNSPEC_PROFILE", "default"),
        help="deep: training facts over several seeds, more hypothesis examples",
    )
    group.addoption(
        "--report-dir",
        metavar="DIR",
        default=None,
        help="write the fact report there (report.md, report.json, training_curves.png)",
    )
    group.addoption(
        "--user-specs",
        metavar="DIR",
        action="append",
        default=[],
        help="a team's own folder of facts (repeatable): each test in it is a fact, reported "
        "under an id that starts at the folder's name (rnnspec check --specs DIR)",
    )
    guard.add_options(group)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fact(source, *, quote=None, erratum=None, since=None, bug=None): a documented fact; "
        "source is a seed file name or a documentation URL, the claim is the docstring's "
        "first paragraph, quote the seed's own sentence(s), since the torch release from "
        "which the behaviour holds, bug an rnnspec.bugs.KnownBug the fact expects.",
    )
    config.stash[SESSION_PID] = os.getpid()  # a forked fact's child has another one
    guard.configure(config)
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        config.pluginmanager.register(FactCollector(config), "rnnspec-facts")


def pytest_unconfigure(config: pytest.Config) -> None:
    guard.unconfigure(config)


# ----------------------------------------------------------------- the citation check


def claim_of(item: pytest.Item) -> str:
    doc = inspect.getdoc(getattr(item, "obj", None)) or ""
    return " ".join(doc.split("\n\n")[0].split())


class SpecWithoutFactError(pytest.UsageError):
    """A test under specs/ without a fact mark (with a source) or without a docstring claim."""


def user_specs_folder(item: pytest.Item) -> Path | None:
    """The team's fact folder (`--user-specs`) that holds `item`, if one does."""
    path = Path(str(item.path)).resolve()
    for folder in item.config.getoption("--user-specs", None) or ():
        root = Path(folder).resolve()
        if path.is_relative_to(root):
            return root
    return None


def is_spec(item: pytest.Item) -> bool:
    """Whether `item` is a fact: in a `specs/` folder below the rootdir (folders above it don't
    count), or in a team's fact folder (`--user-specs`)."""
    if user_specs_folder(item) is not None:
        return True
    path = Path(str(item.path))
    try:
        parts = path.relative_to(item.config.rootpath).parts
    except ValueError:  # outside the rootdir
        parts = path.parts
    return SPECS_DIR in parts[:-1]


def fact_problem(item: pytest.Item) -> str | None:
    """Why a spec item is not a citable fact; None if it is one."""
    mark = item.get_closest_marker("fact")
    uses_known_bug = "known_bug" in getattr(item, "fixturenames", ())
    lacks = None
    if mark is None:
        lacks = "@pytest.mark.fact(source, ...)"
    elif not (mark.args or mark.kwargs.get("source")):
        lacks = "a source in @pytest.mark.fact(source, ...)"
    elif not claim_of(item):
        lacks = "a docstring claim"
    if lacks is not None:
        return (
            f"{item.nodeid}: every spec needs @pytest.mark.fact(source, ...) and a docstring "
            f"claim; this one lacks {lacks}"
        )
    unknown = sorted(set(mark.kwargs) - set(FACT_OPTIONS))
    bug = mark.kwargs.get("bug")
    since = mark.kwargs.get("since")
    if unknown:
        return f"{item.nodeid}: @pytest.mark.fact has no option {', '.join(unknown)}"
    if since is not None:
        try:
            boundaries(since)
        except InvalidVersion:
            return (
                f"{item.nodeid}: since={since!r} is not a release number such as '2.11' "
                "(or a tuple of them, oldest first)"
            )
    if bug is not None and not isinstance(bug, KnownBug):
        return f"{item.nodeid}: bug= takes an rnnspec.bugs.KnownBug, not {type(bug).__name__}"
    if uses_known_bug and bug is None:
        return (
            f"{item.nodeid}: uses the known_bug fixture but its fact mark names no bug= "
            "(@pytest.mark.fact(source, bug=rnnspec.bugs.SOME_BUG))"
        )
    if bug is not None and not uses_known_bug:
        return (
            f"{item.nodeid}: names bug={bug.number} but never checks it: state the promised "
            "behaviour inside `with known_bug.expected(match=...):`"
        )
    return None


def fact_id(item: pytest.Item) -> str:
    """The fact's id (rnnspec.schema.stable_id); a team's own fact's starts at its folder."""
    node_id = stable_id(item.nodeid)
    team = user_specs_folder(item)
    if team is not None:  # "<folder name>/<path in it>::<test>", wherever the folder lies
        path = Path(str(item.path)).resolve().relative_to(team.parent).as_posix()
        return path + "::" + node_id.partition("::")[2]
    return node_id


def fact_metadata(item: pytest.Item) -> dict[str, Any] | None:
    """What the report says of a spec item besides its outcome; None outside specs/."""
    if not is_spec(item):
        return None
    problem = fact_problem(item)
    if problem is not None:
        raise SpecWithoutFactError(problem)
    mark = item.get_closest_marker("fact")
    bug: KnownBug | None = mark.kwargs.get("bug")
    since = mark.kwargs.get("since")
    found = fact_id(item)
    return {
        "id": found,
        "topic": found.split("::")[0],
        "source": mark.kwargs.get("source", mark.args[0] if mark.args else None),
        "quote": mark.kwargs.get("quote"),
        "claim": claim_of(item),
        "erratum": mark.kwargs.get("erratum"),
        "since": None if since is None else ", ".join(boundaries(since)),
        "bug": None if bug is None else bug_record(bug),
    }


def bug_record(bug: KnownBug) -> dict[str, Any]:
    """A known bug as the report carries it, with whether the installed release has it."""
    return {
        "issue": bug.issue,
        "number": bug.number,
        "summary": bug.summary,
        "affects": bug.affects,
        "package": bug.package,
        "fixed_by": bug.fixed_by,
        "kind": bug.kind,
        "measured": bug.measured,
        "upstream": bug.upstream,
        "crash": bug.crash,
        "holds": bug.holds_here(),
    }


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """Turn a module (or class) holding uncited specs into a collection error naming each of them.

    A collection error, unlike an exception in a later hook, reaches the xdist
    controller as a report and stops the run with exit status 2.
    """
    report = yield
    if report.passed:
        problems = [
            problem
            for node in report.result
            if isinstance(node, pytest.Function) and is_spec(node)
            for problem in [fact_problem(node)]
            if problem is not None
        ]
        if problems:
            report.outcome = FAILED  # pytest's word for it is rnnspec's
            report.longrepr = "\n".join(problems)
            report.result = []
    return report


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        meta = fact_metadata(item)  # raises for a spec item no collector checked
        if meta is not None:
            item.user_properties.append((FACT_KEY, meta))
    guard.set_limits(items)


# ------------------------------------------------------------ what a fact records


def _holds_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_holds_float(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_float(v) for v in value)
    return False


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Record what the fact observed: `observe(name, value, *, tolerance=None)`.

    `value` is a small JSON value (str, int, bool, None, float, or lists and dicts of them).
    A float needs `tolerance`, the absolute difference within which another release
    observed the same: PyTorch does not promise floats bit for bit.
    """
    recorded: set[str] = set()

    def record(name: str, value: object, *, tolerance: float | None = None) -> None:
        __tracebackhide__ = True
        if not isinstance(name, str) or not name or name == RELEASE_SIDE:
            raise ValueError(f"observe: the name must be a non-empty str other than {RELEASE_SIDE}")
        if name in recorded:
            raise ValueError(f"observe: {name!r} was already recorded by this fact")
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"observe({name!r}): the value must be plain finite JSON (str, int, float, bool, "
                f"None, lists, dicts), got {type(value).__name__} ({error}); use .item() or "
                ".tolist() for a tensor"
            ) from None
        if len(text) > OBSERVATION_LIMIT:
            raise ValueError(
                f"observe({name!r}): {len(text)} characters of JSON, more than "
                f"{OBSERVATION_LIMIT}: record a summary (a shape, a maximum), not the data"
            )
        if _holds_float(value) and tolerance is None:
            raise TypeError(
                f"observe({name!r}): a float needs tolerance=, the difference within which "
                "another release observed the same"
            )
        if tolerance is not None and not (isinstance(tolerance, int | float) and tolerance >= 0):
            raise ValueError(f"observe({name!r}): tolerance must be a number >= 0")
        recorded.add(name)
        entry = {
            "name": name,
            "value": json.loads(text),
            "tolerance": None if tolerance is None else float(tolerance),
        }
        request.node.user_properties.append((OBSERVATION_KEY, entry))

    return record


class KnownBugCheck:
    """The `known_bug` fixture: `with known_bug.expected(match=None):` around the promise."""

    def __init__(self, bug: KnownBug, item: pytest.Item) -> None:
        self.bug = bug
        self.item = item

    @contextlib.contextmanager
    def expected(self, match: str | None = None) -> Iterator[None]:
        """Hold the promised behaviour. Where the installed release has the bug, the block must
        fail with an AssertionError (whose message matches `match`, a regular expression, when
        given); elsewhere it runs as plain code."""
        __tracebackhide__ = True
        if not self.bug.holds_here():
            yield
            return
        try:
            yield
        except AssertionError as error:
            if match is not None and re.search(match, str(error)) is None:
                raise
            # The assertion's own message: its first line, before pytest's rewritten comparison.
            message = (str(error).strip().splitlines() or [""])[0][:2000]
            self.item.user_properties.append(
                (KNOWN_BUG_KEY, {"issue": self.bug.issue, "observed": message})
            )
            return
        release = installed(self.bug.package)
        pytest.fail(
            f"fixed in {self.bug.package} {release}: {self.bug.number} no longer reproduces; "
            f"narrow its affected releases in rnnspec/ledger.py (affects {self.bug.affects})",
            pytrace=False,
        )


@pytest.fixture
def known_bug(request: pytest.FixtureRequest) -> KnownBugCheck:
    """The known bug the fact's mark names (`bug=`), to expect with `known_bug.expected()`."""
    mark = request.node.get_closest_marker("fact")
    bug = None if mark is None else mark.kwargs.get("bug")
    if not isinstance(bug, KnownBug):
        raise pytest.UsageError(
            f"{request.node.nodeid} uses the known_bug fixture but its fact mark names no bug="
        )
    return KnownBugCheck(bug, request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Mark a phase that raised an EnvironmentProblem, with its fix, for the report; and a
    phase that pytest-timeout stopped, with its limit and where it was stuck."""
    report = yield
    stopped = guard.timed_out(call, item)
    if stopped is not None:
        report.user_properties.append((guard.GUARD_KEY, stopped))
    excinfo = call.excinfo
    if excinfo is not None and isinstance(excinfo.value, EnvironmentProblem):
        problem = excinfo.value
        message = f"{type(problem).__name__}: {' '.join(str(problem).split())}"
        report.user_properties.append(
            (ENVIRONMENT_KEY, {"message": message[:2000], "fix": problem.fix})
        )
    return report


def _module_roots(rootpath: Path) -> list[Path]:
    """Folders under which a file's path names a dotted module: site-packages and the repo."""
    folders = {*site.getsitepackages(), sysconfig.get_paths()["purelib"]}
    folders |= {sysconfig.get_paths()["platlib"], str(rootpath)}
    with contextlib.suppress(AttributeError):
        folders.add(site.getusersitepackages())
    return sorted((Path(f) for f in folders), key=lambda p: len(p.parts), reverse=True)


def module_of(filename: str, roots: list[Path]) -> str:
    """`.../site-packages/torch/serialization.py` -> `torch.serialization`; other files as given."""
    path = Path(filename)
    for root in roots:
        try:
            parts = list(path.relative_to(root).with_suffix("").parts)
        except ValueError:
            continue
        if parts and parts[-1] == "__init__":
            parts.pop()
        if parts:
            return ".".join(parts)
    return warning_module(filename)  # an environment whose site-packages `site` does not list


@contextlib.contextmanager
def _recorded_warnings(item: pytest.Item) -> Iterator[None]:
    """Record the warnings a test phase raises into the item's user properties, then pass them
    on unchanged to pytest's own warning capture (its summary, its filters)."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    finally:
        _pass_on(item, caught)


def _pass_on(item: pytest.Item, caught: list[warnings.WarningMessage]) -> None:
    if not caught:
        return
    roots = _module_roots(item.config.rootpath)
    entries = [
        {
            "category": w.category.__name__,
            "message": " ".join(str(w.message).split())[:1000],
            "module": module_of(w.filename, roots),
        }
        for w in caught
    ]
    item.user_properties.append((WARNINGS_KEY, entries))
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


SESSION_PID = pytest.StashKey[int]()


def _one_thread_in_a_forked_child(item: pytest.Item) -> None:
    """In the child of a `@pytest.mark.forked` fact, let torch use one thread.

    GNU OpenMP's thread pool does not survive fork(): once the parent has run a parallel
    region (any earlier fact), the child's first one waits forever for threads that no
    longer exist (measured: torch 2.15.0, a 512 x 512 matmul in a forked child after the
    parent ran one on 2 threads hung for more than 60 s; on one thread it took 0.03 s).
    """
    if os.getpid() != item.config.stash.get(SESSION_PID, os.getpid()):
        import torch

        torch.set_num_threads(1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    _one_thread_in_a_forked_child(item)
    with _recorded_warnings(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    with _recorded_warnings(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Any:
    with _recorded_warnings(item):
        return (yield)


# ------------------------------------------------------------------- the report rows


def _message(report: pytest.TestReport) -> str:
    """What a failed or skipped phase observed, in one string."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    found = CRASH.search(text)
    if found and found.group(1):  # pytest-forked: the child died of a signal
        number = int(found.group(1))
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown signal"
        return crashed(f"{name} (signal {number})")
    if found:
        return crashed(f"the child process exited with status {found.group(2)}")
    return text.strip().removeprefix("Failed: ")[:2000]  # pytest.fail's own prefix


class FactCollector:
    """Turns test reports into fact rows; writes the report at the end of the session.

    It also keeps what a run that ends early needs: the facts collected (this process's
    items, or what the xdist workers wrote to the guard's run folder), those started and
    not finished, and whether pytest was interrupted. A fact collected but never reported
    is "not run", with the reason.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rows: dict[str, Fact] = {}
        self.curves: list[dict[str, Any]] = []
        self.other: dict[str, int] = {}  # outcomes of tests outside specs/
        self.hard_failures = 0  # failed phases that were not environment problems
        self.environment_errors = 0
        self.started = dt.datetime.now(dt.UTC)
        self.collected: dict[str, dict[str, Any]] = {}  # node id -> fact metadata (serial run)
        self.running: set[str] = set()  # node ids started and not finished
        self.interrupted: str | None = None  # what interrupted the run

    def phase_outcome(self, report: pytest.TestReport, props: dict[str, Any]) -> str:
        if guard.GUARD_KEY in props:  # crashed, timed out, or ended by an interruption
            return guard.known_crash(props[guard.GUARD_KEY], props.get(FACT_KEY))["outcome"]
        if ENVIRONMENT_KEY in props and report.failed:
            return ERROR
        if report.when == "call" and hasattr(report, "wasxfail"):
            return FAILED if report.passed else PASSED  # strict xfail semantics
        if report.failed:
            return CRASHED if _message(report).startswith(crashed("")) else FAILED
        if report.skipped:
            return SKIPPED
        return KNOWN_BUG if KNOWN_BUG_KEY in props else PASSED

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            meta = dict(item.user_properties).get(FACT_KEY)
            if meta is not None:
                self.collected[item.nodeid] = meta

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running.add(nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.running.discard(nodeid)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Ctrl-C, SIGTERM (rnnspec.guard), pytest.exit, or a worker that got one of them; not
        pytest's own stops (collection errors, -x), which it raises as KeyboardInterrupts too."""
        value = excinfo.value
        text = str(value) or type(value).__name__
        if isinstance(value, pytest.Session.Interrupted) or (
            type(value).__name__ == "Interrupted" and "keyboard-interrupt" not in text
        ):
            return
        # xdist's words for a worker that stopped: "<WorkerController gw0> received ..."
        self.interrupted = XDIST_WORKER.sub(r"xdist worker \1", text)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if report.when == "???":  # xdist's report of a test its worker died running
            self.running.discard(report.nodeid)
        if report.failed:
            if ENVIRONMENT_KEY in props:
                self.environment_errors += 1
            else:
                self.hard_failures += 1
        if report.when == "call":
            self.curves += [value for key, value in report.user_properties if key == CURVE_KEY]
        meta = props.get(FACT_KEY)
        if meta is None:
            if report.when in ("call", "???") or (report.when != "teardown" and not report.passed):
                self.other[report.outcome] = self.other.get(report.outcome, 0) + 1
            return
        row = self.row(meta)
        row.duration_s += report.duration
        for key, value in report.user_properties:
            if key == OBSERVATION_KEY:
                row.observations[value["name"]] = Observation(value["value"], value["tolerance"])
            elif key == WARNINGS_KEY:
                raised = [RaisedWarning(**w) for w in value]
                row.warnings += [w for w in raised if w not in row.warnings]
        outcome = self.phase_outcome(report, props)
        if OUTCOME_RANK[outcome] > OUTCOME_RANK[row.outcome]:
            row.outcome = outcome
            if guard.GUARD_KEY in props:
                row.observed = props[guard.GUARD_KEY]["observed"]
            elif outcome == KNOWN_BUG:
                row.observed = props[KNOWN_BUG_KEY]["observed"]
            elif outcome == ERROR:
                row.observed = props[ENVIRONMENT_KEY]["message"]
                row.fix = props[ENVIRONMENT_KEY]["fix"]
            else:
                row.observed = _message(report)

    def row(self, meta: dict[str, Any]) -> Fact:
        """The fact's row, made on its first report."""
        row = self.rows.get(meta["id"])
        if row is None:
            row = self.rows[meta["id"]] = msgspec.convert(meta, Fact)
            if row.since is not None:
                side = release_side(row.since, torch_at_least)
                row.observations[RELEASE_SIDE] = Observation(side)
        return row

    def close_unfinished(self, session: pytest.Session) -> None:
        """Every fact collected and never reported, or started and never finished, becomes
        "not run", with why the run ended before it."""
        collected = dict(self.collected)
        controller = guard.controller_guard(self.config)
        if controller is not None:
            collected.update(controller.collected()["facts"])
        stopped = session.shouldstop or session.shouldfail
        if self.interrupted:
            why = f"the run was interrupted ({self.interrupted})"
        elif stopped:
            why = f"the run stopped early ({stopped})"
        else:
            why = "the run ended before it"
        for nodeid, meta in sorted(collected.items()):
            if meta["id"] in self.rows and nodeid not in self.running:
                continue
            row = self.row(meta)
            if OUTCOME_RANK[NOT_RUN] > OUTCOME_RANK[row.outcome]:
                row.outcome = NOT_RUN
                row.observed = (
                    f"{NOT_RUN}: {why} while it ran"
                    if nodeid in self.running
                    else f"{NOT_RUN}: {why}"
                )

    def summary(self) -> dict[str, int]:
        return {k: sum(r.outcome == k for r in self.rows.values()) for k in OUTCOME_RANK}

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the report first: before xdist waits for its workers to stop (up to 10 s
        each after an interruption, which a CI system may not grant before SIGKILL)."""
        from rnnspec import report

        # Not when collecting only, or when nothing ran (collection errors stop a run before
        # its first fact): no fact was meant to run.
        if not self.config.option.collectonly and (self.rows or self.interrupted):
            self.close_unfinished(session)
        found = verdict(self.summary())
        if found == VERDICT_INTERRUPTED:
            session.exitstatus = EXIT_INTERRUPTED
        elif found == VERDICT_FAILED and session.exitstatus == pytest.ExitCode.INTERRUPTED:
            session.exitstatus = EXIT_FAILED  # a fact failed before the interruption
        elif (
            session.exitstatus == pytest.ExitCode.TESTS_FAILED
            and self.hard_failures == 0
            and self.environment_errors
        ):
            session.exitstatus = ENVIRONMENT_INCOMPLETE
        elif self.rows and found == VERDICT_NOT_RUN and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
        report_dir = self.config.getoption("--report-dir")
        if report_dir:
            report.write_report(
                Path(report_dir),
                facts=sorted(self.rows.values(), key=lambda r: r.id),
                curves=self.curves,
                other_tests=self.other,
                started=self.started,
                exitstatus=int(session.exitstatus),
            )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        summary = self.summary()
        found = verdict(summary)
        if self.rows and found == VERDICT_NOT_RUN:
            terminalreporter.write_line(
                "rnnspec: facts were collected but none was executed: exit status 5", red=True
            )
        for outcome in (CRASHED, TIMED_OUT):
            for row in sorted(self.rows.values(), key=lambda r: r.id):
                if row.outcome == outcome:
                    terminalreporter.write_line(f"rnnspec: {row.id} {row.observed}", red=True)
        if summary[NOT_RUN]:
            why = next(r.observed for r in self.rows.values() if r.outcome == NOT_RUN)
            terminalreporter.write_line(
                f"rnnspec: {summary[NOT_RUN]} fact(s) {why.removesuffix(' while it ran')}",
                yellow=True,
            )
        if summary[ERROR]:
            fixes = sorted({row.fix for row in self.rows.values() if row.fix})
            terminalreporter.write_line(
                f"rnnspec: {summary[ERROR]} facts could not run because of the environment "
                "(outcome error, not failed); fix: " + "; ".join(fixes),
                yellow=True,
            )
        held = sorted(
            {row.bug.number for row in self.rows.values() if row.outcome == KNOWN_BUG and row.bug}
        )
        if held:
            terminalreporter.write_line(
                f"rnnspec: {summary[KNOWN_BUG]} fact(s) show a known bug of this release, as the "
                f"ledger expects (pytest counts them passed): {', '.join(held)}",
                yellow=True,
            )
        if self.rows:
            terminalreporter.write_line(f"rnnspec: verdict {found}")
        report_dir = self.config.getoption("--report-dir")
        if report_dir:
            terminalreporter.write_line(f"rnnspec: fact report written to {report_dir}/report.md")
