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

For 0 < p < 1 the Dropout layer is nn.Dropout's (DOCS_DROPOUT): each element is
zeroed with probability p and the others are scaled by 1/(1-p). Layer 1 is then
set to read its input one element at a time, so that each element of the
output shows whether the element under it was dropped or kept.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnnspec.modules import LAYERS, ModuleInfo, grid_params, params, settings_of
from rnnspec.sources import DOCS_DROPOUT, DOCS_GRU, DOCS_LSTM, DOCS_RNN
from rnnspec.testing import (
    assert_results_close,
    cuda_copy,
    final_states,
    layer_as_module,
    raises_carrying,
    recorded_warnings,
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
# What the one-layer warning is about: dropout with num_layers 1 ("dropout option adds dropout
# after all but last recurrent layer, so non-zero dropout expects num_layers greater than 1").
ONE_LAYER_WARNING = (UserWarning, "dropout", "num_layers")
# What the out-of-range error names: the argument and the interval [0, 1].
INVALID_P = ("dropout", (0, 1))


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


# Inter-layer dropout at 0 < p < 1, element by element (test_inter_layer_dropout_...).
DROPOUT_P = [pytest.param(0.3, id="p-0.3"), pytest.param(0.6, id="p-0.6")]
SIGMAS = 5  # the bound on the dropped share: a correct module fails it with probability ~6e-7
DECISIVE = 1e-3  # an element counts where its dropped and kept outputs differ by more than this
MATCH = 1e-9  # float64: an output element equals its dropped (or kept) value within this
MIN_COUNTED = 4000  # fewer counted elements would make the binomial bound too loose
SHUT = -1e4  # a gate bias that makes sigmoid exactly 0 in float64


def read_elementwise(module: nn.RNNBase) -> None:
    """Set layer 1 of a 2-layer unidirectional module so that its output at (t, n, j) depends on
    its input at (t, n, j) alone, one to one: identity input weights for every gate, no
    recurrent weights, no biases, the forget gate (LSTM) or update gate (GRU) shut so that no
    state carries over from step to step, and an identity projection (proj_size).

    Layer 1 then computes tanh(x) (RNN, GRU), relu(x) (RNN-relu) or
    sigmoid(x) * tanh(sigmoid(x) * tanh(x)) (LSTM) of each element x it reads.
    """
    hidden = module.hidden_size
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if not name.endswith("_l1"):
                continue
            if name.startswith("weight_ih"):  # (gates * hidden, width): one eye per gate
                gates = parameter.shape[0] // hidden
                eye = torch.eye(hidden, parameter.shape[1], dtype=parameter.dtype)
                parameter.copy_(eye.repeat(gates, 1))
            elif name.startswith("weight_hr"):  # (proj_size, hidden)
                parameter.copy_(torch.eye(*parameter.shape, dtype=parameter.dtype))
            else:  # weight_hh, bias_ih, bias_hh
                parameter.zero_()
        if isinstance(module, (nn.LSTM, nn.GRU)):  # gate 1 is LSTM's f and GRU's z
            module.bias_ih_l1[hidden : 2 * hidden] = SHUT


@pytest.mark.fact(DOCS_DROPOUT)
@pytest.mark.parametrize("p", DROPOUT_P)
@pytest.mark.parametrize("info", MODULES)
def test_inter_layer_dropout_zeroes_a_share_p_and_scales_the_rest_by_one_over_one_minus_p(info, p):
    """In training mode with 0 < dropout=p < 1 and 2 layers, layer 1 reads layer 0's output with
    a share p of its elements zeroed (within 5 binomial standard deviations of the elements
    counted) and every other element multiplied by exactly 1/(1-p) (float64, within 1e-9).

    The module pages: dropout "introduces a Dropout layer on the outputs of each
    RNN layer except the last layer, with dropout probability equal to dropout";
    nn.Dropout's page: the zeroed elements are "sampled from a Bernoulli
    distribution" and "the outputs are scaled by a factor of 1/(1-p) during
    training". Layer 1 is set to read element by element (read_elementwise), so
    each output element equals layer 1's response either to 0 or to layer 0's
    element times 1/(1-p) (a hand-built stack gives both); elements where those
    two responses are closer than 1e-3 (relu of a negative value, values near 0)
    are not counted, a choice that does not depend on the mask. The bound holds
    for any seed (a correct module fails it with probability about 6e-7). Red if
    the kept elements were scaled by anything else (1, or 1/p), or dropped with
    another probability (p/2, 1-p).
    """
    projection = {"proj_size": 16} if "proj_size" in info.options else {}
    config = info.settings(
        input_size=8, hidden_size=32, num_layers=2, seq_len=40, batch=16, **projection
    )
    module = info.build(config, dropout=p, dtype=torch.float64).train()
    read_elementwise(module)
    x = info.input(config, torch.float64)
    with torch.no_grad():
        output, _ = module(x)  # (40, 16, H_out): layer 1's response to what reached it
        reached, _ = layer_as_module(module, 0)(x)  # layer 0's output before dropout
        layer1 = layer_as_module(module, 1)
        if_dropped, _ = layer1(torch.zeros_like(reached))
        if_kept, _ = layer1(reached / (1 - p))

    counted = (if_kept - if_dropped).abs() > DECISIVE
    dropped = counted & torch.isclose(output, if_dropped, rtol=0, atol=MATCH)
    kept = counted & ~dropped
    total = int(counted.sum())
    assert total >= MIN_COUNTED, f"only {total} elements can tell dropped from kept"
    share = int(dropped.sum()) / total
    bound = SIGMAS * math.sqrt(p * (1 - p) / total)
    assert abs(share - p) <= bound, (
        f"{share:.4f} of {total} elements of layer 0's output reached layer 1 as zeros; "
        f"dropout={p} allows {p} ± {bound:.4f} ({SIGMAS} binomial standard deviations)"
    )
    torch.testing.assert_close(
        output[kept],
        if_kept[kept],
        rtol=0,
        atol=MATCH,
        msg=lambda m: f"elements not dropped did not reach layer 1 scaled by 1/(1-p): {m}",
    )


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
    """A 1-layer module with dropout > 0 warns with a UserWarning about dropout and num_layers
    (e.g. "dropout option adds dropout after all but last recurrent layer, so non-zero dropout
    expects num_layers greater than 1"), and its training-mode output equals its eval-mode
    output: there is no layer to drop after.

    The warning text is the same in torch 2.0.1 through 2.15.0 (recorded as an
    observation); other warnings do not count. Red if the warning went away or
    dropout were applied to the last (here the only) layer's output.
    """
    with recorded_warnings() as warned:
        module = make(info, 1, dropout=0.9)
    about = warned.about(*ONE_LAYER_WARNING)
    assert about, f"no UserWarning about dropout and num_layers: {warned.caught}"
    observe("warning", str(about[0].message))
    x = sequence(info)
    assert_results_close(module.train()(x), module.eval()(x), "train vs eval")


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("info", MODULES)
def test_two_layers_with_dropout_do_not_warn(info):
    """With num_layers >= 2 a non-zero dropout constructs without a warning about dropout.

    Other warnings (a deprecation of something else) do not count: the report lists
    them. Red if the one-layer warning were raised for two layers.
    """
    with recorded_warnings() as warned:
        make(info, 2, dropout=0.5)
    about_dropout = [str(w.message) for w in warned.about(Warning, "dropout")]
    assert not about_dropout, about_dropout


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
    """dropout must be a number in [0, 1]: -0.1, 1.5, True and "0.5" raise ValueError naming dropout
    and the interval [0, 1] (e.g. "dropout should be a number in range [0, 1] representing the
    probability of an element being zeroed").

    Same type and information in torch 2.0.1 through 2.15.0 (the words are
    recorded). Red if an out-of-range probability were clipped or accepted silently.
    """
    with raises_carrying(ValueError, *INVALID_P, observe=observe):
        make(info, 2, dropout=p)


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
