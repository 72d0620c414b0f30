"""Seed 003: what nn.RNN and nn.LSTM take and return, for one or three layers, one or two directions.

The seed feeds stock-price-like data (100 days, batch 30, 4 or 6 features) to
layers of hidden size 200 and prints every output, hidden and cell shape. It
also explains why a tanh RNN forgets the start of long sequences and why the
LSTM was built to fix that.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from models.reference import final_states, layer_as_module
from rnnspec.sources import DOCS_LSTM, SEED_003

SEQ, BATCH, HIDDEN = 100, 30, 200


@pytest.mark.fact(
    SEED_003,
    erratum="The seed labels its bidirectional=True run 'bidirectional=True(기본)', calling it "
    "the default; the default is bidirectional=False.",
)
@pytest.mark.parametrize("module", [nn.RNN, nn.LSTM], ids=["RNN", "LSTM"])
def test_defaults_are_one_layer_tanh_sequence_first_unidirectional(module):
    """By default nn.RNN and nn.LSTM have one layer, batch_first=False, bidirectional=False,
    dropout 0 and biases; nn.RNN's nonlinearity is 'tanh'."""
    layer = module(input_size=4, hidden_size=HIDDEN)
    assert (layer.num_layers, layer.batch_first, layer.bidirectional) == (1, False, False)
    assert (layer.dropout, layer.bias) == (0.0, True)
    if module is nn.RNN:
        assert layer.nonlinearity == "tanh"


@pytest.mark.fact(SEED_003)
def test_default_rnn_applies_tanh(device):
    """The default nn.RNN computes h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh): its outputs
    equal those of an explicit nonlinearity='tanh' layer with the same weights, and lie in (-1, 1)."""
    default = nn.RNN(4, 20).to(device)
    explicit = nn.RNN(4, 20, nonlinearity="tanh").to(device)
    explicit.load_state_dict(default.state_dict())
    x = 3 * torch.randn(10, 3, 4, device=device)
    torch.testing.assert_close(default(x)[0], explicit(x)[0])
    assert default(x)[0].abs().max() < 1


@pytest.mark.fact(SEED_003)
@pytest.mark.parametrize("module", [nn.RNN, nn.LSTM], ids=["RNN", "LSTM"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["unidirectional", "bidirectional"])
def test_missing_initial_state_means_zeros(module, bidirectional, device):
    """The document: "시작(초기) hidden state로 입력하지 않으면 0이 들어간다": with no initial state the result
    equals that of an explicit zero state (and zero cell state for the LSTM)."""
    layer = module(4, 16, num_layers=2, bidirectional=bidirectional).to(device)
    x = torch.randn(7, 3, 4, device=device)
    zeros = torch.zeros(2 * (2 if bidirectional else 1), 3, 16, device=device)
    given = layer(x, (zeros, zeros) if module is nn.LSTM else zeros)
    omitted = layer(x)
    torch.testing.assert_close(omitted, given)


SHAPE_CASES = [
    pytest.param(nn.RNN, 4, 1, False, (100, 30, 200), (1, 30, 200), id="RNN-1-layer"),
    pytest.param(nn.RNN, 4, 1, True, (100, 30, 400), (2, 30, 200), id="RNN-bidirectional"),
    pytest.param(nn.RNN, 4, 3, False, (100, 30, 200), (3, 30, 200), id="RNN-3-layers"),
    pytest.param(nn.RNN, 4, 3, True, (100, 30, 400), (6, 30, 200), id="RNN-bidirectional-3-layers"),
    pytest.param(nn.LSTM, 6, 1, False, (100, 30, 200), (1, 30, 200), id="LSTM-1-layer"),
    pytest.param(nn.LSTM, 6, 1, True, (100, 30, 400), (2, 30, 200), id="LSTM-bidirectional"),
]


@pytest.mark.fact(SEED_003)
@pytest.mark.parametrize(
    ("module", "features", "layers", "bidirectional", "out_shape", "state_shape"), SHAPE_CASES
)
def test_output_and_state_shapes_for_100_steps_of_batch_30(
    module, features, layers, bidirectional, out_shape, state_shape
):
    """For input (100, 30, features) and hidden size 200, the output is (100, 30, D*200) and each
    final state (D*num_layers, 30, 200), D = 2 if bidirectional else 1."""
    layer = module(features, HIDDEN, num_layers=layers, bidirectional=bidirectional)
    output, state = layer(torch.randn(SEQ, BATCH, features))
    assert tuple(output.shape) == out_shape
    for tensor in state if module is nn.LSTM else (state,):  # (h_n, c_n) or h_n
        assert tuple(tensor.shape) == state_shape


@pytest.mark.fact(SEED_003)
def test_batch_first_puts_the_batch_before_the_sequence():
    """With batch_first=True the input and output are (batch, sequence, features): (30, 100, 4)
    gives (30, 100, 200), while the hidden state stays (1, 30, 200)."""
    layer = nn.RNN(4, HIDDEN, batch_first=True)
    output, h_n = layer(torch.randn(BATCH, SEQ, 4))
    assert tuple(output.shape) == (30, 100, 200)
    assert tuple(h_n.shape) == (1, 30, 200)


@pytest.mark.fact(SEED_003)
def test_hidden_0_is_the_first_layers_forward_and_hidden_1_its_backward_direction(device):
    """In a 3-layer bidirectional RNN, hidden[0] is the first layer's forward direction and
    hidden[1] the first layer's backward direction.

    Checked against a 1-layer bidirectional RNN holding the first layer's
    weights: its two final states must be hidden[0] and hidden[1], in that order.
    """
    deep = nn.RNN(4, 20, num_layers=3, bidirectional=True).to(device)
    first = layer_as_module(deep, 0)
    x = torch.randn(9, 3, 4, device=device)
    _, hidden = deep(x)
    _, first_hidden = first(x)
    torch.testing.assert_close(hidden[0], first_hidden[0])  # layer 1, forward
    torch.testing.assert_close(hidden[1], first_hidden[1])  # layer 1, backward


@pytest.mark.fact(SEED_003)
@pytest.mark.parametrize("module", [nn.RNN, nn.LSTM], ids=["RNN", "LSTM"])
@pytest.mark.parametrize("layers", [1, 3], ids=["1-layer", "3-layers"])
def test_last_output_step_is_the_last_hidden_state(module, layers, device):
    """The document: "hidden_state: 마지막 time step의 출력결과": the output at the last step equals the top
    layer's final hidden state, the many-to-one result."""
    layer = module(4, 20, num_layers=layers).to(device)
    output, state = layer(torch.randn(11, 3, 4, device=device))
    h_n = final_states(layer, state)[0]
    torch.testing.assert_close(output[-1], h_n[-1])


@pytest.mark.fact(
    SEED_003,
    erratum="The seed calls the LSTM's cell state 'the result over all steps' (전체 모든 step에 "
    "대한 처리 결과); c_n holds only the last step's cell state, per layer and direction.",
)
def test_cell_state_is_the_last_steps_not_all_steps(device):
    """c_n is the cell state after the last step only, shaped (D*num_layers, batch, hidden) with
    no step axis: running the steps in two chunks, carrying (h, c), gives the same c_n, and it
    differs from the cell state one step earlier."""
    lstm = nn.LSTM(6, 20).to(device)
    x = torch.randn(12, 3, 6, device=device)
    _, (_, c_n) = lstm(x)
    _, (h_11, c_11) = lstm(x[:11])
    _, (_, c_chunked) = lstm(x[11:], (h_11, c_11))
    assert tuple(c_n.shape) == (1, 3, 20)
    torch.testing.assert_close(c_chunked, c_n)
    assert not torch.allclose(c_11, c_n)


@pytest.mark.fact(
    SEED_003,
    erratum="The seed lists the LSTM's input_size as 'the shape of the input data'; it is the "
    "number of features, the input's last dimension only.",
)
def test_input_size_is_the_number_of_features():
    """input_size is the number of features per step (the input's last dimension): an LSTM with
    input_size=6 takes (100, 30, 6) and rejects (100, 30, 4)."""
    lstm = nn.LSTM(input_size=6, hidden_size=8)
    assert tuple(lstm(torch.randn(100, 30, 6))[0].shape) == (100, 30, 8)
    with pytest.raises(RuntimeError, match=r"input.size\(-1\) must be equal to input_size"):
        lstm(torch.randn(100, 30, 4))


@pytest.mark.fact(SEED_003)
def test_tanh_gradient_lies_between_0_and_1():
    """The document: "tanh()의 gradient는 0 ~ 1 사이의 실수": the derivative 1 - tanh(x)^2 lies in (0, 1], is 1
    at 0, and shrinks towards 0 away from it."""
    x = torch.linspace(-6, 6, 1201, dtype=torch.float64, requires_grad=True)
    torch.tanh(x).sum().backward()
    assert bool(((x.grad > 0) & (x.grad <= 1)).all())
    assert x.grad[600].item() == 1.0
    assert x.grad[0].item() < 1e-4
    torch.testing.assert_close(x.grad, 1 - torch.tanh(x.detach()) ** 2)


def gradient_kept_over(module: type[nn.Module], seed: int, steps_back: int) -> float:
    """||d(sum of the last output)/d x_first|| / ||... / d x_last|| over SEQ steps, in float64."""
    torch.manual_seed(seed)
    layer = module(4, HIDDEN).double()
    x = torch.randn(SEQ, BATCH, 4, dtype=torch.float64, requires_grad=True)
    layer(x)[0][-1].sum().backward()
    norms = x.grad.norm(dim=(1, 2))  # (SEQ,)
    return (norms[-1 - steps_back] / norms[-1]).item()


@pytest.mark.fact(SEED_003)
def test_tanh_rnn_gradient_vanishes_over_100_steps_and_an_lstm_keeps_far_more():
    """Over 100 steps the gradient that reaches the first input of a tanh RNN (hidden 200) is
    below 1e-15 of the last input's, and an LSTM of the same size keeps at least 100 times more.

    The seed's "Gradient Vanishing" made quantitative: measured with torch 2.15
    in float64 (float32 underflows to exactly 0 for the RNN), the RNN keeps
    about 1e-24 and the LSTM about 1e-20 to 1e-19 of the gradient, over seeds
    0-3. The geometric mean over two seeds is compared, so no single
    initialisation decides. Red if backpropagation through nn.RNN stopped
    vanishing (the 1e-15 bar) or the LSTM lost its advantage (the 100x bar).
    """
    seeds = (0, 1)
    rnn = math.exp(sum(math.log(gradient_kept_over(nn.RNN, s, SEQ - 1)) for s in seeds) / 2)
    lstm = math.exp(sum(math.log(gradient_kept_over(nn.LSTM, s, SEQ - 1)) for s in seeds) / 2)
    assert rnn < 1e-15, f"tanh RNN kept {rnn:.3g} of the gradient over 99 steps"
    assert lstm > 100 * rnn, f"LSTM kept {lstm:.3g}, tanh RNN {rnn:.3g}"


@pytest.mark.fact(DOCS_LSTM)
def test_lstm_takes_and_returns_the_state_as_a_pair():
    """nn.LSTM takes its initial state as a pair (h_0, c_0) and returns (output, (h_n, c_n));
    a bare tensor as the state is rejected.

    Observed with torch 2.15: the rejection is an IndexError from unpacking the
    tensor as a pair (no dedicated message), so any of the usual error types counts.
    """
    lstm = nn.LSTM(6, 8)
    x = torch.randn(5, 2, 6)
    _, state = lstm(x)
    assert isinstance(state, tuple)
    assert len(state) == 2
    with pytest.raises((RuntimeError, TypeError, ValueError, IndexError)):
        lstm(x, torch.zeros(1, 2, 8))


@pytest.mark.fact(SEED_003)
@pytest.mark.parametrize("module", [nn.RNN, nn.LSTM], ids=["RNN", "LSTM"])
def test_hidden_of_a_stack_holds_every_layers_last_step(module, device):
    """The document: "hidden의 경우는 모든 layer의 최종 timestep의 결과를 묶어서 반환": the final state of a
    3-layer stack is, in order, the last step of layer 1, layer 2 and layer 3, each layer
    reading the full output sequence of the one below."""
    stack = module(4, 20, num_layers=3).to(device)
    x = torch.randn(9, 3, 4, device=device)
    _, state = stack(x)
    h_n = final_states(stack, state)[0]
    layer_input = x
    for k in range(3):
        single = layer_as_module(stack, k)
        layer_input, single_state = single(layer_input)
        torch.testing.assert_close(h_n[k], final_states(single, single_state)[0][0])
