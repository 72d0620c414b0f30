"""`rnnspec`: check this PyTorch against the spec, and compare releases.

rnnspec check [--mnist-root DIR] [--report-dir DIR] [pytest args...]  every fact, a report
rnnspec bench [--quick] [--compare] [pytest args...]   time models and training (benchmarks/)
rnnspec golden [--regenerate]                          compare or rewrite the golden values
rnnspec index                                          the fact index page
rnnspec matrix [--torch VER ...] [-- pytest args]      the suite in one env per release, compared
rnnspec matrix --plan | --job JOB                       the same as CI jobs: the plan, one job
rnnspec compare PATH ... [--plan P] [--out DIR]         facts x releases page from reports and jobs
rnnspec diff OLD.json NEW.json                          classified differences; exit 1 on a regression
rnnspec repeat [--runs N] [--seed S] [pytest args...]   N runs in random orders; exit 1 on a flake

Every command lives in its own module, which exposes `register(sub)`: it adds its
parser to `sub` (argparse subparsers) and sets `func`, a `(args, extra) -> int` that
receives the arguments the parser did not know (they go to pytest). No module
imports torch when it is imported, so the command line starts without it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = (
    "rnnspec.tool.check",
    "rnnspec.tool.bench",
    "rnnspec.tool.golden",
    "rnnspec.tool.index",
    "rnnspec.tool.matrix",
    "rnnspec.tool.diff",
    "rnnspec.tool.compare",
    "rnnspec.tool.repeat",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnspec", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = build_parser().parse_known_args(argv)
    return args.func(args, extra)


if __name__ == "__main__":
    sys.exit(main())
