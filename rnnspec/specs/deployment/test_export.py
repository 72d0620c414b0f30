"""torch.export of recurrent models: whether each exports, and the exported program equals eager.

`torch.export.export(module, args)` traces a module into an ExportedProgram whose
`.module()` computes what the module computed for inputs of the traced shapes. A bare
recurrent layer fails to export on 2.8 and 2.9 (measured): non-strict export's attribute
check raises ValueError at its _flat_weights. No issue reports it; pytorch/pytorch pull
#163809, which turns the error into a warning (2.10 exports, measured), describes it: the
ledger entry EXPORT_RNN_ATTRIBUTE_ASSIGNMENT names it. On 2.1-2.3 a
batched LSTM with projections (on 2.3 any batched LSTM) exports, but its program returns
final states of the wrong shape (EXPORT_LSTM_PROJECTION_STATE_SHAPE, EXPORT_LSTM_STATE_SHAPE).
Packed input is not part of the grid here: a PackedSequence's batch sizes are data, which
export cannot specialise on (GuardOnDataDependentSymNode on 2.15).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnspec.bugs import KnownBug
from rnnspec.ledger import (
    EXPORT_GRU_DYNAMIC_TIME,
    EXPORT_LSTM_DYNAMIC_TIME,
    EXPORT_LSTM_PROJECTION_STATE_SHAPE,
    EXPORT_LSTM_STATE_SHAPE,
    EXPORT_RNN_ATTRIBUTE_ASSIGNMENT,
)
from rnnspec.sources import DOCS_EXPORT
from rnnspec.specs.deployment.cases import (
    Case,
    Holder,
    SeedModel,
    assert_same_results,
    grid_cases,
    require_attribute,
    seed_model_params,
)

# The exported program runs the same ATen kernels as eager on CPU.
EXPORTED = {"rtol": 1.3e-6, "atol": 1e-5}


def _export(module: torch.nn.Module, example: torch.Tensor) -> torch.nn.Module:
    export = require_attribute(torch, "export", "torch.export (added in 2.1)")
    return export.export(module, (example,)).module()


# How each known bug of the layer fact breaks its promise (a regular expression on the failure).
# The state-shape bugs: h_n or c_n [D * layers, 1, N, size] where eager has [D * layers, N, size].
STATE_WITH_EXTRA_DIMENSION = (
    r"result [12]: .*torch\.Size\(\[(\d+), 1, (\d+), (\d+)\]\) "
    r"!= torch\.Size\(\[\1, \2, \3\]\)"
)
SYMPTOMS: dict[KnownBug, str] = {
    EXPORT_RNN_ATTRIBUTE_ASSIGNMENT: "were assigned during export",
    EXPORT_LSTM_PROJECTION_STATE_SHAPE: STATE_WITH_EXTRA_DIMENSION,
    EXPORT_LSTM_STATE_SHAPE: STATE_WITH_EXTRA_DIMENSION,
}


def _bug_met(case: Case) -> KnownBug:
    """The known bug a case's export meets on the installed release. Every bare layer fails
    to export on 2.8-2.9; a batched LSTM exports with wrongly shaped states on 2.1-2.3 (with
    projections) or 2.3 (without). A fact names one bug and these ranges do not overlap, so
    a case that can meet two names the one that holds here (EXPORT_RNN_ATTRIBUTE_ASSIGNMENT
    where none does)."""
    if case.info.cls is nn.LSTM and case.settings.batched:
        shape_bug = (
            EXPORT_LSTM_PROJECTION_STATE_SHAPE
            if case.settings.proj_size
            else EXPORT_LSTM_STATE_SHAPE
        )
        if shape_bug.holds_here():
            return shape_bug
    return EXPORT_RNN_ATTRIBUTE_ASSIGNMENT


def _layer_cases() -> list:
    """The grid, each case with its fact mark naming the known bug it meets here."""
    return [
        pytest.param(
            *param.values,
            id=param.id,
            marks=[*param.marks, pytest.mark.fact(DOCS_EXPORT, bug=_bug_met(param.values[0]))],
        )
        for param in grid_cases()
    ]


@pytest.mark.parametrize("case", _layer_cases())
def test_exported_layer_matches_eager(case: Case, known_bug, observe) -> None:
    """`torch.export.export` of nn.RNN/LSTM/GRU (layers, bidirectional, batch_first,
    proj_size, unbatched) succeeds, and the exported program returns the eager output and
    final states within rtol 1.3e-6 and atol 1e-5."""
    module = case.build()
    x = case.input()
    with known_bug.expected(match=SYMPTOMS[known_bug.bug]):
        try:
            exported = _export(module, x)
        except ValueError as error:  # the bug's symptom, as the promise it breaks
            raise AssertionError(f"torch.export.export raised ValueError: {error}") from error
        error = assert_same_results(exported(x), module(x), f"exported {case.name}", **EXPORTED)
        observe("max_abs_error_vs_eager", error, tolerance=1e-5)


@pytest.mark.fact(DOCS_EXPORT)
@pytest.mark.parametrize("seed_model", seed_model_params())
def test_exported_seed_model_matches_eager(seed_model: SeedModel) -> None:
    """`torch.export.export` of each seed model succeeds, and the exported program returns
    the eager outputs within rtol 1.3e-6 and atol 1e-5.

    The seed models hold their recurrent layer as a child: on 2.9.1, where exporting a bare
    layer raises (EXPORT_RNN_ATTRIBUTE_ASSIGNMENT), they export and match eager.
    """
    model = seed_model.build().eval()
    x = seed_model.example()
    exported = _export(model, x)
    assert_same_results(exported(x), model(x), f"exported {seed_model.name}", **EXPORTED)


DYNAMIC_TIME_LAYERS = [
    pytest.param(
        nn.LSTM, marks=pytest.mark.fact(DOCS_EXPORT, bug=EXPORT_LSTM_DYNAMIC_TIME), id="LSTM"
    ),
    pytest.param(
        nn.GRU, marks=pytest.mark.fact(DOCS_EXPORT, bug=EXPORT_GRU_DYNAMIC_TIME), id="GRU"
    ),
]


@pytest.mark.parametrize("layer_type", DYNAMIC_TIME_LAYERS)
def test_export_with_a_dynamic_time_axis_runs_other_lengths(layer_type, known_bug, observe):
    """`torch.export.export` of a batch-first nn.LSTM or nn.GRU (8 features, hidden 16) held
    as a child, traced on 11 steps with `dynamic_shapes` marking the time axis as a
    `torch.export.Dim(min=2, max=3000)`, succeeds, and the program runs 7 steps and returns
    what eager returns.

    Red where export specialises the time axis to the traced length and refuses the range
    ("Constraints violated (time)!", pytorch/pytorch#115092, #126339), or where the program
    it makes computes another length wrongly.
    """
    export = require_attribute(torch, "export", "torch.export (added in 2.1)")
    dim = require_attribute(export, "Dim", "torch.export.Dim (added in 2.2)")
    torch.manual_seed(0)
    model = Holder(layer_type(8, 16, batch_first=True)).eval()
    dynamic_shapes = ({1: dim("time", min=2, max=3000)},)
    with known_bug.expected(match="export raised"):
        try:
            program = export.export(model, (torch.randn(2, 11, 8),), dynamic_shapes=dynamic_shapes)
        except Exception as error:  # torch._dynamo's UserError is not a public class
            observe("error", f"{type(error).__name__}: {str(error).splitlines()[0][:300]}")
            raise AssertionError(f"export raised {type(error).__name__}: {error}") from None
        x = torch.randn(2, 7, 8)
        error = assert_same_results(program.module()(x)[0], model(x)[0], "7 steps", **EXPORTED)
        observe("max_abs_error_vs_eager", error, tolerance=1e-5)
