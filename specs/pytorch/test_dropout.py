"""The `dropout` argument of nn.RNN, nn.LSTM and nn.GRU: between layers, in training mode only.

The module pages (DOCS_RNN, DOCS_LSTM, DOCS_GRU): "dropout - If non-zero,
introduces a Dropout layer on the outputs of each RNN layer except the last
layer, with dropout probability equal to dropout. Default: 0". So a 1-layer
module never drops anything, the last layer's output is never dropped, and
eval() switches dropout off like any Dropout layer.

The cleanest observable is p = 1: dropout then zeroes layer 0's output
entirely, so layer 1 reads zeros, and the whole module's output must equal a
1-layer module holding layer 1's weights run on a zero input. Layer 0 itself
is untouched: its final state equals a 1-layer module with layer 0's weights
run on x.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from rnnspec.modules import LAYERS, ModuleInfo, grid_params, params, settings_of
from rnnspec.sources import DOCS_GRU, DOCS_LSTM, DOCS_RNN
from rnnspec.testing import (
    assert_results_close,
    cuda_copy,
    final_states,
    layer_as_module,
    to_device,
)

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")

MODULES = params(LAYERS, cite=False)
DIRECTIONS = grid_params(bidirectional=(False, True))


def make(
    info: ModuleInfo, num_layers: int, bidirectional: bool = False, **extra: object
) -> nn.Module:
    """The entry's module with 4 input features, hidden size 6, for 5 steps of batch 3."""
    config = info.settings(
        input_size=4,
        hidden_size=6,
        seq_len=5,
        batch=3,
        num_layers=num_layers,
        bidirectional=bidirectional,
    )
    return info.build(config, **extra)


def sequence(info: ModuleInfo, **extra: object) -> torch.Tensor:
    """An input for `make`'s modules: (5, 3, 4)."""
    return info.input(info.settings(input_size=4, seq_len=5, batch=3), **extra)


# The stable part of the warning, identical from torch 2.0.1 to 2.15.0 (checked on
# 2.0.1, 2.1.2, 2.2.2, 2.3.1, 2.4.1, 2.5.1, 2.6.0, 2.10.0, 2.11.0, 2.15.0).
ONE_LAYER_WARNING = (
    r"dropout option adds dropout after all but last recurrent layer, "
    r"so non-zero dropout expects num_layers greater than 1"
)
INVALID_P = r"dropout should be a number in range \[0, 1\]"


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("info", MODULES)
def test_dropout_one_zeroes_the_input_of_layer_two_and_nothing_else(info, direction):
    """In training mode with dropout=1.0 and 2 layers, layer 1 reads zeros: the output equals a
    1-layer module with layer 1's weights run on zeros, and layer 0's final state equals a 1-layer
    module with layer 0's weights run on x.

    Red if dropout also hit the last layer's output (the output would be all
    zeros, not layer 1's response to a zero input), if it hit the network input
    (layer 0's state would change), or if it were skipped between the layers.
    """
    module = make(info, 2, **direction, dropout=1.0).train()
    directions = settings_of(module).directions  # how many of h_n's rows are layer 0's
    x = sequence(info)
    output, state = module(x)

    layer0, layer1 = layer_as_module(module, 0), layer_as_module(module, 1)
    expected_output, layer1_state = layer1(torch.zeros(*x.shape[:2], layer1.input_size))
    _, layer0_state = layer0(x)
    assert output.abs().max() > 0  # biases make layer 1's response to zeros non-zero
    torch.testing.assert_close(output, expected_output)
    for stacked, first, second in zip(
        final_states(state), final_states(layer0_state), final_states(layer1_state), strict=True
    ):
        torch.testing.assert_close(stacked[:directions], first)  # layer 0: untouched
        torch.testing.assert_close(stacked[directions:], second)  # layer 1: read zeros


@pytest.mark.fact(DOCS_GRU)
@pytest.mark.parametrize("info", MODULES)
def test_training_mode_dropout_is_random_between_calls_but_spares_the_first_layer(info):
    """In training mode with dropout=0.5 and 2 layers, two calls on the same input give different
    outputs (fresh masks), while layer 0's final state is the same in both and equals eval mode's.

    Red if dropout were inactive in training mode (equal outputs), or applied
    to layer 0's input or recurrence (layer 0's state would vary).
    """
    module = make(info, 2, dropout=0.5).train()
    x = sequence(info)
    first_output, first_state = module(x)
    second_output, second_state = module(x)
    _, eval_state = module.eval()(x)
    assert not torch.allclose(first_output, second_output)
    for a, b, evaluated in zip(
        final_states(first_state), final_states(second_state), final_states(eval_state), strict=True
    ):
        torch.testing.assert_close(a[0], b[0])  # layer 0
        torch.testing.assert_close(a[0], evaluated[0])


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("info", MODULES)
def test_eval_mode_output_equals_the_same_weights_without_dropout(info, direction):
    """In eval mode a module with dropout=0.5 returns exactly what the same weights with dropout=0
    return, on every call.

    Exact (rtol=0, atol=0) on CPU: in eval mode both modules call the same
    kernel with the same tensors, the dropout probability being ignored. Red if
    eval() left dropout on, or scaled activations by 1/(1-p) or (1-p).
    """
    with_dropout = make(info, 3, **direction, dropout=0.5).eval()
    without = make(info, 3, **direction).eval()
    without.load_state_dict(with_dropout.state_dict())
    x = sequence(info)
    expected = without(x)
    for _ in range(2):
        assert_results_close(with_dropout(x), expected, "eval with dropout", rtol=0, atol=0)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("info", MODULES)
def test_dropout_zero_in_training_mode_is_no_dropout(info):
    """With dropout=0 (the default) training mode computes the same as eval mode: nothing is dropped
    or rescaled.

    Default tolerances: training mode may select another CPU kernel (one that
    keeps what backward needs) than eval mode. Red if p = 0 still rescaled or
    masked anything.
    """
    module = make(info, 2, dropout=0.0)
    x = sequence(info)
    assert_results_close(module.train()(x), module.eval()(x), "train vs eval")


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("info", MODULES)
def test_one_layer_with_dropout_warns_and_drops_nothing(info, observe):
    """A 1-layer module with dropout > 0 warns with a UserWarning ("dropout option adds dropout
    after all but last recurrent layer, so non-zero dropout expects num_layers greater than 1"),
    and its training-mode output equals its eval-mode output: there is no layer to drop after.

    The warning text is the same in torch 2.0.1 through 2.15.0 (recorded as an
    observation). Red if the warning went away or dropout
    were applied to the last (here the only) layer's output.
    """
    with pytest.warns(UserWarning, match=ONE_LAYER_WARNING) as caught:
        module = make(info, 1, dropout=0.9)
    observe("warning", next(str(w.message) for w in caught if "dropout option" in str(w.message)))
    x = sequence(info)
    assert_results_close(module.train()(x), module.eval()(x), "train vs eval")


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("info", MODULES)
def test_two_layers_with_dropout_do_not_warn(info):
    """With num_layers >= 2 a non-zero dropout constructs without any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(info, 2, dropout=0.5)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize(
    "p",
    [
        pytest.param(-0.1, id="negative"),
        pytest.param(1.5, id="above-one"),
        pytest.param(True, id="bool"),
        pytest.param("0.5", id="string"),
    ],
)
@pytest.mark.parametrize("info", MODULES)
def test_dropout_outside_zero_to_one_raises_value_error(info, p, observe):
    """dropout must be a number in [0, 1]: -0.1, 1.5, True and "0.5" raise ValueError ("dropout
    should be a number in range [0, 1] representing the probability of an element being zeroed").

    Same message in torch 2.0.1 through 2.15.0 (recorded). Red if an
    out-of-range probability were clipped or accepted silently.
    """
    with pytest.raises(ValueError, match=INVALID_P) as excinfo:
        make(info, 2, dropout=p)
    observe("message", str(excinfo.value))


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("p", [pytest.param(0, id="int-0"), pytest.param(1, id="int-1")])
@pytest.mark.parametrize("info", MODULES)
def test_the_interval_ends_are_accepted_and_stored_as_float(info, p):
    """dropout=0 and dropout=1 (the closed interval's ends, even as ints) are accepted and stored
    as floats 0.0 and 1.0."""
    module = make(info, 2, dropout=p)
    assert module.dropout == float(p)
    assert isinstance(module.dropout, float)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.gpu
@pytest.mark.parametrize("info", MODULES)
def test_cuda_eval_mode_with_dropout_matches_cpu(info):
    """On CUDA (cuDNN) a 2-layer bidirectional module with dropout=0.5 in eval mode returns what
    the CPU module with the same weights returns: eval() switches cuDNN's dropout off too.

    float64 on both devices with default tolerances (different kernels, so not
    bit-identical). Red if cuDNN kept its dropout descriptor active in eval.
    """
    cpu = make(info, 2, bidirectional=True, dropout=0.5, dtype=torch.float64).eval()
    cuda = cuda_copy(cpu)
    x = sequence(info, dtype=torch.float64)
    output, state = cuda(x.cuda())
    assert_results_close((output.cpu(), to_device(state, "cpu")), cpu(x), "cuda vs cpu")


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.gpu
@pytest.mark.parametrize("info", MODULES)
def test_cuda_dropout_one_zeroes_the_input_of_layer_two(info):
    """On CUDA (cuDNN) too, dropout=1.0 in training mode feeds zeros to layer 1: the output equals
    a 1-layer module with layer 1's weights run on zeros (float64, default tolerances)."""
    module = make(info, 2, dropout=1.0, dtype=torch.float64, device="cuda").train()
    x = sequence(info, dtype=torch.float64, device="cuda")
    output, _ = module(x)
    layer1 = layer_as_module(module, 1)
    zeros = torch.zeros(*x.shape[:2], layer1.input_size, dtype=torch.float64, device="cuda")
    expected, _ = layer1(zeros)
    torch.testing.assert_close(output, expected)
