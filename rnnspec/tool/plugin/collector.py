"""The collector: test reports become the report's facts; the exit status says the verdict.

The rows are gathered from the test reports on the xdist controller (or the only
process), so the report sees exactly what pytest saw, and a fact has one id whatever
the run. A fact that raises rnnspec.environment.EnvironmentProblem is an error of the
environment with the problem's one-line fix, not a failure. A fact that kills its
process crashed, one that outlives its time limit timed out, and the facts an
interrupted run never reached are not run (rnnspec.tool.plugin.guard keeps the run
going and says how). The report is written even then. Exit status: pytest's own,
except the codes of rnnspec.schema: EXIT_NOT_RUN when facts were collected but none
executed, EXIT_ENVIRONMENT when nothing failed but some facts could not run because of
the environment, and EXIT_INTERRUPTED when nothing failed but the run was interrupted.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from rnnspec import machine
from rnnspec.releases import torch_at_least
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
    crashed,
    release_side,
    verdict,
)
from rnnspec.tool.plugin import guard
from rnnspec.tool.plugin.keys import (
    CURVE_KEY,
    ENVIRONMENT_KEY,
    FACT_KEY,
    KNOWN_BUG_KEY,
    OBSERVATION_KEY,
    WARNINGS_KEY,
)

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


def pytest_configure(config: pytest.Config) -> None:
    guard.configure(config)
    config.pluginmanager.register(machine.WorkerDescription(config), "rnnspec-machine")
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        config.pluginmanager.register(FactCollector(config), "rnnspec-facts")


def pytest_unconfigure(config: pytest.Config) -> None:
    guard.unconfigure(config)


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
    is NOT_RUN, with the reason.
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
        """Ctrl-C, SIGTERM (rnnspec.tool.plugin.guard), pytest.exit, or a worker that got one of them; not
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
        NOT_RUN, with why the run ended before it."""
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
        from rnnspec.tool import report

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
            session.exitstatus = EXIT_ENVIRONMENT
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
                machine=machine.described(self.config),
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
