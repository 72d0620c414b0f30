"""PyTorch's documented recurrences, written out one time step at a time: the executable spec.

Each function reads the weights of a real `nn.RNN`, `nn.LSTM` or `nn.GRU`
(`weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`,
`weight_hr_l{k}`, with `_reverse` for the backward direction) and computes what
the module's documentation says it computes (rnnspec.sources.DOCS_RNN,
DOCS_LSTM, DOCS_GRU), so a test can set module against equations:

    RNN   h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh or relu
    LSTM  i, f, g, o = rows of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, in that order
          i, f, o = sigmoid(.), g = tanh(.)
          c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t)   (h_t = W_hr h_t with proj_size > 0)
    GRU   r, z, n = rows of the input part (W_ih x_t + b_ih) and of the hidden part
          (W_hh h_{t-1} + b_hh), in that order
          r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z), n = tanh(x_n + r * h_n)
          h_t = (1 - z) * n + z * h_{t-1}

Layer k > 0 reads the outputs of layer k - 1; with bidirectional=True the
reverse direction reads the sequence from its last step to its first, and the
next layer's input (and the output) is [forward, backward] concatenated on the
feature axis. The final states are stacked layer-major, direction-minor:
index = layer * D + direction. Missing initial states are zeros.

Layouts (D = 2 if bidirectional else 1, H_out = proj_size or hidden_size):
    x       (L, N, H_in), or (N, L, H_in) with batch_first, or unbatched (L, H_in)
    output  (L, N, D * H_out), or (N, L, D * H_out), or unbatched (L, D * H_out)
    h_n     (D * num_layers, N, H_out), unbatched (D * num_layers, H_out); never batch-first
    c_n     (D * num_layers, N, hidden_size), unbatched (D * num_layers, hidden_size)

Dropout between layers is not modelled: the functions refuse a module in
training mode with dropout > 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor, nn


def directions_of(module: nn.RNNBase) -> int:
    """D in the documentation: 2 for a bidirectional module, else 1."""
    return 2 if module.bidirectional else 1


def h_out_of(module: nn.RNNBase) -> int:
    """H_out in the documentation: proj_size when the LSTM projects, else hidden_size."""
    return getattr(module, "proj_size", 0) or module.hidden_size


State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for LSTM; each (N, *)


class Weights(NamedTuple):
    """The parameters of one layer in one direction; biases and W_hr may be absent."""

    w_ih: Tensor  # (G * hidden_size, H_in), G = 1, 4, 3 gates for RNN, LSTM, GRU
    w_hh: Tensor  # (G * hidden_size, H_out)
    b_ih: Tensor | None  # (G * hidden_size,)
    b_hh: Tensor | None  # (G * hidden_size,)
    w_hr: Tensor | None  # (proj_size, hidden_size), LSTM with proj_size > 0 only


Step = Callable[[Tensor, State, Weights], State]


def cell_weights(cell: nn.RNNCellBase) -> Weights:
    """The parameters of an nn.RNNCell, nn.LSTMCell or nn.GRUCell (no layer suffix)."""
    return Weights(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, None)


def weights_of(module: nn.RNNBase, layer: int, reverse: bool = False) -> Weights:
    """The weights of `layer` (0-based) in the forward or reverse direction, read by name."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")

    def get(name: str) -> Tensor | None:
        return getattr(module, name + suffix, None)

    return Weights(
        w_ih=get("weight_ih"),
        w_hh=get("weight_hh"),
        b_ih=get("bias_ih") if module.bias else None,
        b_hh=get("bias_hh") if module.bias else None,
        w_hr=get("weight_hr") if getattr(module, "proj_size", 0) > 0 else None,
    )


def affine(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """W x + b for a batch of row vectors x (N, in): (N, out); b is skipped when absent."""
    out = x @ weight.T  # (N, out)
    return out if bias is None else out + bias


# ---------------------------------------------------------------- one time step


def rnn_step(x: Tensor, state: State, w: Weights, nonlinearity: str = "tanh") -> State:
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh or relu."""
    (h,) = state  # (N, hidden_size)
    pre = affine(x, w.w_ih, w.b_ih) + affine(h, w.w_hh, w.b_hh)  # (N, hidden_size)
    act = {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity]
    return (act(pre),)


def lstm_step(x: Tensor, state: State, w: Weights) -> State:
    """One LSTM step; gates i, f, g, o in the order of the weight rows; h projected by W_hr."""
    h, c = state  # (N, H_out), (N, hidden_size)
    gates = affine(x, w.w_ih, w.b_ih) + affine(h, w.w_hh, w.b_hh)  # (N, 4 * hidden_size)
    i, f, g, o = gates.chunk(4, dim=-1)  # each (N, hidden_size)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g  # (N, hidden_size)
    h = o * torch.tanh(c)  # (N, hidden_size)
    if w.w_hr is not None:
        h = h @ w.w_hr.T  # (N, proj_size)
    return h, c


def gru_step(x: Tensor, state: State, w: Weights) -> State:
    """One GRU step; gates r, z, n; the reset gate multiplies (W_hn h_{t-1} + b_hn)."""
    (h,) = state  # (N, hidden_size)
    x_r, x_z, x_n = affine(x, w.w_ih, w.b_ih).chunk(3, dim=-1)  # each (N, hidden_size)
    h_r, h_z, h_n = affine(h, w.w_hh, w.b_hh).chunk(3, dim=-1)  # each (N, hidden_size)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return ((1 - z) * n + z * h,)


# ---------------------------------------------------------------- the layer stack


def _check(module: nn.RNNBase, kind: type[nn.RNNBase]) -> None:
    if not isinstance(module, kind):
        raise TypeError(f"expected an nn.{kind.__name__}, got {type(module).__name__}")
    if module.training and module.dropout > 0 and module.num_layers > 1:
        raise ValueError(
            f"the reference does not model dropout; got dropout={module.dropout} in training "
            "mode: call module.eval() or use dropout=0"
        )


def _run(
    module: nn.RNNBase, x: Tensor, initial: State | None, sizes: tuple[int, ...], step: Step
) -> tuple[Tensor, State]:
    """Run `step` over every layer and direction; `sizes` are the state sizes (H_out[, hidden]).

    Returns the output in the module's layout and the final states, each
    (D * num_layers, [N,] size).
    """
    batched = x.dim() == 3
    if not batched:
        x = x.unsqueeze(1)  # (L, 1, H_in); batch_first does not apply to unbatched input
        initial = None if initial is None else tuple(s.unsqueeze(1) for s in initial)
    elif module.batch_first:
        x = x.transpose(0, 1)  # (L, N, H_in)
    seq_len, batch, _ = x.shape
    directions = directions_of(module)
    if initial is None:
        initial = tuple(
            x.new_zeros(directions * module.num_layers, batch, size) for size in sizes
        )  # each (D * num_layers, N, size)

    layer_input = x  # (L, N, H_in) for layer 0, (L, N, D * H_out) above it
    finals: list[State] = []  # one per (layer, direction), layer-major
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(directions):
            weights = weights_of(module, layer, reverse=direction == 1)
            state = tuple(s[layer * directions + direction] for s in initial)  # each (N, size)
            steps = range(seq_len) if direction == 0 else reversed(range(seq_len))
            out = []
            for t in steps:
                state = step(layer_input[t], state, weights)
                out.append(state[0])  # (N, H_out)
            if direction == 1:
                out.reverse()  # back to time order: out[t] is the state after reading x_t
            outputs.append(torch.stack(out))  # (L, N, H_out)
            finals.append(state)
        layer_input = torch.cat(outputs, dim=-1)  # (L, N, D * H_out)

    output = layer_input
    final = tuple(torch.stack(parts) for parts in zip(*finals, strict=True))  # (D*layers, N, .)
    if not batched:
        return output.squeeze(1), tuple(s.squeeze(1) for s in final)  # (L, D * H_out)
    if module.batch_first:
        output = output.transpose(0, 1)  # (N, L, D * H_out)
    return output, final


def reference_rnn(module: nn.RNN, x: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(output, h_n) of `module` computed from the nn.RNN equations, tanh or relu."""
    _check(module, nn.RNN)

    def step(x_t: Tensor, state: State, w: Weights) -> State:
        return rnn_step(x_t, state, w, module.nonlinearity)

    initial = None if hx is None else (hx,)
    output, (h_n,) = _run(module, x, initial, (module.hidden_size,), step)
    return output, h_n


def reference_lstm(
    module: nn.LSTM, x: Tensor, hx: tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """(output, (h_n, c_n)) of `module` computed from the nn.LSTM equations, with projections."""
    _check(module, nn.LSTM)
    sizes = (h_out_of(module), module.hidden_size)
    output, (h_n, c_n) = _run(module, x, hx, sizes, lstm_step)
    return output, (h_n, c_n)


def reference_gru(module: nn.GRU, x: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(output, h_n) of `module` computed from the nn.GRU equations."""
    _check(module, nn.GRU)
    initial = None if hx is None else (hx,)
    output, (h_n,) = _run(module, x, initial, (module.hidden_size,), gru_step)
    return output, h_n


def reference(
    module: nn.RNNBase, x: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
    """The reference for any of nn.RNN, nn.LSTM, nn.GRU: what `module(x, hx)` should return."""
    if isinstance(module, nn.LSTM):
        return reference_lstm(module, x, hx)
    if isinstance(module, nn.GRU):
        return reference_gru(module, x, hx)
    return reference_rnn(module, x, hx)
