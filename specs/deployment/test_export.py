"""torch.export of recurrent models: whether each exports, and the exported program equals eager.

`torch.export.export(module, args)` traces a module into an ExportedProgram whose
`.module()` computes what the module computed for inputs of the traced shapes. The
recurrent layers failed to export on some releases (pytorch/pytorch#120626, fixed by
#163809): the ledger entry EXPORT_RNN_ATTRIBUTE_ASSIGNMENT names them; on 2.1-2.3 an
LSTM with projections exports but its program returns states of the wrong shape
(EXPORT_LSTM_PROJECTION_STATE_SHAPE, #151200). Packed input is
not part of the grid here: a PackedSequence's batch sizes are data, which export cannot
specialise on (GuardOnDataDependentSymNode on 2.15).
"""

from __future__ import annotations

import pytest
import torch

from rnnspec.bugs import KnownBug
from rnnspec.ledger import EXPORT_LSTM_PROJECTION_STATE_SHAPE, EXPORT_RNN_ATTRIBUTE_ASSIGNMENT
from rnnspec.sources import DOCS_EXPORT
from specs.deployment.cases import (
    Case,
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
SYMPTOMS: dict[str, str] = {
    EXPORT_RNN_ATTRIBUTE_ASSIGNMENT.issue: "were assigned during export",
    # h_n or c_n: [D * layers, 1, N, size] where eager returns [D * layers, N, size].
    EXPORT_LSTM_PROJECTION_STATE_SHAPE.issue: (
        r"result [12]: .*torch\.Size\(\[(\d+), 1, (\d+), (\d+)\]\) "
        r"!= torch\.Size\(\[\1, \2, \3\]\)"
    ),
}


def _bug_met(case: Case) -> KnownBug:
    """The known bug a case's export meets on the installed release. Every bare layer fails
    to export on 2.8-2.9; a batched LSTM with projections exports with wrongly shaped states
    on 2.1-2.3. A fact names one bug and these ranges do not overlap, so a case both can
    meet names the one that holds here (EXPORT_RNN_ATTRIBUTE_ASSIGNMENT where neither does)."""
    projected = case.settings.proj_size and case.settings.batched
    if projected and EXPORT_LSTM_PROJECTION_STATE_SHAPE.holds_here():
        return EXPORT_LSTM_PROJECTION_STATE_SHAPE
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
    with known_bug.expected(match=SYMPTOMS[known_bug.bug.issue]):
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
