"""nn.RNN, nn.LSTM and nn.GRU compute the equations printed on their documentation pages.

Each module is set against models/reference.py, which writes those equations
out one time step at a time and reads the module's own weights by name, over
the grid num_layers x direction x layout x bias (x nonlinearity for nn.RNN,
x proj_size for nn.LSTM). What turns a test red: a gate order other than the
documented one (i, f, g, o for LSTM; r, z, n for GRU), the GRU's reset gate
applied anywhere but to (W_hn h + b_hn), a reverse direction that does not read
the sequence backwards, final states not stacked layer-major and
direction-minor, a projection applied to the cell state or not at all,
batch_first honoured for unbatched input or for h_n, or a bias-free module that
still adds a bias.

Sizes are small (input 3, hidden 5, projection 3, 6 steps, batch 2) so the
whole grid runs in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from models.reference import reference, reference_gru, reference_lstm, reference_rnn
from rnnspec.sources import (
    DOCS_GRU,
    DOCS_GRU_CELL,
    DOCS_LSTM,
    DOCS_LSTM_CELL,
    DOCS_RNN,
    DOCS_RNN_CELL,
)

INPUT, HIDDEN, PROJ, SEQ, BATCH = 3, 5, 3, 6, 2

# CPU LSTMs with projections bypass oneDNN and say so once per process.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")


@dataclass(frozen=True)
class Layout:
    """How the input is laid out: batched sequence-first, batch-first, or unbatched."""

    batched: bool
    batch_first: bool

    def input(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        if not self.batched:
            return torch.randn(SEQ, INPUT, dtype=dtype)  # (L, H_in), whatever batch_first says
        if self.batch_first:
            return torch.randn(BATCH, SEQ, INPUT, dtype=dtype)  # (N, L, H_in)
        return torch.randn(SEQ, BATCH, INPUT, dtype=dtype)  # (L, N, H_in)


LAYERS = [pytest.param(n, id=f"{n}-layer" + "s" * (n > 1)) for n in (1, 2, 3)]
DIRECTIONS = [
    pytest.param(False, id="unidirectional"),
    pytest.param(True, id="bidirectional"),
]
LAYOUTS = [
    pytest.param(Layout(batched=True, batch_first=False), id="L-N-H"),
    pytest.param(Layout(batched=True, batch_first=True), id="N-L-H-batch_first"),
    pytest.param(Layout(batched=False, batch_first=False), id="unbatched"),
]  # unbatched input with batch_first=True: test_batch_first_does_not_apply_to_unbatched_input
BATCHED_AND_UNBATCHED = [LAYOUTS[0], LAYOUTS[2]]
BIASES = [pytest.param(True, id="bias"), pytest.param(False, id="no-bias")]
NONLINEARITIES = [pytest.param("tanh", id="tanh"), pytest.param("relu", id="relu")]
PROJECTIONS = [pytest.param(0, id="no-proj"), pytest.param(PROJ, id=f"proj_size-{PROJ}")]


def initial_state(
    module: nn.RNNBase, batched: bool, dtype: torch.dtype = torch.float32
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """A random h_0 (and c_0), (D * num_layers, [N,] size): the documented state layout."""
    lead = ((2 if module.bidirectional else 1) * module.num_layers,) + (BATCH,) * batched
    h_size = getattr(module, "proj_size", 0) or module.hidden_size
    h_0 = 0.5 * torch.randn(*lead, h_size, dtype=dtype)
    if isinstance(module, nn.LSTM):
        return h_0, torch.randn(*lead, module.hidden_size, dtype=dtype)
    return h_0


def zero_state(module: nn.RNNBase, batched: bool) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """initial_state's shapes, filled with zeros."""
    state = initial_state(module, batched)
    if isinstance(state, tuple):
        return tuple(torch.zeros_like(s) for s in state)
    return torch.zeros_like(state)


# ------------------------------------------------------------------ float32 grid


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("bias", BIASES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
@pytest.mark.parametrize("num_layers", LAYERS)
def test_rnn_computes_the_documented_recurrence(
    num_layers, bidirectional, layout, bias, nonlinearity
):
    """nn.RNN computes h_t = act(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh), act = tanh or relu, in
    every layer and direction: output and h_n equal the step-by-step reference."""
    rnn = nn.RNN(
        INPUT,
        HIDDEN,
        num_layers,
        nonlinearity=nonlinearity,
        bias=bias,
        batch_first=layout.batch_first,
        bidirectional=bidirectional,
    )
    x, h_0 = layout.input(), initial_state(rnn, layout.batched)
    output, h_n = rnn(x, h_0)
    expected_output, expected_h_n = reference_rnn(rnn, x, h_0)
    assert_close(output, expected_output)
    assert_close(h_n, expected_h_n)


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("proj_size", PROJECTIONS)
@pytest.mark.parametrize("bias", BIASES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
@pytest.mark.parametrize("num_layers", LAYERS)
def test_lstm_computes_the_documented_gates(num_layers, bidirectional, layout, bias, proj_size):
    """nn.LSTM computes gates i, f, g, o from the rows of W_ih and W_hh in that order,
    c_t = f * c_(t-1) + i * g and h_t = o * tanh(c_t), projected by W_hr when proj_size > 0:
    output, h_n and c_n equal the step-by-step reference."""
    lstm = nn.LSTM(
        INPUT,
        HIDDEN,
        num_layers,
        bias=bias,
        batch_first=layout.batch_first,
        bidirectional=bidirectional,
        proj_size=proj_size,
    )
    x, (h_0, c_0) = layout.input(), initial_state(lstm, layout.batched)
    output, (h_n, c_n) = lstm(x, (h_0, c_0))
    expected_output, (expected_h_n, expected_c_n) = reference_lstm(lstm, x, (h_0, c_0))
    assert_close(output, expected_output)
    assert_close(h_n, expected_h_n)
    assert_close(c_n, expected_c_n)


@pytest.mark.fact(DOCS_GRU)
@pytest.mark.parametrize("bias", BIASES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
@pytest.mark.parametrize("num_layers", LAYERS)
def test_gru_computes_the_documented_gates(num_layers, bidirectional, layout, bias):
    """nn.GRU computes gates r, z, n from the rows of W_ih and W_hh in that order, with
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_(t-1) + b_hn)) and h_t = (1 - z_t) * n_t +
    z_t * h_(t-1): output and h_n equal the step-by-step reference."""
    gru = nn.GRU(
        INPUT,
        HIDDEN,
        num_layers,
        bias=bias,
        batch_first=layout.batch_first,
        bidirectional=bidirectional,
    )
    x, h_0 = layout.input(), initial_state(gru, layout.batched)
    output, h_n = gru(x, h_0)
    expected_output, expected_h_n = reference_gru(gru, x, h_0)
    assert_close(output, expected_output)
    assert_close(h_n, expected_h_n)


# ------------------------------------------------------------------ initial state, unbatched input

MODULES = [
    pytest.param(
        lambda **options: nn.RNN(INPUT, HIDDEN, 2, **options),
        id="RNN",
        marks=pytest.mark.fact(DOCS_RNN),
    ),
    pytest.param(
        lambda **options: nn.LSTM(INPUT, HIDDEN, 2, proj_size=PROJ, **options),
        id="LSTM-proj_size",
        marks=pytest.mark.fact(DOCS_LSTM),
    ),
    pytest.param(
        lambda **options: nn.GRU(INPUT, HIDDEN, 2, **options),
        id="GRU",
        marks=pytest.mark.fact(DOCS_GRU),
    ),
]


@pytest.mark.parametrize("layout", BATCHED_AND_UNBATCHED)
@pytest.mark.parametrize("bidirectional", DIRECTIONS)
@pytest.mark.parametrize("make", MODULES)
def test_omitted_initial_state_is_zeros(make, bidirectional, layout):
    """Omitting h_0 (and c_0) equals passing zeros of the documented shape, (D * num_layers,
    [N,] H_out) with H_out = proj_size for an LSTM's h_0, and the reference started from zeros.

    Red if the default state were not zero (or, for an LSTM with projections, if the default
    h_0 were hidden_size wide: the explicit proj_size-wide zeros would then raise)."""
    module = make(bidirectional=bidirectional)
    x = layout.input()
    omitted = module(x)
    assert_close(omitted, module(x, zero_state(module, layout.batched)))
    assert_close(omitted, reference(module, x))


@pytest.mark.parametrize("make", MODULES)
def test_batch_first_does_not_apply_to_unbatched_input(make):
    """For unbatched input (L, H_in), batch_first=True changes nothing: the module returns what
    the same weights return with batch_first=False, and what the reference returns.

    Red if a batch_first module read a 2-D input as (N, H_in), one step per row of a batch, or
    transposed its 2-D output."""
    module = make(bidirectional=True, batch_first=True)
    sequence_first = make(bidirectional=True)
    sequence_first.load_state_dict(module.state_dict())
    x, hx = torch.randn(SEQ, INPUT), initial_state(module, batched=False)  # (L, H_in)
    result = module(x, hx)
    assert_close(result, sequence_first(x, hx))
    assert_close(result, reference(module, x, hx))


# ------------------------------------------------------------------ float64 and gradients

SMALL = [
    pytest.param(
        lambda: nn.RNN(INPUT, 4, 2, nonlinearity="tanh", bidirectional=True),
        id="RNN-tanh",
        marks=pytest.mark.fact(DOCS_RNN),
    ),
    pytest.param(
        lambda: nn.RNN(INPUT, 4, 2, nonlinearity="relu", bidirectional=True),
        id="RNN-relu",
        marks=pytest.mark.fact(DOCS_RNN),
    ),
    pytest.param(
        lambda: nn.LSTM(INPUT, 4, 2, bidirectional=True, proj_size=2),
        id="LSTM-proj_size",
        marks=pytest.mark.fact(DOCS_LSTM),
    ),
    pytest.param(
        lambda: nn.GRU(INPUT, 4, 2, bidirectional=True),
        id="GRU",
        marks=pytest.mark.fact(DOCS_GRU),
    ),
]


def _flat(result: tuple) -> tuple[torch.Tensor, ...]:
    """(output, h_n) or (output, (h_n, c_n)) as a flat tuple of tensors."""
    output, state = result
    return (output, *state) if isinstance(state, tuple) else (output, state)


@pytest.mark.parametrize("make", SMALL)
def test_float64_module_matches_the_equations(make):
    """In float64 a 2-layer bidirectional module equals the reference at float64's default
    tolerances (rtol 1e-7, atol 1e-7), so the float32 agreement is not a rounding accident."""
    module = make().double()
    x = torch.randn(SEQ, BATCH, INPUT, dtype=torch.float64)
    hx = initial_state(module, batched=True, dtype=torch.float64)
    for got, expected in zip(_flat(module(x, hx)), _flat(reference(module, x, hx)), strict=True):
        assert_close(got, expected)


@pytest.mark.parametrize("make", SMALL)
def test_gradients_match_finite_differences(make):
    """The gradients of output and final states with respect to the input and the initial
    state equal finite differences of the forward (torch.autograd.gradcheck, float64).

    Red if a backward kernel (the fused RNN backward, not autograd through the equations)
    disagreed with the forward it belongs to."""
    module = make().double()
    x = torch.randn(5, BATCH, INPUT, dtype=torch.float64, requires_grad=True)
    hx = initial_state(module, batched=True, dtype=torch.float64)
    states = hx if isinstance(hx, tuple) else (hx,)
    for s in states:
        s.requires_grad_(True)

    def forward(x: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return _flat(module(x, states if len(states) == 2 else states[0]))

    assert torch.autograd.gradcheck(forward, (x, *states), fast_mode=True)


@pytest.mark.parametrize("make", SMALL)
def test_weight_gradients_match_the_equations(make):
    """The gradients with respect to every weight, the input and the initial state equal those
    of autograd through the step-by-step reference (float64, default tolerances)."""
    module = make().double()
    x = torch.randn(SEQ, BATCH, INPUT, dtype=torch.float64, requires_grad=True)
    hx = initial_state(module, batched=True, dtype=torch.float64)
    states = hx if isinstance(hx, tuple) else (hx,)
    for s in states:
        s.requires_grad_(True)
    leaves = [x, *states, *module.parameters()]
    weights = [torch.randn_like(t) for t in _flat(module(x, hx))]  # a random loss direction

    def gradients(result: tuple) -> tuple[torch.Tensor, ...]:
        loss = sum((t * w).sum() for t, w in zip(_flat(result), weights, strict=True))
        return torch.autograd.grad(loss, leaves)

    names = ["input"] + [f"state {i}" for i in range(len(states))]
    names += [name for name, _ in module.named_parameters()]
    for name, got, expected in zip(
        names, gradients(module(x, hx)), gradients(reference(module, x, hx)), strict=True
    ):
        assert_close(got, expected, msg=lambda m, name=name: f"gradient of {name}: {m}")


# ------------------------------------------------------------------ cells

CELLS = [
    pytest.param(
        nn.RNNCell,
        nn.RNN,
        {"nonlinearity": "tanh"},
        id="RNNCell-tanh",
        marks=pytest.mark.fact(DOCS_RNN_CELL),
    ),
    pytest.param(
        nn.RNNCell,
        nn.RNN,
        {"nonlinearity": "relu"},
        id="RNNCell-relu",
        marks=pytest.mark.fact(DOCS_RNN_CELL),
    ),
    pytest.param(nn.LSTMCell, nn.LSTM, {}, id="LSTMCell", marks=pytest.mark.fact(DOCS_LSTM_CELL)),
    pytest.param(nn.GRUCell, nn.GRU, {}, id="GRUCell", marks=pytest.mark.fact(DOCS_GRU_CELL)),
]


@pytest.mark.parametrize("layout", BATCHED_AND_UNBATCHED)
@pytest.mark.parametrize("bias", BIASES)
@pytest.mark.parametrize(("cell_type", "layer_type", "options"), CELLS)
def test_cell_stepped_over_a_sequence_equals_the_one_layer_module(
    cell_type, layer_type, options, bias, layout
):
    """A cell holding a one-layer module's weights (weight_ih_l0 -> weight_ih, ...) and stepped
    by hand over the sequence, feeding back its state, gives the module's output and final state.

    Red if a cell ordered its gates differently from the module, or if its state layout (h, c)
    differed from the module's."""
    layer = layer_type(INPUT, HIDDEN, bias=bias, **options)
    cell = cell_type(INPUT, HIDDEN, bias=bias, **options)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x, hx = layout.input(), initial_state(layer, layout.batched)  # states (1, [N,] H)

    state = tuple(s[0] for s in hx) if isinstance(hx, tuple) else hx[0]  # ([N,] H)
    steps = []
    for x_t in x:  # x_t: ([N,] H_in)
        state = cell(x_t, state)
        steps.append(state[0] if isinstance(state, tuple) else state)
    output, final = layer(x, hx)
    assert_close(torch.stack(steps), output)
    if isinstance(final, tuple):
        assert_close(tuple(s[None] for s in state), final)
    else:
        assert_close(state[None], final)


# ------------------------------------------------------------------ CUDA

GPU_CASES = [
    pytest.param(
        lambda: nn.RNN(INPUT, HIDDEN, 2, nonlinearity="relu", bidirectional=True, batch_first=True),
        Layout(batched=True, batch_first=True),
        id="RNN-relu-2-layers-bidirectional-batch_first",
        marks=pytest.mark.fact(DOCS_RNN),
    ),
    pytest.param(
        lambda: nn.LSTM(INPUT, HIDDEN, 2, bidirectional=True, proj_size=PROJ),
        Layout(batched=True, batch_first=False),
        id="LSTM-proj_size-2-layers-bidirectional",
        marks=pytest.mark.fact(DOCS_LSTM),
    ),
    pytest.param(
        lambda: nn.LSTM(INPUT, HIDDEN, 3, bias=False),
        Layout(batched=False, batch_first=False),
        id="LSTM-3-layers-no-bias-unbatched",
        marks=pytest.mark.fact(DOCS_LSTM),
    ),
    pytest.param(
        lambda: nn.GRU(INPUT, HIDDEN, 3, bidirectional=True),
        Layout(batched=True, batch_first=False),
        id="GRU-3-layers-bidirectional",
        marks=pytest.mark.fact(DOCS_GRU),
    ),
]
# float64: the equations exactly (default tolerances 1e-7). float32: cuDNN may use TF32 tensor
# cores for float32 RNNs on Ampere and later (torch.backends.cudnn.allow_tf32 defaults to True;
# TF32 keeps a 10-bit mantissa), so float32 is compared at 1e-2.
GPU_DTYPES = [
    pytest.param(torch.float64, None, id="float64"),
    pytest.param(torch.float32, 1e-2, id="float32-tf32-tolerance"),
]


@pytest.mark.gpu
@pytest.mark.parametrize(("dtype", "tolerance"), GPU_DTYPES)
@pytest.mark.parametrize(("make", "layout"), GPU_CASES)
def test_cuda_matches_cpu(make, layout, dtype, tolerance):
    """On CUDA (cuDNN where available) a module with the same weights returns the CPU result:
    output and final states agree, float64 at default tolerances and float32 within 1e-2 (cuDNN
    may use TF32 products for float32; see GPU_DTYPES)."""
    module = make().to(dtype)
    x, hx = layout.input(dtype), initial_state(module, layout.batched, dtype)
    expected = _flat(module(x, hx))
    cuda = torch.device("cuda")
    hx_cuda = tuple(s.to(cuda) for s in hx) if isinstance(hx, tuple) else hx.to(cuda)
    got = _flat(module.to(cuda)(x.to(cuda), hx_cuda))
    for g, e in zip(got, expected, strict=True):
        assert_close(g.cpu(), e, rtol=tolerance, atol=tolerance)
