"""The golden values: small nn.RNN / nn.LSTM / nn.GRU runs whose every number comes from a formula.

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
results (specs/golden/<case>.json) are written only by `rnnspec golden --regenerate`
(rnnspec.tool.golden), after they agreed with the documented equations
(rnnspec.reference) in float64 within `TOLERANCE`; the fact that holds every release
to them is specs/pytorch/test_equations.py::test_module_reproduces_the_golden_values.
Shapes and states come from the table of modules (rnnspec.modules). This module is
the library both import: the cases, how to run them, and how to compare the results.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnspec.modules import CLASSES, ModuleInfo, Settings
from rnnspec.reference import reference
from rnnspec.testing import flatten, to_device

GOLDEN_DIR = Path(__file__).resolve().parent / "specs" / "golden"  # the stored files
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

    @property
    def info(self) -> ModuleInfo:
        """The module's class in the table of modules."""
        return next(info for info in CLASSES if info.class_name == self.module)

    @property
    def settings(self) -> Settings:
        return Settings(
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            seq_len=self.seq_len,
            batch=self.batch,
            **self.options,
        )

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
    module = case.info.build(case.settings)
    state = module.state_dict()
    with torch.no_grad():
        for j, name in enumerate(sorted(state)):
            state[name].copy_(formula(state[name].shape, 0.5, 0.37, 0.91 * j + 0.2))
    return module.eval()


def inputs(case: GoldenCase) -> tuple[Tensor, Any]:
    """(x, hx) for the case: x in the module's layout, hx None or the formula states."""
    info, settings = case.info, case.settings
    x = formula(info.input_shape(settings), 1.0, 0.61, 0.5)
    if not case.initial_state:
        return x, None
    waves = ((0.3, 0.47, 0.0, "cos"), (0.2, 0.53, 1.0, "sin"))  # h_0, c_0
    states = [
        formula(shape, *wave)
        for shape, wave in zip(info.state_shapes(settings), waves, strict=False)
    ]
    return x, info.pack_state(states)


def named_results(output: Tensor, state: Any) -> dict[str, Tensor]:
    """{"output", "h_n"[, "c_n"]} from a module's return value."""
    return dict(zip(("output", "h_n", "c_n"), flatten((output, state)), strict=False))


def run_module(case: GoldenCase) -> dict[str, Tensor]:
    """What the installed torch returns for the case, float32 on CPU."""
    module = build(case)
    x, hx = inputs(case)
    with torch.no_grad():
        return named_results(*module(x, hx))


def run_reference(case: GoldenCase) -> dict[str, Tensor]:
    """The documented equations (rnnspec.reference) for the case, in float64 on the same numbers."""
    module = build(case).double()
    x, hx = inputs(case)
    hx = None if hx is None else to_device(hx, torch.float64)
    with torch.no_grad():
        return named_results(*reference(module, x.double(), hx))


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


def check_against_reference(
    results: dict[str, Tensor], reference: dict[str, Tensor], what: str = "results"
) -> float:
    """Raise AssertionError when results and reference name different tensors or differ beyond
    the cases' TOLERANCE; `what` names the results in the message. Returns the largest absolute
    difference."""
    __tracebackhide__ = True
    if sorted(results) != sorted(reference):
        raise AssertionError(f"{what} hold {sorted(results)}, the reference {sorted(reference)}")
    largest = 0.0
    for key, tensor in results.items():
        torch.testing.assert_close(
            tensor.double(),
            reference[key].double(),
            **TOLERANCE,
            msg=lambda m, k=key: f"{what}, {k}: {m}",
        )
        largest = max(largest, (tensor.double() - reference[key].double()).abs().max().item())
    return largest
