"""Gradients through nn.RNN, nn.LSTM and nn.GRU: the backward kernels agree with the forward.

The modules' backward is a fused kernel, not autograd through the documented
equations; these facts hold it against finite differences of the forward and
against autograd through the step-by-step reference (rnnspec.reference), in
float64, for 2-layer bidirectional modules of every entry of the table.
"""

from __future__ import annotations

import copy

import pytest
import torch

from rnnspec.ledger import ONEDNN_LSTM_DOUBLE_BACKWARD
from rnnspec.modules import LAYERS, params
from rnnspec.reference import reference
from rnnspec.sources import DOCS_AUTOGRAD
from rnnspec.testing import final_states, flatten

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")


def small(info, seq_len: int):
    """A 2-layer bidirectional float64 module of `info`, an input and an initial state that all
    require gradients."""
    config = info.settings(hidden_size=4, num_layers=2, bidirectional=True, seq_len=seq_len)
    module = info.build(config, dtype=torch.float64)
    x = info.input(config, torch.float64).requires_grad_(True)
    states = [
        s.requires_grad_(True)
        for s in final_states(info.initial_state(config, dtype=torch.float64))
    ]
    return module, x, states


@pytest.mark.parametrize("info", params(LAYERS))
def test_gradients_match_finite_differences(info):
    """The gradients of output and final states with respect to the input and the initial
    state equal finite differences of the forward (torch.autograd.gradcheck, float64).

    Red if a backward kernel (the fused RNN backward, not autograd through the equations)
    disagreed with the forward it belongs to."""
    module, x, states = small(info, seq_len=5)

    def forward(x: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return flatten(module(x, info.pack_state(states)))

    assert torch.autograd.gradcheck(forward, (x, *states), fast_mode=True)


@pytest.mark.parametrize("info", params(LAYERS))
def test_weight_gradients_match_the_equations(info):
    """The gradients with respect to every weight, the input and the initial state equal those
    of autograd through the step-by-step reference (float64, default tolerances)."""
    module, x, states = small(info, seq_len=6)
    hx = info.pack_state(states)
    leaves = [x, *states, *module.parameters()]
    directions = [torch.randn_like(t) for t in flatten(module(x, hx))]  # a random loss direction

    def gradients(result: tuple) -> tuple[torch.Tensor, ...]:
        loss = sum((t * w).sum() for t, w in zip(flatten(result), directions, strict=True))
        return torch.autograd.grad(loss, leaves)

    names = ["input"] + [f"state {i}" for i in range(len(states))]
    names += [name for name, _ in module.named_parameters()]
    for name, got, expected in zip(
        names, gradients(module(x, hx)), gradients(reference(module, x, hx)), strict=True
    ):
        torch.testing.assert_close(
            got, expected, msg=lambda m, name=name: f"gradient of {name}: {m}"
        )


@pytest.mark.fact(DOCS_AUTOGRAD, bug=ONEDNN_LSTM_DOUBLE_BACKWARD)
def test_second_derivatives_flow_through_a_float32_lstm_on_the_cpu(known_bug, observe):
    """Autograd differentiates twice (`create_graph=True`) through nn.LSTM in float32 on the
    CPU, the oneDNN path, and the second derivative equals the float64 module's, which takes
    the plain CPU kernels.

    Red where the oneDNN LSTM's backward is not differentiable (2.0: "derivative for
    mkldnn_rnn_layer_backward is not implemented"), or where its differentiable backward
    disagrees with the float64 one beyond float32 rounding. float64 gradgradcheck facts cannot
    see this: oneDNN runs float32 only.
    """
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 6, num_layers=2)
    x = torch.randn(5, 3, 4)

    def second_derivative(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        x = x.clone().requires_grad_(True)
        output, _ = module(x)
        (first,) = torch.autograd.grad(output.sum(), x, create_graph=True)
        (second,) = torch.autograd.grad((first**2).sum(), x)
        return second

    expected = second_derivative(copy.deepcopy(lstm).double(), x.double())
    with known_bug.expected(match="derivative for mkldnn_rnn_layer_backward"):
        try:
            got = second_derivative(lstm, x).double()
        except RuntimeError as error:
            raise AssertionError(f"the second derivative raised: {error}") from None
        observe("max |float32 - float64|", f"{(got - expected).abs().max().item():.2e}")
        # float32 against float64 over two layers, five steps and two derivatives
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
