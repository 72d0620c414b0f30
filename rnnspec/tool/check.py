"""`rnnspec check`: run the facts against the installed torch and write the report folder.

    rnnspec check [--mnist-root DIR] [--download-mnist] [--profile deep] [--report-dir DIR]
                  [--specs DIR ...] [pytest args...]

It runs the facts only: rnnspec's own (the `specs` package inside rnnspec, wherever rnnspec
is installed) and a team's own fact folders (`--specs DIR`, repeatable), never rnnspec's
machinery tests (tests/, the test command's). pytest arguments narrow the selection (`-k`,
`-m`, `-n auto`); a test path or node id among them (or in PYTEST_ADDOPTS) replaces the
default paths.

The options are this command's own, in either spelling (`--mnist-root DIR` or
`--mnist-root=DIR`); they reach pytest as `--opt=value`, because pytest takes a
separate existing DIR for a test path while it looks for its rootdir. pytest runs
in a child process pinned to the package's configuration (`-c rnnspec/facts.ini
--rootdir=rnnspec/`, rnnspec's plugins loaded with `-p`), so no argument can move the rootdir
and the facts' ids are the same from a checkout and from a wheel. When pytest could not start
(a usage error, an internal error, or no report.json written) the command says that
no report was written and exits non-zero; otherwise it prints the verdict and where
the report is, and exits with pytest's status (6: no fact failed, but some could not
run because of the environment; 7: no fact failed, but the run was interrupted; see
rnnspec.schema).

The facts run in xdist worker processes, one when no `-n` is given (rnnspec.tool.plugin.guard): a
fact that crashes or hangs costs that fact. SIGTERM and Ctrl-C reach pytest, which ends
the run, writes the report with the facts that completed (the others NOT_RUN) and
exits 7; this command waits for it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnspec.releases import installed

PACKAGE = Path(__file__).resolve().parents[1]  # rnnspec/, in a checkout or in site-packages
SPECS = PACKAGE / "specs"  # rnnspec's facts
CONFIGURATION = PACKAGE / "facts.ini"
PLUGINS = ("rnnspec.plugin", "rnnspec.suite")
NOT_STARTED = (3, 4)  # pytest's INTERNAL_ERROR and USAGE_ERROR: no session, no report


def default_report_dir() -> Path:
    """reports/torch-<release>-<time>, below the current folder."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("reports") / f"torch-{installed('torch')}-{stamp}"


def names_a_test_path(argument: str) -> bool:
    """Whether a pytest argument is a test path or node id ("dir/test_x.py::test_y")."""
    return not argument.startswith("-") and Path(argument.split("::")[0]).exists()


def pytest_arguments(args: argparse.Namespace, extra: Sequence[str], report_dir: Path) -> list[str]:
    """pytest's arguments: the pinned configuration, this command's options, `extra`, then the
    fact folders (unless `extra` names test paths itself)."""
    pinned = ["-c", str(CONFIGURATION), f"--rootdir={PACKAGE}", f"--report-dir={report_dir}"]
    for plugin in PLUGINS:
        pinned += ["-p", plugin]
    if args.mnist_root is not None:
        pinned.append(f"--mnist-root={Path(args.mnist_root).expanduser().resolve()}")
    if args.download_mnist:
        pinned.append("--download-mnist")
    if args.profile is not None:
        pinned.append(f"--profile={args.profile}")
    team = [Path(folder).expanduser().resolve() for folder in args.specs or ()]
    pinned += [f"--user-specs={folder}" for folder in team]
    rest = list(extra)
    if "--" in rest:  # `rnnspec check ... -- -k x`: the separator is rnnspec's, not pytest's
        rest.remove("--")
    given = [*rest, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    paths = [] if any(names_a_test_path(a) for a in given) else [str(SPECS), *map(str, team)]
    return [*pinned, *rest, *paths]


def run(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Run pytest on the suite, then say where the report is, or that none was written."""
    report_dir = Path(args.report_dir or default_report_dir()).expanduser().resolve()
    report_json = report_dir / "report.json"
    report_json.unlink(missing_ok=True)  # a report from an earlier run must not pass for this one
    command = [sys.executable, "-m", "pytest", *pytest_arguments(args, extra, report_dir)]
    status = run_to_the_end(command, cwd=Path.cwd())
    if status in NOT_STARTED or not report_json.is_file():
        print(
            f"rnnspec: no report was written (pytest exited with status {status})",
            file=sys.stderr,
        )
        return status or 1
    verdict = json.loads(report_json.read_text()).get("verdict")
    print(
        f"rnnspec: verdict {verdict}; report in {report_dir}/ "
        "(report.md, report.json, training_curves.png)"
    )
    return status


def run_to_the_end(command: Sequence[str], *, cwd: Path) -> int:
    """Run pytest and wait until it has written its report, whatever signal comes.

    SIGTERM is passed on to pytest; Ctrl-C reaches it from the terminal (its process group)
    and this process keeps waiting, where subprocess.run would kill it a moment later. A
    second Ctrl-C stops pytest at once.
    """
    proc = subprocess.Popen(list(command), cwd=cwd, env=os.environ.copy())

    def pass_on(signum: int, frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, pass_on)
    interrupts = 0
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                interrupts += 1
                if interrupts > 1:
                    proc.kill()
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(sub: Any) -> None:
    """Add `rnnspec check` to the CLI's subparsers."""
    parser = sub.add_parser(
        "check",
        help="run the spec suite against the installed torch and write a report",
        description=__doc__.split("\n\n", 2)[2],
        epilog="Other arguments go to pytest, e.g. -n auto, -m 'not slow', -k dropout.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # an abbreviation may be one of pytest's options
    )
    parser.add_argument(
        "--mnist-root", metavar="DIR", help="folder holding MNIST/raw/ (no download)"
    )
    parser.add_argument(
        "--download-mnist", action="store_true", help="let torchvision download MNIST"
    )
    parser.add_argument(
        "--profile",
        choices=("default", "deep"),
        help="deep: training facts over several seeds (default: $RNNSPEC_PROFILE or default)",
    )
    parser.add_argument(
        "--report-dir", metavar="DIR", help="report folder (default reports/torch-<ver>-<time>)"
    )
    parser.add_argument(
        "--specs",
        metavar="DIR",
        action="append",
        help="a folder of your own facts, run beside rnnspec's (repeatable)",
    )
    parser.set_defaults(func=run)
