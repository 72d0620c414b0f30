"""Seed 002: the LSTM classifier over MNIST rows, and what nn.LSTM returns.

The seed builds `RecurrentNeuralNetworkClass(xdim=28, hdim=256, ydim=10,
n_layer=2)`, an `nn.LSTM(28, 256, 2, batch_first=True)` with a linear readout
(left as "FILL IN HERE"; here: the last time step), prints the shapes of
`Y, (hn, cn) = LSTM(X)` and counts the parameters. rnnspec's
`LSTMClassifier(input_size, hidden_size, num_layers, num_classes)` is the same
model under seed 004's names.

Sentences of the seed that state a general fact are checked once, by the
general test `GENERAL_FACTS` names (listed with them in docs/facts.md).
"""

from __future__ import annotations

import pytest
import torch

from models.lstm_classifier import LSTMClassifier
from rnnspec.sources import SEED_002

GENERAL_FACTS = {
    "11 : LSTM의 self state dimension과 output dimension이 같아야한다.": "specs/pytorch/test_shapes_and_layout.py::test_output_and_state_shapes_are_as_documented",
    "# Set initial hidden and cell states": "specs/pytorch/test_initial_state.py::test_omitted_initial_state_is_zeros",
    "16-21 : layer의 수만큼, 데이터의 길이만큼 크기 설정": "specs/pytorch/test_shapes_and_layout.py::test_output_and_state_shapes_are_as_documented",
}

# What the seed's "Check parameters" loop prints: name and shape of each tensor.
SEED_002_PARAMETERS = [
    ("lstm.weight_ih_l0", (1024, 28)),
    ("lstm.weight_hh_l0", (1024, 256)),
    ("lstm.bias_ih_l0", (1024,)),
    ("lstm.bias_hh_l0", (1024,)),
    ("lstm.weight_ih_l1", (1024, 256)),
    ("lstm.weight_hh_l1", (1024, 256)),
    ("lstm.bias_ih_l1", (1024,)),
    ("lstm.bias_hh_l1", (1024,)),
    ("fc.weight", (10, 256)),
    ("fc.bias", (10,)),
]


@pytest.fixture
def model(device: torch.device) -> LSTMClassifier:
    # xdim=28, hdim=256, ydim=10, n_layer=2
    return LSTMClassifier(input_size=28, hidden_size=256, num_layers=2, num_classes=10).to(device)


@pytest.mark.fact(
    SEED_002,
    quote="rnn_out: torch.Size([2, 20, 256])\nHidden State hn: torch.Size([2, 2, 256])\nCell States cn: torch.Size([2, 2, 256])",
)
def test_lstm_on_x_2_20_28_gives_output_2_20_256_and_states_2_2_256(model, device):
    """The 2-layer LSTM (hidden 256) on X [2, 20, 28] returns Y [2, 20, 256], hn [2, 2, 256]
    and cn [2, 2, 256]: [N x L x D] and [K x N x D]."""
    x = torch.rand(2, 20, 28, device=device)  # [N x L x Q]
    rnn_out, (h_n, c_n) = model.lstm(x)
    assert tuple(rnn_out.shape) == (2, 20, 256)
    assert tuple(h_n.shape) == (2, 2, 256)
    assert tuple(c_n.shape) == (2, 2, 256)


@pytest.mark.fact(
    SEED_002, quote="print (\"Total number of parameters:[%s].\"%(format(n_param,',d')))"
)
def test_parameters_have_the_printed_names_and_shapes_and_total_821_770(model):
    """The classifier's parameters are nn.LSTM's weight_ih/weight_hh/bias_ih/bias_hh for layers 0
    and 1, then the readout, with 4 x 256 = 1024 gate rows each; they total 821,770.

    "Total number of parameters:[821,770]" is what the seed's loop prints for
    xdim 28, hdim 256, ydim 10, 2 layers: 4*256*(28+256+2) + 4*256*(256+256+2)
    + 256*10 + 10. Red if nn.LSTM's gate layout or bias count changed.
    """
    named = [(name, tuple(p.shape)) for name, p in model.named_parameters()]
    assert named == SEED_002_PARAMETERS
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 821_770


@pytest.mark.fact(
    SEED_002,
    quote="y_torch = R.forward(x_torch) # [N x 1 x R] where R is the output dim.",
    erratum="The seed's comment `y_torch = R.forward(x_torch) # [N x 1 x R]` is wrong: "
    "the classifier returns [N, R] ([3, 10] here), the `.view([-1, ydim])` drops any step axis.",
)
def test_classifier_on_x_3_10_28_returns_3_10(model, device):
    """On X [3, 10, 28], ten steps instead of 28, the classifier returns scores [3, 10]: [N, R]."""
    assert tuple(model(torch.rand(3, 10, 28, device=device)).shape) == (3, 10)


@pytest.mark.fact(SEED_002, quote="엄밀히 말하면, 28개의 sequence가 fixed 될 필요는 없음.")
@pytest.mark.parametrize("length", [1, 7, 28, 60])
def test_any_sequence_length_works(length, device):
    """The document: "엄밀히 말하면, 28개의 sequence가 fixed 될 필요는 없음": the classifier accepts a sequence
    of any length L >= 1 and returns [N, 10]."""
    model = LSTMClassifier(28, 32, 2, 10).to(device)
    assert tuple(model(torch.rand(4, length, 28, device=device)).shape) == (4, 10)


@pytest.mark.fact(SEED_002, quote="# FILL IN HERE")
def test_readout_is_the_top_layers_last_step(device):
    """The seed leaves the readout's input to fill in; rnnspec's classifier scores the top layer's
    output at the last step: model(x) equals fc(rnn_out[:, -1, :]).

    That this step is the top layer's final hidden state h_n[-1] is the general
    fact specs/pytorch/test_shapes_and_layout.py::test_last_output_step_is_the_top_layers_final_state.
    """
    model = LSTMClassifier(28, 32, 2, 10).to(device)
    x = torch.rand(5, 12, 28, device=device)
    out, _ = model.lstm(x)
    torch.testing.assert_close(model(x), model.fc(out[:, -1, :]))


@pytest.mark.fact(
    SEED_002,
    quote="cn: [K x N x D] - K (per each layer) of N final hidden state with D cell dim.",
    erratum="The seed describes cn as the 'final hidden state with D cell dim'; cn is the "
    "final cell state, a different tensor from hn (hn = o * tanh(cn)).",
)
def test_cn_is_the_cell_state_not_the_hidden_state(model, device):
    """cn is the final cell state, distinct from the final hidden state hn, and related to it by
    |hn| <= |tanh(cn)| elementwise (hn = o * tanh(cn) with an output gate o in (0, 1))."""
    x = torch.rand(2, 20, 28, device=device)
    _, (h_n, c_n) = model.lstm(x)
    assert not torch.allclose(h_n, c_n)
    assert bool((h_n.abs() <= torch.tanh(c_n).abs() + 1e-6).all())


@pytest.mark.fact(SEED_002, quote="파라미터를 줄이려면 Hidden Dimension을 줄여야 한다.")
@pytest.mark.parametrize("hdim", [64, 128, 256, 512])
def test_parameter_count_grows_with_the_square_of_the_hidden_dimension(hdim):
    """The document: "파라미터를 줄이려면 Hidden Dimension을 줄여야 한다": each LSTM layer has 4 gates of
    hdim x (inputs + hdim) weights and two hdim biases, so the count is
    4*hdim*(28 + hdim + 2) + 4*hdim*(2*hdim + 2) + 10*hdim + 10 for two layers."""
    model = LSTMClassifier(input_size=28, hidden_size=hdim, num_layers=2, num_classes=10)
    expected = 4 * hdim * (28 + hdim + 2) + 4 * hdim * (2 * hdim + 2) + 10 * hdim + 10
    assert sum(p.numel() for p in model.parameters()) == expected
