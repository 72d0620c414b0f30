"""Where nn.RNN, nn.LSTM and nn.GRU put things: shapes, output halves, final states, batch_first, weights.

The module pages (DOCS_RNN, DOCS_LSTM, DOCS_GRU) document the layouts:
output (L, N, D * H_out), final states (D * num_layers, N, H_out) "for
bidirectional RNNs, forward and backward are directions 0 and 1", batch_first
"does not apply to hidden or cell states", and the parameter attributes
`weight_ih_l[k]`, `weight_hh_l[k]`, `bias_ih_l[k]`, `bias_hh_l[k]`,
`weight_hr_l[k]` with their shapes. The LSTM page adds that for a bidirectional
LSTM "h_n is not equivalent to the last element of output". The shapes
themselves are written once, in the table of modules (rnnspec.modules).

Where a fact is device-parametrized it runs on CPU and, where one exists, on
CUDA (where cuDNN computes the layers), so a layout that differs between the
two backends turns one of the device cases red.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from rnnspec.modules import LAYERS, ModuleInfo, Settings, grid_params, params
from rnnspec.sources import DOCS_LSTM, DOCS_RNN
from rnnspec.testing import final_states, layer_as_module, seed_cpu, settings_strategy

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")

DIRECTIONS = grid_params(bidirectional=(False, True))


@pytest.mark.parametrize("info", params(LAYERS))
@given(data=st.data())
def test_output_and_state_shapes_are_as_documented(info, data):
    """For any configuration, output is (L, N, D * H_out) ((N, L, D * H_out) with batch_first,
    (L, D * H_out) unbatched), h_n is (D * num_layers, N, H_out) regardless of batch_first, and
    an LSTM's c_n is (D * num_layers, N, hidden_size); H_out = proj_size if > 0 else hidden_size.

    Red if batch_first reordered h_n, if h_n kept a batch axis for unbatched input, or if a
    projection also shrank c_n (or did not shrink output and h_n).
    """
    config = data.draw(settings_strategy(info), label="settings")
    seed_cpu(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    module = info.build(config)
    output, state = module(info.input(config))
    assert tuple(output.shape) == info.output_shape(config)
    got = tuple(tuple(s.shape) for s in final_states(state))
    assert got == info.state_shapes(config)


def time_step(output: torch.Tensor, config: Settings, t: int) -> torch.Tensor:
    """Step t of a batched output, (N, D * H_out), whatever the layout."""
    return output[:, t] if config.batch_first else output[t]


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("layout", grid_params(num_layers=(1, 3), batch_first=(False, True)))
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("info", params(LAYERS, cite=False))
def test_last_output_step_is_the_top_layers_final_state(info, direction, layout, device):
    """The output's last step is the top layer's final hidden state (h_n[-D]); for a bidirectional
    module the backward half of the output's first step is the top layer's backward final state
    (h_n[-1]), so h_n is not the last element of output.

    The many-to-one result. Red if the reverse half of `output` were stored in
    reading order (then output[-1, :, H:] would be the backward final state),
    or if h_n held something other than the top layer's final states at
    indices -D .. -1.
    """
    config = info.settings(input_size=4, **direction, **layout)
    module = info.build(config).to(device)
    output, state = module(info.input(config, device=device))
    h_n, width = final_states(state)[0], config.h_out
    torch.testing.assert_close(time_step(output, config, -1)[:, :width], h_n[-config.directions])
    if config.bidirectional:
        torch.testing.assert_close(time_step(output, config, 0)[:, width:], h_n[-1])
        # "h_n is not equivalent to the last element of output" (DOCS_LSTM).
        assert not torch.allclose(time_step(output, config, -1)[:, width:], h_n[-1])


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("info", params(LAYERS, cite=False))
def test_batch_first_moves_input_and_output_axes_but_never_the_states(info, direction, device):
    """batch_first=True swaps the first two axes of input and output only: with the same weights,
    the output is the transpose of the batch_first=False output, and h_0, h_n (and c_0, c_n) stay
    (D * num_layers, N, H) with the same values.

    Red if batch_first also applied to the states (their shape would be
    (N, D * num_layers, H)), or if it changed the computation.
    """
    config = info.settings(input_size=4, num_layers=2, batch=3, **direction)
    sequence_first = info.build(config).to(device)
    batch_first = info.build(replace(config, batch_first=True)).to(device)
    batch_first.load_state_dict(sequence_first.state_dict())
    x = info.input(config, device=device)  # (L, N, H_in)
    initial = info.initial_state(config, device=device)  # never batch-first

    output, state = sequence_first(x, initial)
    output_bf, state_bf = batch_first(x.transpose(0, 1), initial)  # input (N, L, H_in)

    torch.testing.assert_close(output_bf, output.transpose(0, 1))
    for final, final_bf, shape in zip(
        final_states(state), final_states(state_bf), info.state_shapes(config), strict=True
    ):
        assert tuple(final_bf.shape) == shape
        torch.testing.assert_close(final_bf, final)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("info", params(LAYERS, cite=False))
def test_final_states_are_layer_major_direction_minor(info, direction, device):
    """The final states of a 3-layer stack hold, for every layer and direction, that layer's
    state after its last step, ordered layer-major and direction-minor (index = layer * D +
    direction: [layer 0 forward, layer 0 backward, layer 1 forward, ...]), for h_n and c_n.

    Checked by rebuilding each layer as a 1-layer module with the copied
    weights, each reading the full output sequence of the one below. Red for a
    direction-major order (index = direction * num_layers + layer), or for
    states taken from another step than each direction's last.
    """
    config = info.settings(input_size=4, num_layers=3, **direction)
    module = info.build(config).to(device)
    layer_input = info.input(config, device=device)
    _, state = module(layer_input)
    stacked = final_states(state)
    for layer in range(config.num_layers):
        single = layer_as_module(module, layer)
        layer_input, single_state = single(layer_input)  # (L, N, D * H_out), (D, N, .)
        for direction_index in range(config.directions):
            index = layer * config.directions + direction_index
            for whole, alone in zip(stacked, final_states(single_state), strict=True):
                torch.testing.assert_close(whole[index], alone[direction_index])


def expected_parameters(info: ModuleInfo, config: Settings) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes as the module pages list them.

    weight_ih_l[k]: (G * hidden, input_size) for k = 0, else (G * hidden, D * H_out);
    weight_hh_l[k]: (G * hidden, H_out); biases (G * hidden,); weight_hr_l[k]:
    (proj_size, hidden); `_reverse` for the backward direction.
    """
    rows = info.gates * config.hidden_size
    shapes = {}
    for k in range(config.num_layers):
        layer_input = config.input_size if k == 0 else config.directions * config.h_out
        for suffix in ("", "_reverse")[: config.directions]:
            shapes[f"weight_ih_l{k}{suffix}"] = (rows, layer_input)
            shapes[f"weight_hh_l{k}{suffix}"] = (rows, config.h_out)
            if config.bias:
                shapes[f"bias_ih_l{k}{suffix}"] = (rows,)
                shapes[f"bias_hh_l{k}{suffix}"] = (rows,)
            if config.proj_size:
                shapes[f"weight_hr_l{k}{suffix}"] = (config.proj_size, config.hidden_size)
    return shapes


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize(
    "options", grid_params(num_layers=(1, 2, 3), bidirectional=(False, True), bias=(True, False))
)
@pytest.mark.parametrize("info", params(LAYERS, cite=False))
def test_parameter_names_and_shapes_follow_the_documented_pattern(info, options):
    """The parameters are exactly weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (and
    weight_hr_l{k} with proj_size), `_reverse` for the backward direction, shaped (G * hidden,
    input) for layer 0 and (G * hidden, D * H_out) above it, G = 1, 4, 3 for RNN, LSTM, GRU.

    Red for a renamed or extra parameter (e.g. a fused bias), a different gate
    count, or layers k > 0 reading hidden_size instead of D * proj_size features.
    """
    config = info.settings(input_size=7, hidden_size=8, **options)
    module = info.build(config)
    shapes = {name: tuple(p.shape) for name, p in module.named_parameters()}
    assert shapes == expected_parameters(info, config)


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
