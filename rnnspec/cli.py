"""`rnnspec`: check this PyTorch against the spec, and compare releases.

rnnspec check [--report-dir DIR] [pytest args...]   run every fact, write the report
rnnspec bench [--quick] [--compare] [pytest args...]  time models and training (benchmarks/)
rnnspec golden [--regenerate]                       compare or rewrite specs/golden/*.json
rnnspec matrix [--torch VER ...] [-- pytest args]   the suite in one env per release, compared
rnnspec compare REPORT.json ... [--out DIR]          facts x releases page from reports
rnnspec diff OLD.json NEW.json                       changed facts; exit 1 on a regression
rnnspec repeat [--runs N] [--seed S] [pytest args...] N runs in random orders; exit 1 on a flake
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path


def default_report_dir() -> Path:
    import torch

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("reports") / f"torch-{torch.__version__.split('+')[0]}-{stamp}"


def cmd_check(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Run the whole spec suite against the installed torch and write the report folder."""
    import pytest

    report_dir = Path(args.report_dir) if args.report_dir else default_report_dir()
    # "--opt=DIR", not "--opt DIR": pytest takes an existing DIR given as a separate argument
    # for a test path when it looks for its rootdir and pytest.ini.
    pytest_args = [f"--report-dir={report_dir}", *extra]
    code = int(pytest.main(pytest_args))
    print(f"rnnspec: report in {report_dir}/ (report.md, report.json, training_curves.png)")
    return code


def cmd_golden(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """`rnnspec golden`: imported here so that the other commands start without torch."""
    from rnnspec import golden

    return golden.cmd_golden(args, extra)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnspec", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser(
        "check",
        help="run the spec suite against the installed torch and write a report",
        description="Extra arguments go to pytest, e.g. -n auto, --mnist-root DIR, -m 'not slow'.",
    )
    check.add_argument(
        "--report-dir", help="report folder (default: reports/torch-<version>-<time>)"
    )
    check.set_defaults(func=cmd_check)
    from rnnspec.bench import add_bench_parser

    add_bench_parser(sub)
    golden = sub.add_parser(
        "golden",
        help="compare specs/golden/*.json with this torch, or --regenerate them",
        description="Without --regenerate, only compares; tests never write these files.",
    )
    golden.add_argument(
        "--regenerate", action="store_true", help="rewrite specs/golden/*.json from this torch"
    )
    golden.set_defaults(func=cmd_golden)
    from rnnspec import compare, matrix

    matrix.add_parser(sub)
    compare.add_parsers(sub)
    from rnnspec import repeat

    repeat.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = build_parser().parse_known_args(argv)
    return args.func(args, extra)


if __name__ == "__main__":
    sys.exit(main())
