"""`rnnspec golden [--regenerate]`: the golden files of specs/golden/ against the installed torch.

    rnnspec golden                  compare specs/golden/*.json with the installed torch
    rnnspec golden --regenerate     rewrite them (the only way they are ever written)

The cases, their closed-form weights and inputs, and how to run and compare them live
in the library (rnnspec.golden), which the fact imports too. A file is only written after the module's float32 CPU
results agree with the documented equations (rnnspec.reference, in float64 on
a float64 copy of the same weights) within the cases' TOLERANCE: the numbers
are not just whatever torch printed. The fact that compares every later
release with them is specs/pytorch/test_equations.py::test_module_reproduces_the_golden_values.

torch is imported inside the functions: the command line starts without it.
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor

    from rnnspec.golden import GoldenCase


def cases() -> tuple[GoldenCase, ...]:
    from rnnspec.golden import CASES

    return CASES


def _rounded(tensor: Tensor) -> Any:
    from rnnspec.golden import SIGNIFICANT_DIGITS

    def round_all(v: Any) -> Any:
        if isinstance(v, list):
            return [round_all(x) for x in v]
        return float(f"{v:.{SIGNIFICANT_DIGITS}g}")

    return round_all(tensor.double().tolist())


def _to_json(value: Any, indent: int = 0) -> str:
    """JSON with one innermost list (one feature vector) per line, readable in a diff."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {_to_json(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and isinstance(value[0], list):
        items = [f"{inner}{_to_json(v, indent + 2)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value)


def regenerate(selected: Sequence[GoldenCase] | None = None) -> list[Path]:
    """Run every case, check it against the reference, and write its file; returns the paths."""
    import torch

    from rnnspec.golden import (
        FORMULAS,
        TOLERANCE,
        check_against_reference,
        run_module,
        run_reference,
    )

    written = []
    for case in cases() if selected is None else selected:
        results = run_module(case)
        check_against_reference(results, run_reference(case))
        data = {
            "name": case.name,
            "config": case.config(),
            "formulas": FORMULAS,
            "tolerance": {**TOLERANCE, "dtype": "float32", "device": "cpu"},
            "produced_by": {
                "torch": torch.__version__,
                "how": "the module's float32 CPU forward, checked against rnnspec.reference in "
                "float64 within the tolerance before writing",
            },
            **{key: _rounded(tensor) for key, tensor in results.items()},
        }
        case.path.write_text(_to_json(data) + "\n")
        written.append(case.path)
    return written


def compare(selected: Sequence[GoldenCase] | None = None) -> list[str]:
    """Problems found comparing the stored files with the installed torch; empty when all agree."""
    from rnnspec.golden import check_against_reference, load, run_module, stored_tensors

    problems = []
    for case in cases() if selected is None else selected:
        if not case.path.exists():
            problems.append(
                f"{case.name}: {case.path} is missing (run `rnnspec golden --regenerate`)"
            )
            continue
        data = load(case)
        if data["config"] != case.config():
            problems.append(f"{case.name}: stored config differs from the case; regenerate")
            continue
        try:
            check_against_reference(run_module(case), stored_tensors(data))
        except AssertionError as error:
            problems.append(f"{case.name}: {error}")
    return problems


def cmd_golden(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """`rnnspec golden [--regenerate]`: compare the golden files, or rewrite them."""
    import torch

    # oneDNN's note that it hands projected LSTMs to the default kernel; no news to the user.
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    if args.regenerate:
        for path in regenerate():
            print(f"rnnspec: wrote {path}")
        return 0
    problems = compare()
    for problem in problems:
        print(f"rnnspec: {problem}")
    total = len(cases())
    print(
        f"rnnspec: {total - len(problems)} of {total} golden files agree with torch "
        f"{torch.__version__}"
    )
    return 1 if problems else 0


def register(sub: Any) -> None:
    """Add `rnnspec golden` to the command line's subparsers."""
    parser = sub.add_parser(
        "golden",
        help="compare specs/golden/*.json with this torch, or --regenerate them",
        description="Without --regenerate, only compares; tests never write these files.",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="rewrite specs/golden/*.json from this torch"
    )
    parser.set_defaults(func=cmd_golden)
