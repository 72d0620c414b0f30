"""Golden values: pinned outputs of small nn.RNN / nn.LSTM / nn.GRU runs with closed-form weights.

    rnnspec golden                  compare specs/golden/*.json with the installed torch
    rnnspec golden --regenerate     rewrite them (the only way they are ever written)

Each case builds a small module whose every number comes from a formula, never
from torch's random generator, so the same case means the same computation in
every release:

    weights   parameter j of sorted(module.state_dict()) (j = 0, 1, ...), element i in
              row-major order:  0.5 * sin(0.37 * i + 0.91 * j + 0.2)
    input     element i of x, row-major in the layout the module takes
              ((L, N, H_in), or (N, L, H_in) with batch_first):  sin(0.61 * i + 0.5)
    h_0       element i, row-major (D * num_layers, N, H_out):  0.3 * cos(0.47 * i)
    c_0       element i, row-major (D * num_layers, N, hidden_size):  0.2 * sin(0.53 * i + 1.0)

The formulas are evaluated in float64 and rounded once to float32. The stored
output, h_n (and c_n) are what the module returns in float32 on CPU, written
with 8 significant digits, and a file is only written after those values agree
with `models.reference` (the documented equations, one step at a time, in
float64 on a float64 copy of the same weights) within `TOLERANCE`: the
numbers are not just whatever torch printed. specs/test_golden_values.py
compares every later release against them with the same tolerance.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "specs" / "golden"
# float32 through a handful of steps: about 1e-7 relative error per operation, far inside these.
TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}
SIGNIFICANT_DIGITS = 8  # float32 carries about 7.2 decimal digits
FORMULAS = {
    "weights": "parameter j of sorted(state_dict()), element i row-major: "
    "0.5 * sin(0.37 * i + 0.91 * j + 0.2)",
    "input": "element i of x, row-major in the module's input layout: sin(0.61 * i + 0.5)",
    "h_0": "element i, row-major (D * num_layers, N, H_out): 0.3 * cos(0.47 * i)",
    "c_0": "element i, row-major (D * num_layers, N, hidden_size): 0.2 * sin(0.53 * i + 1.0)",
    "precision": "evaluated in float64, rounded once to float32",
}
MODULES: dict[str, type[nn.RNNBase]] = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


@dataclass(frozen=True)
class GoldenCase:
    """One pinned run: which module, its constructor options, the sizes, an initial state or not."""

    name: str
    module: str  # "RNN", "LSTM" or "GRU"
    options: dict[str, Any] = field(default_factory=dict)  # num_layers, bidirectional, ...
    initial_state: bool = False  # pass h_0 (and c_0) from the formulas, else zeros by default
    seq_len: int = 5
    batch: int = 2
    input_size: int = 3
    hidden_size: int = 4

    @property
    def path(self) -> Path:
        return GOLDEN_DIR / f"{self.name}.json"

    def config(self) -> dict[str, Any]:
        """Everything that defines the run, as stored in the file."""
        return {k: v for k, v in asdict(self).items() if k != "name"}


CASES = (
    GoldenCase("rnn-tanh-1-layer", "RNN"),
    GoldenCase(
        "rnn-relu-2-layers-no-bias", "RNN", {"nonlinearity": "relu", "num_layers": 2, "bias": False}
    ),
    GoldenCase("rnn-tanh-bidirectional-with-h0", "RNN", {"bidirectional": True}, True),
    GoldenCase("lstm-1-layer-with-state", "LSTM", {}, True),
    GoldenCase("lstm-bidirectional-2-layers", "LSTM", {"num_layers": 2, "bidirectional": True}),
    GoldenCase(
        "lstm-proj-bidirectional-2-layers-with-state",
        "LSTM",
        {"num_layers": 2, "bidirectional": True, "proj_size": 2},
        True,
    ),
    GoldenCase("gru-1-layer-batch-first", "GRU", {"batch_first": True}),
    GoldenCase(
        "gru-bidirectional-2-layers-with-state",
        "GRU",
        {"num_layers": 2, "bidirectional": True},
        True,
    ),
)


def formula(
    shape: Sequence[int], amplitude: float, frequency: float, phase: float, wave: str = "sin"
) -> Tensor:
    """amplitude * wave(frequency * i + phase) over the row-major index i, float64 then float32."""
    i = torch.arange(math.prod(shape), dtype=torch.float64)
    values = torch.sin(frequency * i + phase) if wave == "sin" else torch.cos(frequency * i + phase)
    return (amplitude * values).reshape(*shape).to(torch.float32)


def build(case: GoldenCase) -> nn.RNNBase:
    """The case's module in float32 on CPU, every parameter set from the weight formula."""
    module = MODULES[case.module](case.input_size, case.hidden_size, **case.options)
    state = module.state_dict()
    with torch.no_grad():
        for j, name in enumerate(sorted(state)):
            state[name].copy_(formula(state[name].shape, 0.5, 0.37, 0.91 * j + 0.2))
    return module.eval()


def inputs(case: GoldenCase, module: nn.RNNBase) -> tuple[Tensor, Any]:
    """(x, hx) for the case: x in the module's layout, hx None or the formula states."""
    shape = (case.seq_len, case.batch, case.input_size)
    if module.batch_first:
        shape = (case.batch, case.seq_len, case.input_size)
    x = formula(shape, 1.0, 0.61, 0.5)
    if not case.initial_state:
        return x, None
    directions = 2 if module.bidirectional else 1
    out_size = getattr(module, "proj_size", 0) or module.hidden_size
    h_0 = formula((directions * module.num_layers, case.batch, out_size), 0.3, 0.47, 0.0, "cos")
    if isinstance(module, nn.LSTM):
        c_shape = (directions * module.num_layers, case.batch, module.hidden_size)
        return x, (h_0, formula(c_shape, 0.2, 0.53, 1.0))
    return x, h_0


def named_results(module: nn.RNNBase, output: Tensor, state: Any) -> dict[str, Tensor]:
    """{"output", "h_n"[, "c_n"]} from a module's return value."""
    if isinstance(module, nn.LSTM):
        h_n, c_n = state
        return {"output": output, "h_n": h_n, "c_n": c_n}
    return {"output": output, "h_n": state}


def run_module(case: GoldenCase) -> dict[str, Tensor]:
    """What the installed torch returns for the case, float32 on CPU."""
    module = build(case)
    x, hx = inputs(case, module)
    with torch.no_grad():
        output, state = module(x, hx)
    return named_results(module, output, state)


def run_reference(case: GoldenCase) -> dict[str, Tensor]:
    """The documented equations (models.reference) for the case, in float64 on the same numbers."""
    from models.reference import reference

    module = build(case)
    x, hx = inputs(case, module)
    module = module.double()
    x = x.double()
    if hx is not None:
        hx = tuple(s.double() for s in hx) if isinstance(hx, tuple) else hx.double()
    with torch.no_grad():
        output, state = reference(module, x, hx)
    return named_results(module, output, state)


def load(case: GoldenCase) -> dict[str, Any]:
    """The stored file of a case, as parsed JSON."""
    return json.loads(case.path.read_text())


def stored_tensors(data: dict[str, Any]) -> dict[str, Tensor]:
    """The stored results of a parsed golden file, as float64 tensors."""
    return {
        key: torch.tensor(data[key], dtype=torch.float64)
        for key in ("output", "h_n", "c_n")
        if key in data
    }


def _rounded(tensor: Tensor) -> Any:
    values = tensor.double().tolist()

    def round_all(v: Any) -> Any:
        return (
            [round_all(x) for x in v]
            if isinstance(v, list)
            else float(f"{v:.{SIGNIFICANT_DIGITS}g}")
        )

    return round_all(values)


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


def check_against_reference(
    results: dict[str, Tensor], reference: dict[str, Tensor], what: str = "results"
) -> None:
    """Raise AssertionError when results and reference name different tensors or differ beyond
    TOLERANCE; `what` names the results in the message."""
    __tracebackhide__ = True
    if sorted(results) != sorted(reference):
        raise AssertionError(f"{what} hold {sorted(results)}, the reference {sorted(reference)}")
    for key, tensor in results.items():
        torch.testing.assert_close(
            tensor.double(),
            reference[key].double(),
            **TOLERANCE,
            msg=lambda m, k=key: f"{what}, {k}: {m}",
        )


def regenerate(cases: Sequence[GoldenCase] = CASES) -> list[Path]:
    """Run every case, check it against the reference, and write its file; returns the paths."""
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for case in cases:
        results = run_module(case)
        check_against_reference(results, run_reference(case))
        data = {
            "name": case.name,
            "config": case.config(),
            "formulas": FORMULAS,
            "tolerance": {**TOLERANCE, "dtype": "float32", "device": "cpu"},
            "produced_by": {
                "torch": torch.__version__,
                "how": "the module's float32 CPU forward, checked against models.reference in "
                "float64 within the tolerance before writing",
            },
            **{key: _rounded(tensor) for key, tensor in results.items()},
        }
        case.path.write_text(_to_json(data) + "\n")
        written.append(case.path)
    return written


def compare(cases: Sequence[GoldenCase] = CASES) -> list[str]:
    """Problems found comparing the stored files with the installed torch; empty when all agree."""
    problems = []
    for case in cases:
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
    # oneDNN's note that it hands projected LSTMs to the default kernel; no news to the user.
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    if args.regenerate:
        for path in regenerate():
            print(f"rnnspec: wrote {path}")
        return 0
    problems = compare()
    for problem in problems:
        print(f"rnnspec: {problem}")
    print(
        f"rnnspec: {len(CASES) - len(problems)} of {len(CASES)} golden files agree with torch "
        f"{torch.__version__}"
    )
    return 1 if problems else 0
