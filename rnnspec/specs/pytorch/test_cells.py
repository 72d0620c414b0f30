"""nn.RNNCell, nn.LSTMCell and nn.GRUCell: one time step of the layers' equations.

The cell pages (DOCS_RNN_CELL, DOCS_LSTM_CELL, DOCS_GRU_CELL) give the same
equations as the layers for one step, with parameters weight_ih, weight_hh,
bias_ih, bias_hh. What the cells say about bad input is in
specs/pytorch/test_errors.py; their initialisation in test_initialisation.py.
"""

from __future__ import annotations

import pytest
import torch

from rnnspec.modules import CELLS, layout_params, params, record
from rnnspec.reference import cell_weights
from rnnspec.testing import assert_results_close, final_states

BATCHED_AND_UNBATCHED = layout_params([("L-N-H", {}), ("unbatched", {"batch": None})])


@pytest.mark.parametrize("layout", BATCHED_AND_UNBATCHED)
@pytest.mark.parametrize("bias", [pytest.param(True, id="bias"), pytest.param(False, id="no-bias")])
@pytest.mark.parametrize("info", params(CELLS))
def test_cell_computes_one_step_and_stepped_over_a_sequence_equals_the_one_layer_module(
    info, bias, layout
):
    """A cell computes one step of its documented equation, and a cell holding a one-layer
    module's weights (weight_ih_l0 -> weight_ih, ...) stepped by hand over the sequence, feeding
    back its state, gives the module's output and final state.

    Red if a cell ordered its gates differently from the module or from the
    documentation, or if its state layout (h, c) differed from the module's.
    """
    layer_info = record(info.name.replace("Cell", ""))  # RNNCell-relu -> RNN-relu
    config = info.settings(bias=bias, **layout)
    layer = layer_info.build(config)
    cell = info.build(config)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x, hx = layer_info.input(config), layer_info.initial_state(config)  # states (1, [N,] H)

    state = info.pack_state(s[0] for s in final_states(hx))  # ([N,] H) each
    first = info.step(x[0], final_states(state), cell_weights(cell))
    torch.testing.assert_close(final_states(cell(x[0], state)), first)
    steps = []
    for x_t in x:  # x_t: ([N,] H_in)
        state = cell(x_t, state)
        steps.append(final_states(state)[0])
    expected = layer(x, hx)
    got = (torch.stack(steps), info.pack_state(s[None] for s in final_states(state)))
    assert_results_close(got, expected, "cell stepped vs one-layer module")
