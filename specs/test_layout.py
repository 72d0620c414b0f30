"""Where nn.RNN, nn.LSTM and nn.GRU put things: output halves, final states, batch_first, weights.

The module pages (DOCS_RNN, DOCS_LSTM, DOCS_GRU) document the layouts:
output (L, N, D * H_out), final states (D * num_layers, N, H_out) "for
bidirectional RNNs, forward and backward are directions 0 and 1", batch_first
"does not apply to hidden or cell states", and the parameter attributes
`weight_ih_l[k]`, `weight_hh_l[k]`, `bias_ih_l[k]`, `bias_hh_l[k]`,
`weight_hr_l[k]` with their shapes. The LSTM page adds that for a bidirectional
LSTM "h_n is not equivalent to the last element of output".

Sizes are small on purpose; each fact runs on CPU and, where one exists, on
CUDA (where cuDNN computes the layers), so a layout that differs between the
two backends turns one of the device cases red.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from models.reference import cuda_copy, final_states, layer_as_module
from rnnspec.sources import DOCS_LSTM, DOCS_RNN

MODULES = [
    pytest.param(nn.RNN, id="RNN"),
    pytest.param(nn.LSTM, id="LSTM"),
    pytest.param(nn.GRU, id="GRU"),
]
GATES = {nn.RNN: 1, nn.LSTM: 4, nn.GRU: 3}  # rows of W_ih per hidden unit: -, (i,f,g,o), (r,z,n)
SEQ, BATCH, FEATURES, HIDDEN = 6, 3, 4, 5


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("module_type", MODULES)
def test_bidirectional_h_n_halves_are_the_last_and_first_output_steps(module_type, device):
    """For a bidirectional layer, the top layer's forward final state is output[-1, :, :H] and its
    backward final state is output[0, :, H:]: the reverse direction ends at the first time step.

    Red if the reverse half of `output` were stored in reading order (then
    output[-1, :, H:] would be the backward final state), or if h_n held
    something other than the top layer's two final states at indices -2 and -1.
    """
    module = module_type(FEATURES, HIDDEN, num_layers=2, bidirectional=True).to(device)
    output, state = module(torch.randn(SEQ, BATCH, FEATURES, device=device))
    h_n = final_states(module, state)[0]  # (2 * 2, N, H)
    forward_final, backward_final = h_n[-2], h_n[-1]  # top layer, directions 0 and 1
    torch.testing.assert_close(output[-1, :, :HIDDEN], forward_final)
    torch.testing.assert_close(output[0, :, HIDDEN:], backward_final)
    # "h_n is not equivalent to the last element of output" (DOCS_LSTM).
    assert not torch.allclose(output[-1, :, HIDDEN:], backward_final)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["unidirectional", "bidirectional"])
def test_batch_first_moves_input_and_output_axes_but_never_the_states(
    module_type, bidirectional, device
):
    """batch_first=True swaps the first two axes of input and output only: with the same weights,
    the output is the transpose of the batch_first=False output, and h_0, h_n (and c_0, c_n) stay
    (D * num_layers, N, H) with the same values.

    Red if batch_first also applied to the states (their shape would be
    (N, D * num_layers, H)), or if it changed the computation.
    """
    layers, directions = 2, 2 if bidirectional else 1
    sequence_first = module_type(
        FEATURES, HIDDEN, num_layers=layers, bidirectional=bidirectional
    ).to(device)
    batch_first = module_type(
        FEATURES, HIDDEN, num_layers=layers, bidirectional=bidirectional, batch_first=True
    ).to(device)
    batch_first.load_state_dict(sequence_first.state_dict())
    x = torch.randn(SEQ, BATCH, FEATURES, device=device)  # (L, N, H_in)
    h_0 = torch.randn(directions * layers, BATCH, HIDDEN, device=device)  # never batch-first
    initial = (h_0, torch.randn_like(h_0)) if module_type is nn.LSTM else h_0

    output, state = sequence_first(x, initial)
    output_bf, state_bf = batch_first(x.transpose(0, 1), initial)  # input (N, L, H_in)

    assert tuple(output_bf.shape) == (BATCH, SEQ, directions * HIDDEN)
    torch.testing.assert_close(output_bf, output.transpose(0, 1))
    for final, final_bf in zip(
        final_states(sequence_first, state), final_states(batch_first, state_bf), strict=True
    ):
        assert tuple(final_bf.shape) == (directions * layers, BATCH, HIDDEN)
        torch.testing.assert_close(final_bf, final)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
def test_final_states_are_layer_major_direction_minor(module_type, device):
    """In a 2-layer bidirectional module the final states are ordered [layer 0 forward, layer 0
    backward, layer 1 forward, layer 1 backward] (index = layer * 2 + direction), for h_n and c_n.

    Checked by rebuilding each layer as a 1-layer bidirectional module with the
    copied weights: layer 0 reads x, layer 1 reads layer 0's output. Red for a
    direction-major order (index = direction * num_layers + layer), which would
    put layer 1's forward state at index 1.
    """
    module = module_type(FEATURES, HIDDEN, num_layers=2, bidirectional=True).to(device)
    x = torch.randn(SEQ, BATCH, FEATURES, device=device)
    _, state = module(x)

    first, second = layer_as_module(module, 0), layer_as_module(module, 1)
    first_output, first_state = first(x)  # (L, N, 2 * H), final states (2, N, H)
    _, second_state = second(first_output)
    for stacked, layer0, layer1 in zip(
        final_states(module, state),
        final_states(first, first_state),
        final_states(second, second_state),
        strict=True,
    ):
        torch.testing.assert_close(stacked[0], layer0[0])  # layer 0, forward
        torch.testing.assert_close(stacked[1], layer0[1])  # layer 0, backward
        torch.testing.assert_close(stacked[2], layer1[0])  # layer 1, forward
        torch.testing.assert_close(stacked[3], layer1[1])  # layer 1, backward


def expected_parameters(
    module_type: type[nn.RNNBase],
    input_size: int,
    hidden: int,
    layers: int,
    bidirectional: bool,
    bias: bool = True,
    proj: int = 0,
) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes as the module pages list them.

    weight_ih_l[k]: (G * hidden, input_size) for k = 0, else (G * hidden, D * H_out);
    weight_hh_l[k]: (G * hidden, H_out); biases (G * hidden,); weight_hr_l[k]:
    (proj_size, hidden); `_reverse` for the backward direction; H_out = proj or hidden.
    """
    gates, directions = GATES[module_type] * hidden, 2 if bidirectional else 1
    out = proj or hidden
    shapes = {}
    for k in range(layers):
        layer_input = input_size if k == 0 else directions * out
        for suffix in ("", "_reverse")[:directions]:
            shapes[f"weight_ih_l{k}{suffix}"] = (gates, layer_input)
            shapes[f"weight_hh_l{k}{suffix}"] = (gates, out)
            if bias:
                shapes[f"bias_ih_l{k}{suffix}"] = (gates,)
                shapes[f"bias_hh_l{k}{suffix}"] = (gates,)
            if proj:
                shapes[f"weight_hr_l{k}{suffix}"] = (proj, hidden)
    return shapes


PARAMETER_CASES = [
    pytest.param(nn.RNN, {}, id="RNN-1-layer"),
    pytest.param(nn.RNN, {"num_layers": 3, "bidirectional": True}, id="RNN-bidirectional-3"),
    pytest.param(nn.RNN, {"num_layers": 2, "bias": False}, id="RNN-no-bias-2-layers"),
    pytest.param(nn.LSTM, {"num_layers": 2}, id="LSTM-2-layers"),
    pytest.param(nn.LSTM, {"num_layers": 2, "bidirectional": True}, id="LSTM-bidirectional-2"),
    pytest.param(nn.LSTM, {"num_layers": 2, "proj_size": 3}, id="LSTM-proj-2-layers"),
    pytest.param(
        nn.LSTM,
        {"num_layers": 2, "bidirectional": True, "proj_size": 3},
        id="LSTM-proj-bidirectional-2",
    ),
    pytest.param(nn.GRU, {"num_layers": 2}, id="GRU-2-layers"),
    pytest.param(nn.GRU, {"num_layers": 2, "bidirectional": True}, id="GRU-bidirectional-2"),
]


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize(("module_type", "options"), PARAMETER_CASES)
def test_parameter_names_and_shapes_follow_the_documented_pattern(module_type, options):
    """The parameters are exactly weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (and
    weight_hr_l{k} with proj_size), `_reverse` for the backward direction, shaped (G * hidden,
    input) for layer 0 and (G * hidden, D * H_out) above it, G = 1, 4, 3 for RNN, LSTM, GRU.

    Red for a renamed or extra parameter (e.g. a fused bias), a different gate
    count, or layers k > 0 reading hidden_size instead of D * proj_size features.
    """
    input_size, hidden = 7, 8
    module = module_type(input_size, hidden, **options)
    shapes = {name: tuple(p.shape) for name, p in module.named_parameters()}
    expected = expected_parameters(
        module_type,
        input_size,
        hidden,
        layers=options.get("num_layers", 1),
        bidirectional=options.get("bidirectional", False),
        bias=options.get("bias", True),
        proj=options.get("proj_size", 0),
    )
    assert shapes == expected


@pytest.mark.fact(DOCS_LSTM)
def test_lstm_shapes_spelled_out_for_one_projected_bidirectional_case():
    """nn.LSTM(10, 20, num_layers=2, bidirectional=True, proj_size=5) has weight_ih_l0 (80, 10),
    weight_ih_l1 (80, 10) reading 2 * 5 projected features, weight_hh_l0 (80, 5), biases (80,),
    and weight_hr_l0 (5, 20).

    The same pattern as the parametrized fact, written as literal numbers so
    the formula in `expected_parameters` is itself checked.
    """
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True, proj_size=5)
    assert tuple(lstm.weight_ih_l0.shape) == (80, 10)
    assert tuple(lstm.weight_ih_l1.shape) == (80, 10)  # 2 directions * proj_size 5
    assert tuple(lstm.weight_ih_l1_reverse.shape) == (80, 10)
    assert tuple(lstm.weight_hh_l0.shape) == (80, 5)
    assert tuple(lstm.bias_ih_l1_reverse.shape) == (80,)
    assert tuple(lstm.weight_hr_l0.shape) == (5, 20)
    assert tuple(lstm.weight_hr_l1_reverse.shape) == (5, 20)


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["unidirectional", "bidirectional"])
def test_projection_shrinks_output_and_h_n_but_not_c_n(bidirectional, device):
    """With proj_size=P the LSTM's output has D * P features and h_n is (D * num_layers, N, P),
    while c_n keeps hidden_size features; the last output step's forward half is h_n[-D].

    Red if c_n were projected too, or h_n kept hidden_size features.
    """
    layers, proj, directions = 2, 2, 2 if bidirectional else 1
    lstm = nn.LSTM(
        FEATURES, HIDDEN, num_layers=layers, bidirectional=bidirectional, proj_size=proj
    ).to(device)
    output, (h_n, c_n) = lstm(torch.randn(SEQ, BATCH, FEATURES, device=device))
    assert tuple(output.shape) == (SEQ, BATCH, directions * proj)
    assert tuple(h_n.shape) == (directions * layers, BATCH, proj)
    assert tuple(c_n.shape) == (directions * layers, BATCH, HIDDEN)
    torch.testing.assert_close(output[-1, :, :proj], h_n[-directions])


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.gpu
@pytest.mark.parametrize("module_type", MODULES)
def test_cuda_layout_matches_cpu_for_bidirectional_batch_first_stacks(module_type):
    """On CUDA (cuDNN) a bidirectional, 2-layer, batch_first module with the CPU module's weights
    returns the same output and final states, in the same layout, as on CPU.

    float64 on both devices, so TF32 or reduced-precision kernels cannot hide a
    permuted layout behind a loose tolerance; default float64 tolerances.
    """
    cpu = module_type(
        FEATURES, HIDDEN, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64
    )
    cuda = cuda_copy(cpu)
    x = torch.randn(BATCH, SEQ, FEATURES, dtype=torch.float64)  # (N, L, H_in)
    output, state = cpu(x)
    output_cuda, state_cuda = cuda(x.cuda())
    torch.testing.assert_close(output_cuda.cpu(), output)
    for final_cuda, final in zip(
        final_states(cuda, state_cuda), final_states(cpu, state), strict=True
    ):
        torch.testing.assert_close(final_cuda.cpu(), final)
