"""The initial state: omitted means zeros, and an LSTM's is a pair (h_0, c_0).

The module pages (DOCS_RNN, DOCS_LSTM, DOCS_GRU): h_0 "Defaults to zeros if not
provided", and for nn.LSTM "(h_0, c_0) ... Defaults to zeros if (h_0, c_0) is
not provided". The shapes of an explicit state come from the table of modules
(rnnspec.modules); that the module honours an explicit state is part of the
equations fact (specs/pytorch/test_equations.py).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnspec.modules import LAYERS, grid_params, layout_params, params
from rnnspec.reference import reference
from rnnspec.sources import DOCS_LSTM
from rnnspec.testing import assert_results_close, raises_carrying

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")


@pytest.mark.parametrize("layout", layout_params())
@pytest.mark.parametrize("direction", grid_params(bidirectional=(False, True)))
@pytest.mark.parametrize("info", params(LAYERS))
def test_omitted_initial_state_is_zeros(info, direction, layout, device):
    """Omitting h_0 (and c_0) equals passing zeros of the documented shape, (D * num_layers,
    [N,] H_out) with H_out = proj_size for an LSTM's h_0, and equals the reference started from
    zeros.

    Red if the default state were not zero (or, for an LSTM with projections, if the default
    h_0 were hidden_size wide: the explicit proj_size-wide zeros would then raise).
    """
    config = info.settings(num_layers=2, **direction, **layout)
    module = info.build(config).to(device)
    x = info.input(config, device=device)
    omitted = module(x)
    zeros = info.initial_state(config, fill="zeros", device=device)
    assert_results_close(omitted, module(x, zeros), "omitted vs explicit zeros")
    assert_results_close(omitted, reference(module, x), "omitted vs the reference from zeros")


@pytest.mark.fact(DOCS_LSTM)
def test_lstm_takes_and_returns_the_state_as_a_pair(observe):
    """nn.LSTM takes its initial state as a pair (h_0, c_0) and returns (output, (h_n, c_n));
    a bare tensor as the state is rejected.

    Observed with torch 2.15: the rejection is an IndexError from unpacking the
    tensor as a pair (no dedicated message), so any of the usual error types
    counts; the type is recorded as an observation.
    """
    lstm = nn.LSTM(6, 8)
    x = torch.randn(5, 2, 6)
    _, state = lstm(x)
    assert isinstance(state, tuple)
    assert len(state) == 2
    with raises_carrying((RuntimeError, TypeError, ValueError, IndexError)) as raised:
        lstm(x, torch.zeros(1, 2, 8))
    observe("error_type", type(raised.value).__name__)
