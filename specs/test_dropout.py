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

from models.reference import cuda_copy, final_states, layer_as_module
from rnnspec.sources import DOCS_GRU, DOCS_LSTM, DOCS_RNN

MODULES = [
    pytest.param(nn.RNN, id="RNN"),
    pytest.param(nn.LSTM, id="LSTM"),
    pytest.param(nn.GRU, id="GRU"),
]
DIRECTIONS = [pytest.param(False, id="unidirectional"), pytest.param(True, id="bidirectional")]
SEQ, BATCH, FEATURES, HIDDEN = 5, 3, 4, 6
# The stable part of the warning, identical from torch 2.5.1 to 2.15.0 (checked on
# 2.5.1, 2.6.0, 2.10.0, 2.11.0, 2.15.0).
ONE_LAYER_WARNING = (
    r"dropout option adds dropout after all but last recurrent layer, "
    r"so non-zero dropout expects num_layers greater than 1"
)
INVALID_P = r"dropout should be a number in range \[0, 1\]"


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("module_type", MODULES)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
def test_dropout_one_zeroes_the_input_of_layer_two_and_nothing_else(module_type, bidirectional):
    """In training mode with dropout=1.0 and 2 layers, layer 1 reads zeros: the output equals a
    1-layer module with layer 1's weights run on zeros, and layer 0's final state equals a 1-layer
    module with layer 0's weights run on x.

    Red if dropout also hit the last layer's output (the output would be all
    zeros, not layer 1's response to a zero input), if it hit the network input
    (layer 0's state would change), or if it were skipped between the layers.
    """
    module = module_type(FEATURES, HIDDEN, num_layers=2, dropout=1.0, bidirectional=bidirectional)
    module.train()
    directions = 2 if bidirectional else 1
    x = torch.randn(SEQ, BATCH, FEATURES)
    output, state = module(x)

    layer0, layer1 = layer_as_module(module, 0), layer_as_module(module, 1)
    expected_output, layer1_state = layer1(torch.zeros(SEQ, BATCH, directions * HIDDEN))
    _, layer0_state = layer0(x)
    assert output.abs().max() > 0  # biases make layer 1's response to zeros non-zero
    torch.testing.assert_close(output, expected_output)
    for stacked, first, second in zip(
        final_states(module, state),
        final_states(layer0, layer0_state),
        final_states(layer1, layer1_state),
        strict=True,
    ):
        torch.testing.assert_close(stacked[:directions], first)  # layer 0: untouched
        torch.testing.assert_close(stacked[directions:], second)  # layer 1: read zeros


@pytest.mark.fact(DOCS_GRU)
@pytest.mark.parametrize("module_type", MODULES)
def test_training_mode_dropout_is_random_between_calls_but_spares_the_first_layer(module_type):
    """In training mode with dropout=0.5 and 2 layers, two calls on the same input give different
    outputs (fresh masks), while layer 0's final state is the same in both and equals eval mode's.

    Red if dropout were inactive in training mode (equal outputs), or applied
    to layer 0's input or recurrence (layer 0's state would vary).
    """
    module = module_type(FEATURES, HIDDEN, num_layers=2, dropout=0.5).train()
    x = torch.randn(SEQ, BATCH, FEATURES)
    first_output, first_state = module(x)
    second_output, second_state = module(x)
    _, eval_state = module.eval()(x)
    assert not torch.allclose(first_output, second_output)
    for a, b, evaluated in zip(
        final_states(module, first_state),
        final_states(module, second_state),
        final_states(module, eval_state),
        strict=True,
    ):
        torch.testing.assert_close(a[0], b[0])  # layer 0
        torch.testing.assert_close(a[0], evaluated[0])


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
def test_eval_mode_output_equals_the_same_weights_without_dropout(module_type, bidirectional):
    """In eval mode a module with dropout=0.5 returns exactly what the same weights with dropout=0
    return, on every call.

    Exact (rtol=0, atol=0) on CPU: in eval mode both modules call the same
    kernel with the same tensors, the dropout probability being ignored. Red if
    eval() left dropout on, or scaled activations by 1/(1-p) or (1-p).
    """
    with_dropout = module_type(
        FEATURES, HIDDEN, num_layers=3, dropout=0.5, bidirectional=bidirectional
    )
    without = module_type(FEATURES, HIDDEN, num_layers=3, bidirectional=bidirectional)
    without.load_state_dict(with_dropout.state_dict())
    with_dropout.eval()
    without.eval()
    x = torch.randn(SEQ, BATCH, FEATURES)
    expected = without(x)
    for _ in range(2):
        torch.testing.assert_close(with_dropout(x), expected, rtol=0, atol=0)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
def test_dropout_zero_in_training_mode_is_no_dropout(module_type):
    """With dropout=0 (the default) training mode computes the same as eval mode: nothing is dropped
    or rescaled.

    Default tolerances: training mode may select another CPU kernel (one that
    keeps what backward needs) than eval mode. Red if p = 0 still rescaled or
    masked anything.
    """
    module = module_type(FEATURES, HIDDEN, num_layers=2, dropout=0.0)
    x = torch.randn(SEQ, BATCH, FEATURES)
    trained = module.train()(x)
    evaluated = module.eval()(x)
    torch.testing.assert_close(trained, evaluated)


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("module_type", MODULES)
def test_one_layer_with_dropout_warns_and_drops_nothing(module_type):
    """A 1-layer module with dropout > 0 warns with a UserWarning ("dropout option adds dropout
    after all but last recurrent layer, so non-zero dropout expects num_layers greater than 1"),
    and its training-mode output equals its eval-mode output: there is no layer to drop after.

    The warning text is the same in torch 2.5.1, 2.6.0, 2.10.0, 2.11.0 and
    2.15.0. Red if the warning went away or dropout were applied to the last
    (here the only) layer's output.
    """
    with pytest.warns(UserWarning, match=ONE_LAYER_WARNING):
        module = module_type(FEATURES, HIDDEN, num_layers=1, dropout=0.9)
    x = torch.randn(SEQ, BATCH, FEATURES)
    torch.testing.assert_close(module.train()(x), module.eval()(x))


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("module_type", MODULES)
def test_two_layers_with_dropout_do_not_warn(module_type):
    """With num_layers >= 2 a non-zero dropout constructs without any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module_type(FEATURES, HIDDEN, num_layers=2, dropout=0.5)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
@pytest.mark.parametrize(
    "p",
    [
        pytest.param(-0.1, id="negative"),
        pytest.param(1.5, id="above-one"),
        pytest.param(True, id="bool"),
        pytest.param("0.5", id="string"),
    ],
)
def test_dropout_outside_zero_to_one_raises_value_error(module_type, p):
    """dropout must be a number in [0, 1]: -0.1, 1.5, True and "0.5" raise ValueError ("dropout
    should be a number in range [0, 1] representing the probability of an element being zeroed").

    Same message in torch 2.5.1 through 2.15.0. Red if an out-of-range
    probability were clipped or accepted silently.
    """
    with pytest.raises(ValueError, match=INVALID_P):
        module_type(FEATURES, HIDDEN, num_layers=2, dropout=p)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
@pytest.mark.parametrize("p", [pytest.param(0, id="int-0"), pytest.param(1, id="int-1")])
def test_the_interval_ends_are_accepted_and_stored_as_float(module_type, p):
    """dropout=0 and dropout=1 (the closed interval's ends, even as ints) are accepted and stored
    as floats 0.0 and 1.0."""
    module = module_type(FEATURES, HIDDEN, num_layers=2, dropout=p)
    assert module.dropout == float(p)
    assert isinstance(module.dropout, float)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.gpu
@pytest.mark.parametrize("module_type", MODULES)
def test_cuda_eval_mode_with_dropout_matches_cpu(module_type):
    """On CUDA (cuDNN) a 2-layer bidirectional module with dropout=0.5 in eval mode returns what
    the CPU module with the same weights returns: eval() switches cuDNN's dropout off too.

    float64 on both devices with default tolerances (different kernels, so not
    bit-identical). Red if cuDNN kept its dropout descriptor active in eval.
    """
    cpu = module_type(
        FEATURES, HIDDEN, num_layers=2, dropout=0.5, bidirectional=True, dtype=torch.float64
    ).eval()
    cuda = cuda_copy(cpu)
    x = torch.randn(SEQ, BATCH, FEATURES, dtype=torch.float64)
    output, state = cpu(x)
    output_cuda, state_cuda = cuda(x.cuda())
    torch.testing.assert_close(output_cuda.cpu(), output)
    for on_cuda, on_cpu in zip(
        final_states(cuda, state_cuda), final_states(cpu, state), strict=True
    ):
        torch.testing.assert_close(on_cuda.cpu(), on_cpu)


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.gpu
@pytest.mark.parametrize("module_type", MODULES)
def test_cuda_dropout_one_zeroes_the_input_of_layer_two(module_type):
    """On CUDA (cuDNN) too, dropout=1.0 in training mode feeds zeros to layer 1: the output equals
    a 1-layer module with layer 1's weights run on zeros (float64, default tolerances)."""
    module = module_type(
        FEATURES, HIDDEN, num_layers=2, dropout=1.0, dtype=torch.float64, device="cuda"
    ).train()
    x = torch.randn(SEQ, BATCH, FEATURES, dtype=torch.float64, device="cuda")
    output, _ = module(x)
    layer1 = layer_as_module(module, 1)
    expected, _ = layer1(torch.zeros(SEQ, BATCH, HIDDEN, dtype=torch.float64, device="cuda"))
    torch.testing.assert_close(output, expected)
