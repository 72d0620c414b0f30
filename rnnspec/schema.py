"""The names every writer and reader of a report shares: outcomes, verdicts, exit statuses.

A fact has one outcome; a run has one verdict and one exit status; a release of the
matrix (one job) has one status. The plugin writes the first three and `rnnspec matrix`
the last; `rnnspec diff`, `compare` and `matrix` read them: they all take the names from here.
"""

from __future__ import annotations

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
VERDICT_PASSED = "passed"
VERDICT_FAILED = "failed"
VERDICT_INTERRUPTED = "incomplete: interrupted"
VERDICT_ENVIRONMENT = "incomplete: environment"
VERDICT_NOT_RUN = "not run"

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
STATUS_PASSED = "passed"  # a report whose verdict is "passed", from a suite that exited 0
STATUS_FAILED = "failed"
STATUS_ENVIRONMENT = "incomplete (environment)"
STATUS_INTERRUPTED = "incomplete (interrupted)"
STATUS_NO_FACTS = "no facts executed"
STATUS_NOT_INSTALLED = "not installed"  # uv could not build the release's environment
STATUS_TIMED_OUT = "timed out"  # the suite ran past its limit (its report, if any, is kept)
STATUS_CRASHED = "crashed"  # no report, pytest's internal error, a signal; a reason may follow
STATUS_NOT_RUN = "not run"  # planned, but no result of the job reached the comparison
STATUS_STARTED = "started"  # job.json while the job runs; left so, the job never finished


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


SPECS_FOLDER = "specs"  # a fact's id starts at the folder of that name that holds its module


def specs_relative(node_id: str) -> str:
    """A fact's id from the `specs/` folder on: "rnnspec/specs/pytorch/test_x.py::test_y" (a
    checkout) and ".../site-packages/rnnspec/specs/pytorch/..." (an installed wheel) are both
    "specs/pytorch/test_x.py::test_y", so that one fact has one id wherever it runs. A team's
    own facts (`rnnspec check --specs DIR`) start at DIR's name instead: see
    rnnspec.plugin.stable_id."""
    path, separator, rest = node_id.partition("::")
    folders = path.split("/")[:-1]
    if SPECS_FOLDER not in folders:
        return node_id
    start = folders.index(SPECS_FOLDER)
    return "/".join(path.split("/")[start:]) + separator + rest
