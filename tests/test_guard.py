"""The run guard: a fact that crashes, hangs or is interrupted costs that fact, never the run
or its report (rnnspec.tool.plugin.guard).

Each case writes spec files that do to their process what a broken release could (a
segfault, an abort, `os._exit`, a hang in Python and one outside it, a SIGTERM halfway,
KeyboardInterrupt, SystemExit, `pytest.exit`), runs pytest with the plugin in a subprocess,
serially (the guard's one worker) and with `-n 2`, then reads the report. The last case
injects faults into nn.GRU under the real suite and runs `rnnspec check` and `rnnspec diff`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnspec.schema import EXIT_FAILED, EXIT_INTERRUPTED

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
PLUGINS = ("-p", "rnnspec.plugin", "-p", "no:cacheprovider", "-p", "no:randomly")
WORKERS = [pytest.param((), id="serial"), pytest.param(("-n", "2"), id="xdist")]
INI = """
[pytest]
addopts = --dist loadgroup
markers =
    slow: slow
"""

# Every fault is switched on by RNNSPEC_TEST_FAULTS=1: the same file, run without it, is the
# clean run that `rnnspec diff` compares against.
FAULTS = '''
import ctypes
import os
import signal
import time
import pytest

FAULTS = os.environ.get("RNNSPEC_TEST_FAULTS") == "1"

@pytest.mark.fact("doc-g")
def test_before():
    """Runs before the faults."""

@pytest.mark.xdist_group("trained")
@pytest.mark.fact("doc-g")
def test_segfault():
    """Reads out of bounds."""
    if FAULTS:
        os.kill(os.getpid(), signal.SIGSEGV)

@pytest.mark.fact("doc-g")
def test_abort():
    """Aborts inside a kernel."""
    if FAULTS:
        os.abort()

@pytest.mark.fact("doc-g")
def test_exit_status_3():
    """Leaves the interpreter."""
    if FAULTS:
        os._exit(3)

@pytest.mark.fact("doc-g")
def test_hang():
    """Waits forever in Python."""
    if FAULTS:
        time.sleep(120)

@pytest.mark.fact("doc-g")
def test_hang_outside_python():
    """Waits where Python's signal handlers never run."""
    if FAULTS:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(120)

@pytest.mark.xdist_group("trained")
@pytest.mark.parametrize("n", range(4))
@pytest.mark.fact("doc-g")
def test_after(n):
    """Runs after the faults, two of them beside the segfault on its worker."""
'''

SLOW_FACT_STARTED = "slow-fact-started"
WORKER_GOT_SIGTERM = "worker-got-sigterm"
INTERRUPTED = f'''
import os
import signal
import time
from pathlib import Path
import pytest

def note_sigterm(signum, frame):
    """Write down that this worker got SIGTERM, then end as SIGTERM ends it by default."""
    Path("{WORKER_GOT_SIGTERM}").touch()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)

@pytest.mark.parametrize("n", range(3))
@pytest.mark.fact("doc-t")
def test_quick(n):
    """Completes before the interruption."""
    Path(f"quick-{{n}}").touch()

@pytest.mark.fact("doc-t")
def test_running_when_interrupted():
    """Runs when SIGTERM comes, once the quick facts are done (on either worker)."""
    deadline = time.monotonic() + 60
    while not all(Path(f"quick-{{n}}").exists() for n in range(3)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # their reports reach the controller
    signal.signal(signal.SIGTERM, note_sigterm)
    Path("{SLOW_FACT_STARTED}").touch()
    time.sleep(120)

@pytest.mark.parametrize("n", range(3))
@pytest.mark.fact("doc-t")
def test_never_reached(n):
    """Comes after the interruption."""
    time.sleep(120)
'''

BASE_EXCEPTIONS = """
import sys
import time
from pathlib import Path
import pytest

@pytest.mark.fact("doc-b")
def test_first():
    \"\"\"Runs first.\"\"\"
    Path("first-done").touch()

@pytest.mark.fact("doc-b")
def test_system_exit():
    \"\"\"Calls sys.exit.\"\"\"
    Path("system-exit-done").touch()
    sys.exit(3)

@pytest.mark.fact("doc-b")
def test_keyboard_interrupt():
    \"\"\"Raises KeyboardInterrupt, once the two before it ran (on either worker).\"\"\"
    deadline = time.monotonic() + 60
    while not (Path("first-done").exists() and Path("system-exit-done").exists()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # their reports reach the controller
    raise KeyboardInterrupt

@pytest.mark.fact("doc-b")
def test_last():
    \"\"\"Runs last.\"\"\"
"""

PYTEST_EXIT = """
import pytest

@pytest.mark.fact("doc-e")
def test_calls_pytest_exit():
    \"\"\"Calls pytest.exit.\"\"\"
    pytest.exit("the fact stopped the session")
"""

KNOWN_CRASH = """
import os
import signal
import pytest
from rnnspec.bugs import KnownBug

SEGFAULTS = KnownBug("https://github.com/pytorch/pytorch/issues/175978", "segfaults",
                     affects=">=0", crash="SIGSEGV")

@pytest.mark.fact("doc-k", bug=SEGFAULTS)
def test_refuses_bad_input(known_bug):
    \"\"\"Refuses the input instead of reading out of bounds.\"\"\"
    with known_bug.expected():
        os.kill(os.getpid(), signal.SIGSEGV)
"""


def run(
    folder: Path, specs: dict[str, str], *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict, str]:
    """pytest with the plugin in a subprocess on `specs`; its output, report.json, report.md."""
    write(folder, specs)
    report_dir = folder / "report"
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", *PLUGINS, f"--report-dir={report_dir}", *args],
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return finished, *read(report_dir)


def write(folder: Path, specs: dict[str, str]) -> None:
    (folder / "specs").mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text(INI)
    (folder / "conftest.py").write_text("")
    (folder / "specs").mkdir(exist_ok=True)
    for name, source in specs.items():
        (folder / "specs" / f"{name}.py").write_text(source)


def read(report_dir: Path) -> tuple[dict, str]:
    payload = json.loads((report_dir / "report.json").read_text())
    return payload, (report_dir / "report.md").read_text()


def line_of(source: str, text: str) -> int:
    """The line number of the first line of `source` that holds `text`."""
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def regressions(diff_output: str) -> list[str]:
    """The fact ids `rnnspec diff` lists as regressions ("id: passed -> ..."), a family's few
    cases ("family[a, b]: passed -> ...") unfolded."""
    found = []
    for line in diff_output.splitlines():
        if ": passed ->" not in line:
            continue
        subject = line.strip().split(": passed ->")[0]
        family, _, cases = subject.partition("[")
        names = cases.removesuffix("]").split(", ") if cases else []
        found += [f"{family}[{case}]" for case in names] if names else [subject]
    return sorted(found)


def outcomes(payload: dict) -> dict[str, tuple[str, str]]:
    """{test name: (outcome, observed)}."""
    return {f["id"].split("::")[-1]: (f["outcome"], f["observed"] or "") for f in payload["facts"]}


@pytest.mark.slow
@pytest.mark.parametrize("workers", WORKERS)
def test_crashes_and_hangs_cost_one_fact_each_and_diff_names_them(
    tmp_path: Path, workers: tuple[str, ...]
) -> None:
    """Red if a segfault, an abort, os._exit or a hang takes the run or its report down, is
    reported without its signal, status or limit, makes another fact fail, or is re-run; or
    if `rnnspec diff` against the clean run lists anything else as a regression."""
    clean, clean_payload, _ = run(tmp_path / "clean", {"test_g": FAULTS}, *workers)
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert clean_payload["verdict"] == "passed"
    faulty, payload, markdown = run(
        tmp_path / "faulty",
        {"test_g": FAULTS},
        "--fact-timeout=1.5",
        *workers,
        env={"RNNSPEC_TEST_FAULTS": "1", "RNNSPEC_BACKSTOP_GRACE": "1"},
    )
    assert faulty.returncode == EXIT_FAILED, faulty.stdout[-3000:]
    assert "INTERNALERROR" not in faulty.stdout + faulty.stderr
    found = outcomes(payload)
    assert found["test_segfault"][0] == "crashed"
    assert found["test_segfault"][1].startswith(f"crashed: SIGSEGV (signal {signal.SIGSEGV})")
    segfault_line = line_of(FAULTS, "os.kill(os.getpid(), signal.SIGSEGV)")
    assert f"test_g.py:{segfault_line} in test_segfault" in found["test_segfault"][1]  # stack
    assert found["test_abort"][0] == "crashed"
    assert found["test_abort"][1].startswith(f"crashed: SIGABRT (signal {signal.SIGABRT})")
    assert found["test_exit_status_3"] == ("crashed", "crashed: the process exited with status 3")
    assert found["test_hang"][0] == "timed out"
    assert "past its limit of 1.5 s" in found["test_hang"][1]
    assert f"test_g.py:{line_of(FAULTS, 'time.sleep(120)')} in test_hang" in found["test_hang"][1]
    assert "rnnspec/tool/plugin" not in found["test_hang"][1]  # the runner's frames left out
    assert found["test_hang_outside_python"][0] == "timed out"
    assert "stuck outside Python" in found["test_hang_outside_python"][1]
    native_line = FAULTS.splitlines().index("        time.sleep(120)", line_of(FAULTS, "SIG_BLOCK"))
    assert (
        f"test_g.py:{native_line + 1} in test_hang_outside_python"
        in found["test_hang_outside_python"][1]
    )
    others = {
        name: value
        for name, value in found.items()
        if name.startswith(("test_before", "test_after"))
    }
    assert sorted(others) == [
        "test_after[0]",
        "test_after[1]",
        "test_after[2]",
        "test_after[3]",
        "test_before",
    ]
    assert {outcome for outcome, _ in others.values()} == {"passed"}
    assert payload["verdict"] == "failed"
    assert payload["summary"]["crashed"] == 3
    assert payload["summary"]["timed out"] == 2
    assert payload["other_tests"] == {}
    for name in ("test_segfault", "test_abort", "test_exit_status_3", "test_hang"):
        assert f"`specs/test_g.py::{name}`" in markdown.split("## Failed facts")[1].split("##")[0]
    diff = subprocess.run(
        [sys.executable, "-m", "rnnspec", "diff", str(tmp_path / "clean" / "report"),
         str(tmp_path / "faulty" / "report")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert diff.returncode == 1, diff.stdout
    assert regressions(diff.stdout) == [
        f"specs/test_g.py::{name}"
        for name in (
            "test_abort",
            "test_exit_status_3",
            "test_hang",
            "test_hang_outside_python",
            "test_segfault",
        )
    ]
    assert "passed -> crashed (doc-g); observed: crashed: SIGSEGV" in diff.stdout
    assert (
        "passed -> timed out (doc-g); observed: timed out: past its limit of 1.5 s" in diff.stdout
    )


@pytest.mark.slow
@pytest.mark.parametrize("workers", WORKERS)
def test_sigterm_halfway_writes_the_report_with_the_rest_not_run(
    tmp_path: Path, workers: tuple[str, ...]
) -> None:
    """Red if SIGTERM leaves no report, a report that leaves out the fact that was running,
    one that says "passed", or an exit status other than 7; or if the worker busy in that
    fact is not sent the SIGTERM too (xdist would wait up to 10 s for it, then SIGKILL it,
    before the report is written)."""
    write(tmp_path, {"test_t": INTERRUPTED})
    report_dir = tmp_path / "report"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *PLUGINS, f"--report-dir={report_dir}", *workers],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / SLOW_FACT_STARTED).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, output[-3000:]
    payload, markdown = read(report_dir)
    assert payload["verdict"] == "incomplete: interrupted"
    assert payload["exitstatus"] == EXIT_INTERRUPTED
    found = outcomes(payload)
    assert [found[f"test_quick[{n}]"][0] for n in range(3)] == ["passed"] * 3
    running = found["test_running_when_interrupted"]
    assert running == (
        "not run",
        "not run: the run was interrupted (SIGTERM received) while it ran",
    )
    for n in range(3):  # with -n 2 the second worker had started one of them
        assert found[f"test_never_reached[{n}]"][0] == "not run"
        assert "interrupted (SIGTERM received)" in found[f"test_never_reached[{n}]"][1]
    assert "## Not run (4 facts)" in markdown
    assert "incomplete: interrupted" in markdown.splitlines()[0]
    assert (tmp_path / WORKER_GOT_SIGTERM).exists()


@pytest.mark.slow
@pytest.mark.parametrize("workers", WORKERS)
def test_base_exceptions_in_a_fact_give_a_clear_report_not_an_internal_error(
    tmp_path: Path, workers: tuple[str, ...]
) -> None:
    """Red if KeyboardInterrupt, SystemExit or pytest.exit raised by a fact ends in an
    INTERNALERROR, a missing report, or a report that counts an unrun fact as passed."""
    finished, payload, _ = run(tmp_path / "base", {"test_b": BASE_EXCEPTIONS}, *workers)
    assert "INTERNALERROR" not in finished.stdout + finished.stderr
    assert finished.returncode == EXIT_FAILED  # SystemExit in a fact is a failed fact
    found = outcomes(payload)
    assert found["test_first"] == ("passed", "")
    assert found["test_system_exit"] == ("failed", "SystemExit: 3")
    assert found["test_keyboard_interrupt"][0] == "not run"
    # The session stopped, as pytest stops it; with two workers the other may have run it.
    assert found["test_last"][0] == ("not run" if "2" not in workers else found["test_last"][0])
    assert found["test_last"][0] in ("not run", "passed")
    assert payload["verdict"] == "failed"


@pytest.mark.slow
def test_pytest_exit_in_a_fact_ends_the_run_as_an_interruption(tmp_path: Path) -> None:
    """Red if a fact that calls pytest.exit in the guard's worker gives an INTERNALERROR, no
    report, or a report that says anything but "incomplete: interrupted" with exit 7."""
    finished, payload, _ = run(tmp_path, {"test_e": PYTEST_EXIT})
    assert "INTERNALERROR" not in finished.stdout + finished.stderr
    assert finished.returncode == EXIT_INTERRUPTED
    assert outcomes(payload)["test_calls_pytest_exit"][0] == "not run"
    assert payload["verdict"] == "incomplete: interrupted"


@pytest.mark.slow
def test_a_crash_that_the_ledger_predicts_is_the_known_bug(tmp_path: Path) -> None:
    """Red if a segfault that the fact's known bug names (crash="SIGSEGV") on an affected
    release is reported as a crash instead of the known bug."""
    finished, payload, _ = run(tmp_path, {"test_k": KNOWN_CRASH})
    (row,) = payload["facts"]
    assert row["outcome"] == "known_bug", finished.stdout[-2000:]
    assert row["observed"].startswith(f"crashed: SIGSEGV (signal {signal.SIGSEGV})")
    assert row["bug"]["crash"] == "SIGSEGV"


DROPOUT_SPECS = str(REPO / "rnnspec" / "specs" / "pytorch" / "test_dropout.py")
INJECTED_FAULTS = """
import os
import signal
import time
from pathlib import Path

import torch

_forward = torch.nn.GRU.forward


def forward(self, *args, **kwargs):
    if self.training and self.dropout == 1.0:  # the facts that drop everything: a segfault
        os.kill(os.getpid(), signal.SIGSEGV)
    if self.training and self.dropout == 0.5:  # the facts that drop half: a hang
        Path(os.environ["RNNSPEC_HANG_STARTED"]).touch()
        time.sleep(600)
    return _forward(self, *args, **kwargs)


torch.nn.GRU.forward = forward
"""


@pytest.mark.slow
def test_rnnspec_check_survives_a_gru_that_crashes_and_hangs(tmp_path: Path) -> None:
    """The issue's own measurement, on the real suite: faults injected into nn.GRU for the
    dropout facts. Red if `rnnspec check` loses its report, reports a crashed or hung fact as
    anything but crashed or timed out, or `rnnspec diff` names other facts as regressions."""
    (tmp_path / "rnnspec_injected_faults.py").write_text(INJECTED_FAULTS)
    # The one spec file as the test path: pytest collects it alone, not the whole suite.
    common = [DROPOUT_SPECS, "-k", "test_dropout_one_zeroes or test_training_mode_dropout"]
    common.append("--fact-timeout=4")
    reports = {}
    for name, extra in (("clean", []), ("faulty", ["-p", "rnnspec_injected_faults"])):
        reports[name] = tmp_path / name
        finished = subprocess.run(
            [sys.executable, "-m", "rnnspec", "check", f"--report-dir={reports[name]}",
             *common, *extra],
            cwd=tmp_path,
            env={
                **os.environ,
                "PYTHONPATH": str(tmp_path),
                "RNNSPEC_BACKSTOP_GRACE": "5",
                "RNNSPEC_HANG_STARTED": str(tmp_path / "hang-started"),
            },
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        expected = 0 if name == "clean" else EXIT_FAILED
        assert finished.returncode == expected, finished.stdout[-3000:] + finished.stderr[-2000:]
    payload, _ = read(reports["faulty"])
    gru = {f["id"]: f for f in payload["facts"] if "GRU" in f["id"]}
    assert {f["outcome"] for f in gru.values()} == {"crashed", "timed out"}
    assert {f["outcome"] for f in payload["facts"] if "GRU" not in f["id"]} == {"passed"}
    diff = subprocess.run(
        [sys.executable, "-m", "rnnspec", "diff", str(reports["clean"]), str(reports["faulty"])],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert diff.returncode == 1
    assert regressions(diff.stdout) == sorted(gru)


@pytest.mark.slow
def test_rnnspec_check_passes_sigterm_on_and_exits_7_with_the_report(tmp_path: Path) -> None:
    """Red if SIGTERM to `rnnspec check` (a CI job's limit) kills it before pytest wrote the
    report, or the run's exit status is not 7 with the hung fact "not run"."""
    (tmp_path / "rnnspec_injected_faults.py").write_text(INJECTED_FAULTS)
    started = tmp_path / "hang-started"
    report_dir = tmp_path / "report"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnspec", "check", f"--report-dir={report_dir}",
         DROPOUT_SPECS, "-k", "test_training_mode_dropout and GRU",
         "-p", "rnnspec_injected_faults"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "RNNSPEC_HANG_STARTED": str(started)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 200
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert started.exists(), proc.communicate()[0][-3000:]
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, output[-3000:]
    assert "rnnspec: verdict incomplete: interrupted" in output
    payload, _ = read(report_dir)
    (row,) = payload["facts"]
    assert row["outcome"] == "not run"
    assert row["observed"] == "not run: the run was interrupted (SIGTERM received) while it ran"


class _Popen:
    """A worker process that is still alive: `wait` with a timeout would block until it."""

    def __init__(self) -> None:
        self.waited: list[float | None] = []

    def poll(self) -> int | None:
        return None

    def wait(self, timeout: float | None = None) -> int:
        self.waited.append(timeout)
        raise subprocess.TimeoutExpired("worker", timeout or 0)


def test_a_worker_that_reported_its_interruption_is_not_waited_for() -> None:
    """Red if the guard waits for the exit status of a worker that said itself that a fact
    interrupted it (KeyboardInterrupt, pytest.exit): that worker lives until the controller
    closes it, so the wait cost every interrupted run 10 s, and Ctrl-C as much per worker."""
    from types import SimpleNamespace

    from rnnspec.tool.plugin.guard import death_of

    popen = _Popen()
    worker = SimpleNamespace(
        gateway=SimpleNamespace(_io=SimpleNamespace(popen=popen)),
        workeroutput={"exitstatus": int(pytest.ExitCode.INTERRUPTED)},
    )
    how = death_of(worker, log="", limit=None)
    assert how["outcome"] == "not run"
    assert (
        how["observed"]
        == "not run: its worker stopped while it ran (KeyboardInterrupt or pytest.exit)"
    )
    assert popen.waited == []


ATEXIT = """
import atexit
import os
from pathlib import Path
import pytest

@pytest.mark.fact("doc-x")
def test_registers_an_exit_handler():
    \"\"\"Leaves work for the worker's exit.\"\"\"
    atexit.register(lambda: Path(os.environ["RNNSPEC_ATEXIT_MARK"]).write_text(str(os.getpid())))
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", WORKERS)
def test_a_worker_that_leaves_without_teardown_still_runs_its_exit_handlers(
    tmp_path: Path, workers: tuple[str, ...]
) -> None:
    """Red if a worker's atexit handlers (a library's temporary files, coverage's data, a log's
    last lines) no longer run because the worker ends before the interpreter's teardown, or if
    ending that way costs the run its report."""
    mark = tmp_path / "atexit-ran"
    finished, payload, _ = run(
        tmp_path / "run", {"test_x": ATEXIT}, *workers, env={"RNNSPEC_ATEXIT_MARK": str(mark)}
    )
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert outcomes(payload) == {"test_registers_an_exit_handler": ("passed", "")}
    assert mark.read_text() != str(os.getpid())  # written by the worker, not by this process


def test_the_runner_s_frames_are_told_by_where_they_are_installed() -> None:
    """Red if a stack in a report shows rnnspec's own plugin frames (its parts moved to
    rnnspec/tool/plugin/, and a pattern written for rnnspec/plugin.py stopped matching them),
    or drops the user's frames because a folder of theirs is named like a runner package."""
    import _pytest
    import xdist

    from rnnspec.tool.plugin import captured_warnings
    from rnnspec.tool.plugin.guard import is_runner_frame

    for runner in (captured_warnings.__file__, _pytest.__file__, xdist.__file__, "<string>"):
        assert is_runner_frame(runner), runner
    for users in ("/home/me/xdist/specs/test_g.py", "/srv/pluggy/test_x.py", str(REPO / "x.py")):
        assert not is_runner_frame(users), users
