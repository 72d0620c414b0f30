"""The run guard: a fact that crashes, hangs or is interrupted costs that fact, never the run.

- **Crashes.** Facts run in pytest-xdist worker processes, always: a run given no `-n`
  gets one worker (`-n 0`, `--pdb` and `--collect-only` run them in pytest's own process,
  unguarded). When a worker dies, xdist reports the fact it was running and starts a new
  worker for the rest (`pytest_handlecrashitem`); this module names what happened: the
  signal or exit status of the worker's process, and the Python stack that faulthandler
  wrote to the worker's log as it died. The fact's outcome is CRASHED
  (its message: the signal, e.g. SIGSEGV (signal 11)), or KNOWN_BUG where the ledger's bug predicts exactly
  that crash on the installed release.
- **Hangs.** Every fact has a time limit (pytest-timeout, signal method; fixtures
  included, so a training fact's limit covers its training): `--fact-timeout` for the fast
  facts, `--slow-fact-timeout` for those marked slow (or $RNNSPEC_FACT_TIMEOUT,
  $RNNSPEC_SLOW_FACT_TIMEOUT; 0 turns a limit off; a test's own `@pytest.mark.timeout(N)`
  wins). Past it the fact fails with outcome TIMED_OUT, the limit and the line where it
  was stuck. A fact stuck in native code, where Python's signal handler never runs, is
  stopped BACKSTOP_GRACE_S (30 s, $RNNSPEC_BACKSTOP_GRACE) later by faulthandler, which writes every thread's stack and ends
  the worker; it is reported TIMED_OUT all the same.
- **Interruptions.** SIGTERM ends the run the way Ctrl-C does (pytest's KeyboardInterrupt),
  and the controller passes it on to the workers: the report is written with every fact
  that completed, the facts that did not as NOT_RUN.
- **Exits.** A worker that has sent its results ends as soon as its atexit handlers ran,
  without the interpreter's teardown of its modules (`leave_without_teardown`).

pytest-xdist 3.8.0's loadgroup, loadscope and loadfile schedulers mishandle a dead worker:
they run the fact it died on again on the replacement (so a segfault takes down worker
after worker: pytest-dev/pytest-xdist#1371, an open pull request), queue the dead worker's
finished work again (pytest-dev/pytest-xdist#1378, an open issue) and can leave the
replacement waiting forever for a second test (pytest-dev/pytest-xdist#1327, fixed by
#1328 after 3.8.0), and give work to a replacement that has not collected yet (a KeyError
on its WorkerController). `crash_safe` mends the four in a subclass of the scheduler.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import functools
import importlib.util
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from rnnspec.schema import CRASHED, KNOWN_BUG, NOT_RUN, TIMED_OUT, crashed

FAST_LIMIT_S = 120.0  # default --fact-timeout: 5x the slowest fast fact measured (24 s)
SLOW_LIMIT_S = 900.0  # default --slow-fact-timeout: 16x the longest training measured (55 s)
BACKSTOP_GRACE_S = float(
    os.environ.get("RNNSPEC_BACKSTOP_GRACE", 30)
)  # after the limit, before faulthandler ends a worker stuck in C code
MAX_WORKER_RESTARTS = 50  # crashed workers replaced before the rest of the run is given up
FACTS_FILE = "facts.json"  # in the run folder: each collected fact's row, by node id
RUN_FOLDER = "rnnspec_run_folder"  # the key of the run folder in xdist's workerinput
GUARD_KEY = (
    "rnnspec.tool.plugin.guard"  # a report's user property: how a fact crashed, timed out or ended
)
TIMEOUT_MESSAGE = re.compile(r"Timeout \(>([\d.]+)s\) from pytest-timeout")
FAULTHANDLER_TIMEOUT = re.compile(r"^Timeout \((\d+):(\d\d):(\d\d)(?:\.\d+)?\)!", re.MULTILINE)
STACK_LINES = 12  # lines of a dying worker's stack kept in the fact's observed message


# ---------------------------------------------------------------------------- options


def add_options(group: Any) -> None:
    """The guard's options, in the plugin's option group."""
    group.addoption(
        "--fact-timeout",
        metavar="SECONDS",
        type=float,
        default=float(os.environ.get("RNNSPEC_FACT_TIMEOUT", FAST_LIMIT_S)),
        help="time limit of a fact not marked slow, fixtures included (else "
        f"$RNNSPEC_FACT_TIMEOUT, else {FAST_LIMIT_S:g}); 0: none",
    )
    group.addoption(
        "--slow-fact-timeout",
        metavar="SECONDS",
        type=float,
        default=float(os.environ.get("RNNSPEC_SLOW_FACT_TIMEOUT", SLOW_LIMIT_S)),
        help="time limit of a fact marked slow, its training included (else "
        f"$RNNSPEC_SLOW_FACT_TIMEOUT, else {SLOW_LIMIT_S:g}); 0: none",
    )


def limit_of(item: pytest.Item) -> float:
    """The time limit the guard gives a test: its own timeout mark, else by slowness."""
    mark = item.get_closest_marker("timeout")
    if mark is not None:
        value = mark.args[0] if mark.args else mark.kwargs.get("timeout", 0)
        return float(value or 0)
    slow = item.get_closest_marker("slow") is not None
    return float(item.config.getoption("--slow-fact-timeout" if slow else "--fact-timeout"))


def set_limits(items: list[pytest.Item]) -> None:
    """Give every test without a timeout mark the guard's limit (pytest-timeout reads it)."""
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(limit_of(item)))


# ------------------------------------------------------------------ one worker at least


def guarded(config: pytest.Config) -> bool:
    """Whether facts run in worker processes: xdist is there and the run was not told
    otherwise (-n 0, --pdb, --trace, --collect-only, -p no:xdist)."""
    option = config.option
    return (
        config.pluginmanager.hasplugin("xdist")
        and not getattr(option, "collectonly", False)
        and not getattr(option, "usepdb", False)
        and not getattr(option, "trace", False)
    )


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Any:
    """Before xdist reads its options: one worker when none were asked for, and more
    replacements for crashed workers than xdist's default of four per worker."""
    if guarded(config) and not hasattr(config, "workerinput"):
        if getattr(config.option, "numprocesses", 0) is None:
            config.option.numprocesses = 1
        if getattr(config.option, "maxworkerrestart", 0) is None:
            config.option.maxworkerrestart = str(MAX_WORKER_RESTARTS)
    return (yield)


def distributed(config: pytest.Config) -> bool:
    """Whether this process is an xdist controller that hands the facts to workers."""
    return bool(getattr(config.option, "tx", None)) and config.getoption("dist", "no") != "no"


# ------------------------------------------------------------ the controller's side


class ControllerGuard:
    """On the xdist controller: the run folder the workers write to, the crash reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.folder = Path(tempfile.mkdtemp(prefix="rnnspec-run-"))
        self._facts: dict[str, Any] | None = None
        self.workers: list[Any] = []  # every worker started, replacements included

    def collected(self) -> dict[str, Any]:
        """What the workers collected: {"facts": {node id: row}, "limits": {node id: s}}."""
        if self._facts is None:
            path = self.folder / FACTS_FILE
            if not path.is_file():
                return {"facts": {}, "limits": {}}
            self._facts = json.loads(path.read_text())
        return self._facts

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_FOLDER] = str(self.folder)
        self.workers.append(node)

    def end_workers(self, signum: int) -> None:
        """Pass the signal that ends the run on to the workers still running.

        xdist's teardown otherwise waits up to 10 s for a worker busy in a fact before it kills
        it, and the report is written only after that: a CI job's grace between SIGTERM and
        SIGKILL can be shorter.
        """
        for worker in self.workers:
            popen = process_of(worker)
            if popen is not None and popen.poll() is None:
                with contextlib.suppress(OSError):
                    popen.send_signal(signum)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        dist = config.getvalue("dist")
        if dist not in ("loadgroup", "loadscope", "loadfile"):
            return None  # xdist's own: `load` and `worksteal` drop the crashed test
        from xdist.scheduler import LoadFileScheduling, LoadGroupScheduling, LoadScopeScheduling

        base = {
            "loadgroup": LoadGroupScheduling,
            "loadscope": LoadScopeScheduling,
            "loadfile": LoadFileScheduling,
        }[dist]
        return crash_safe(base)(config, log)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        """Name what ended the worker, and attach the fact's row to xdist's crash report."""
        worker = getattr(report, "node", None)
        worker_id = getattr(getattr(worker, "gateway", None), "id", "?")
        log = read_text(self.folder / f"{worker_id}.log")
        collected = self.collected()
        how = death_of(worker, log, collected["limits"].get(crashitem), self.config.rootpath)
        report.longrepr = f"{how['observed']} (xdist worker {worker_id} ran {crashitem})"
        meta = collected["facts"].get(crashitem)
        if meta is not None:
            report.user_properties.append(("rnnspec.fact", meta))
        report.user_properties.append((GUARD_KEY, how))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def process_of(worker: Any) -> Any:
    """The worker's process (execnet's subprocess.Popen), or None."""
    return getattr(getattr(getattr(worker, "gateway", None), "_io", None), "popen", None)


def exit_status(worker: Any, wait_s: float = 10) -> int | None:
    """The worker process's exit status (negative: the signal that ended it), if it ended
    within `wait_s` seconds."""
    popen = process_of(worker)
    if popen is None:
        return None
    with contextlib.suppress(Exception):
        return popen.wait(timeout=wait_s) if wait_s > 0 else popen.poll()
    return None


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _runner_files() -> tuple[str, ...]:
    """Where the runner's code lives (pytest, its plugins, threading, rnnspec's plugin): a
    package's folder or a module's file, as installed, so that a user's folder that happens to
    be named `xdist` is not taken for the runner."""
    found = [str(Path(__file__).parent) + os.sep, str(Path(__file__).parents[2] / "plugin.py")]
    for name in ("_pytest", "pluggy", "xdist", "execnet", "pytest_timeout", "threading"):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        package = spec.submodule_search_locations
        found.append(str(Path(spec.origin).parent) + os.sep if package else spec.origin)
    return tuple(found)


RUNNER_FILES = _runner_files()


def is_runner_frame(path: str) -> bool:
    """Whether a frame of `path` is the runner's, left out of the stacks a report shows."""
    return path == "<string>" or path.startswith(RUNNER_FILES)


FAULTHANDLER_FRAME = re.compile(r'^File "(?P<path>[^"]+)", line (?P<line>\d+) in (?P<name>\S+)')


SITE_PACKAGES = re.compile(r"^.*[/\\](?:site|dist)-packages[/\\]")


def frame_text(path: str, line: int | str, name: str, root: Path | None = None) -> str:
    """`specs/test_x.py:12 in test_y`: a frame in one short phrase, its file relative to the
    rootdir or to site-packages (the same on every machine)."""
    shown = SITE_PACKAGES.sub("", path)
    if root is not None and shown == path:
        with contextlib.suppress(ValueError):
            shown = str(Path(path).relative_to(root))
    return f"{shown}:{line} in {name}"


def stack_excerpt(log: str, root: Path | None = None) -> str:
    """Where a faulthandler log shows the fact's code: the innermost frames of the dying
    thread (else of the first thread with frames of its own), the runner's frames left out,
    innermost first, in one line."""
    threads: list[tuple[bool, list[str]]] = []  # (the current thread?, its frames)
    for line in (line.strip() for line in log.splitlines()):
        if line.startswith(("Current thread", "Thread ")):
            threads.append((line.startswith("Current thread"), []))
            continue
        found = FAULTHANDLER_FRAME.match(line)
        if found is not None and threads and not is_runner_frame(found["path"]):
            threads[-1][1].append(frame_text(found["path"], found["line"], found["name"], root))
    ranked = sorted((t for t in threads if t[1]), key=lambda t: not t[0])
    return " <- ".join(ranked[0][1][:STACK_LINES]) if ranked else ""


def death_of(
    worker: Any, log: str, limit: float | None, root: Path | None = None
) -> dict[str, Any]:
    """How a worker ended while it ran a fact: outcome, observed message, signal, stack."""
    workeroutput = getattr(worker, "workeroutput", None) or {}
    # A worker that reported its own end (KeyboardInterrupt or pytest.exit in a fact) lives on
    # until the controller closes it: waiting for its exit status would only cost the 10 s.
    reported_end = "exitstatus" in workeroutput
    status = exit_status(worker, wait_s=0 if reported_end else 10)
    stack = stack_excerpt(log, root)
    where = f"; stack: {stack}" if stack else ""
    stuck = FAULTHANDLER_TIMEOUT.search(log)
    if stuck is not None:
        hours, minutes, seconds = (int(g) for g in stuck.groups())
        waited = hours * 3600 + minutes * 60 + seconds
        shown = f"{limit:g} s" if limit else f"{waited} s"
        return {
            "outcome": TIMED_OUT,
            "limit_s": limit,
            "observed": f"{TIMED_OUT}: past its limit of {shown}, stuck outside Python; "
            f"the worker was ended after {waited} s{where}",
        }
    if workeroutput.get("exitstatus") == pytest.ExitCode.INTERRUPTED or status in (
        -signal.SIGINT,
        -signal.SIGTERM,
    ):
        why = (
            f"it got {signal_name(-status)}"
            if status is not None and status < 0
            else "KeyboardInterrupt or pytest.exit"
        )
        return {
            "outcome": NOT_RUN,
            "observed": f"{NOT_RUN}: its worker stopped while it ran ({why})",
        }
    if status is not None and status < 0:
        name = signal_name(-status)
        return {
            "outcome": CRASHED,
            "signal": name,
            "observed": crashed(f"{name} (signal {-status}){where}"),
        }
    if status is not None:
        fatal = next((line for line in log.splitlines() if line.startswith("Fatal Python")), "")
        detail = f"; {fatal}" if fatal else ""
        return {
            "outcome": CRASHED,
            "signal": None,
            "observed": crashed(f"the process exited with status {status}{detail}{where}"),
        }
    return {"outcome": CRASHED, "signal": None, "observed": crashed(f"the worker died{where}")}


def crash_safe(base: type) -> type:
    """`base` (xdist's LoadScopeScheduling or a subclass) with its crash recovery mended."""

    class CrashSafeScheduling(base):  # type: ignore[misc, valid-type]
        def remove_node(self, node: Any) -> str | None:
            """Take a dead worker out; give back only its unfinished tests, not the one it
            died on (xdist has reported that one already)."""
            workload = self.assigned_work.pop(node)
            crashitem = next(
                (nodeid for unit in workload.values() for nodeid, done in unit.items() if not done),
                None,
            )
            if crashitem is None:
                return None
            for scope, unit in workload.items():
                if crashitem in unit:
                    unit[crashitem] = True
                if not all(unit.values()):
                    self.workqueue[scope] = unit
            for other in self.assigned_work:
                self._reschedule(other)
            return crashitem

        def _reschedule(self, node: Any) -> None:
            """xdist's rule (top up a worker with two tests or fewer left), and then at least
            two tests or shutdown: a worker runs a test only once the next one has come."""
            if node.shutting_down or node not in self.registered_collections:
                return  # a replacement still collecting: its collection reschedules it
            if self.workqueue and self._pending_of(self.assigned_work[node]) <= 2:
                self._assign_work_unit(node)
            while self.workqueue and self._pending_of(self.assigned_work[node]) < 2:
                self._assign_work_unit(node)
            if not self.workqueue:
                node.shutdown()

    CrashSafeScheduling.__name__ = f"CrashSafe{base.__name__}"
    return CrashSafeScheduling


# ---------------------------------------------------------------- the worker's side


class WorkerGuard:
    """In an xdist worker: faulthandler writes to the run folder, the collected facts too,
    and a backstop ends the worker when a fact outlives its limit inside native code."""

    def __init__(self, config: pytest.Config, folder: Path) -> None:
        self.config = config
        self.folder = folder
        worker_id = config.workerinput.get("workerid", "gw")
        self.log: IO[str] = open(folder / f"{worker_id}.log", "w")  # noqa: SIM115 (kept open)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """From here on a fatal error writes its stacks to the run folder, where the controller
        reads them (after pytest's own faulthandler set-up, which writes to stderr)."""
        faulthandler.enable(file=self.log, all_threads=True)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Write each collected fact's row and limit, once per run (the first worker's)."""
        target = self.folder / FACTS_FILE
        if target.exists():
            return
        facts = {
            item.nodeid: value
            for item in session.items
            for key, value in item.user_properties
            if key == "rnnspec.fact"
        }
        limits = {item.nodeid: limit_of(item) for item in session.items}
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump({"facts": facts, "limits": limits}, out)
        with contextlib.suppress(OSError):
            os.link(temporary, target)  # first writer wins; never a half-written file
        os.unlink(temporary)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        limit = limit_of(item)
        if limit > 0:
            faulthandler.dump_traceback_later(limit + BACKSTOP_GRACE_S, exit=True, file=self.log)
        try:
            return (yield)
        finally:
            if limit > 0:
                faulthandler.cancel_dump_traceback_later()

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        faulthandler.disable()
        self.log.close()
        if hasattr(atexit, "_run_exitfuncs"):
            atexit.register(leave_without_teardown)


def leave_without_teardown() -> None:
    """A worker's last atexit handler to run first: it runs every other one, then ends the
    process before the interpreter tears down its modules.

    By then the worker has sent its results and the controller has closed the channel; what
    is left is the teardown of torch, dynamo, inductor and onnx, whose garbage collection
    passes took 1.2 s of every worker's exit, time the controller waits for (torch 2.15.0,
    Python 3.11; `benchmarks/worker_exit.py`). Non-daemon threads were joined before atexit,
    as at any exit. (Freezing the collector instead made triton's nanobind report leaked
    objects at every exit.)
    """
    atexit.unregister(leave_without_teardown)
    atexit._run_exitfuncs()  # the interpreter's own exit step, run early
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


# ------------------------------------------------------------- timeouts, interruptions


def timed_out(call: pytest.CallInfo[Any], item: pytest.Item) -> dict[str, Any] | None:
    """The guard's record of a phase that pytest-timeout stopped; None for any other end."""
    excinfo = call.excinfo
    if excinfo is None or not isinstance(excinfo.value, pytest.fail.Exception):
        return None
    found = TIMEOUT_MESSAGE.search(str(excinfo.value))
    if found is None:
        return None
    frames = [
        frame_text(str(entry.path), entry.lineno + 1, entry.name, item.config.rootpath)
        for entry in reversed(excinfo.traceback)
        if not is_runner_frame(str(entry.path))
    ]
    where = f", stuck at {' <- '.join(frames[:STACK_LINES])}" if frames else ""
    limit = float(found.group(1))
    return {
        "outcome": TIMED_OUT,
        "limit_s": limit,
        "observed": f"{TIMED_OUT}: past its limit of {limit:g} s ({call.when}){where}",
    }


def known_crash(how: dict[str, Any], meta: dict[str, Any] | None) -> dict[str, Any]:
    """A crash the fact's known bug predicts on this release becomes that known bug."""
    bug = (meta or {}).get("bug") or {}
    if (
        how.get("outcome") == CRASHED
        and bug.get("holds")
        and bug.get("crash")
        and bug.get("crash") == how.get("signal")
    ):
        return {**how, "outcome": KNOWN_BUG}
    return how


def terminate_as_interrupt(config: pytest.Config, signum: int, frame: Any) -> None:
    """SIGTERM: end the run the way Ctrl-C does, so the report is still written, and end the
    workers with it. Once: a second SIGTERM must not break off the writing of the report
    (SIGKILL still ends it)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if (guard := controller_guard(config)) is not None:
        guard.end_workers(signum)
    raise KeyboardInterrupt(f"{signal_name(signum)} received")


def configure(config: pytest.Config) -> None:
    """The guard's part of the plugin's pytest_configure: the worker's or the controller's."""
    folder = getattr(config, "workerinput", {}).get(RUN_FOLDER)
    if folder is not None:
        config.pluginmanager.register(WorkerGuard(config, Path(folder)), "rnnspec-worker-guard")
        return
    if hasattr(config, "workerinput"):
        return
    with contextlib.suppress(ValueError):  # not the main thread (pytester in a thread)
        config.stash[PREVIOUS_SIGTERM] = signal.signal(
            signal.SIGTERM, functools.partial(terminate_as_interrupt, config)
        )
    if distributed(config):
        config.pluginmanager.register(ControllerGuard(config), "rnnspec-controller-guard")


def unconfigure(config: pytest.Config) -> None:
    """Give SIGTERM back its handler from before the run (pytester runs share a process)."""
    previous = config.stash.get(PREVIOUS_SIGTERM, None)
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


PREVIOUS_SIGTERM = pytest.StashKey[Any]()


def controller_guard(config: pytest.Config) -> ControllerGuard | None:
    return config.pluginmanager.get_plugin("rnnspec-controller-guard")  # type: ignore[return-value]
