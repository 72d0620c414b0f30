"""Known bugs of eager PyTorch's recurrent utilities that no deployment path is needed for.

Each fact states the promised behaviour and names its ledger entry (rnnspec.ledger):
on the releases the entry lists, the promise is expected to break exactly as the
issue says (outcome "known_bug"); the day it holds there, the fact fails with "fixed
in". A snippet that can kill the interpreter runs in a child process
(`sys.executable`), so a segfault is an observation of this fact, not the end of the run.
"""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn.utils.rnn import unpad_sequence

from rnnspec.ledger import (
    CELL_STATE_RANK_UNCHECKED,
    LSTM_CELL_BARE_TENSOR_STATE_SEGFAULT,
    LSTM_CELL_UNBATCHED_INPUT_SEGFAULT,
    PACKED_LSTM_CELL_STATE_LAYERS_UNCHECKED,
    UNPAD_SEQUENCE_TRANSPOSES_INPUT,
)
from rnnspec.sources import (
    DOCS_GRU_CELL,
    DOCS_LSTM,
    DOCS_LSTM_CELL,
    DOCS_RNN_CELL,
    DOCS_UNPAD_SEQUENCE,
)
from rnnspec.testing import ChildRun, assert_child_raised, run_in_child

PYTHON_ERRORS = ("RuntimeError", "ValueError", "TypeError")


def names_the_state(message: str) -> bool:
    """Whether an error message names the hidden state it refuses ("hidden", "hx", "h0")."""
    return re.search(r"hidden|\bhx|h0|state", message, re.IGNORECASE) is not None


@pytest.mark.fact(DOCS_UNPAD_SEQUENCE, bug=UNPAD_SEQUENCE_TRANSPOSES_INPUT)
def test_unpad_sequence_leaves_the_padded_tensor_as_it_was(known_bug) -> None:
    """`nn.utils.rnn.unpad_sequence(padded, lengths, batch_first=False)` returns the unpadded
    sequences and leaves the caller's `padded` tensor (T, B, *) unchanged: its shape and its
    values."""
    padded = torch.arange(6.0).reshape(3, 2)  # (T=3, B=2): columns are the sequences
    before = padded.clone()
    sequences = unpad_sequence(padded, torch.tensor([3, 2]), batch_first=False)
    torch.testing.assert_close(sequences[0], before[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(sequences[1], before[:2, 1], rtol=0, atol=0)
    with known_bug.expected(match=r"shape \(2, 3\)"):
        assert tuple(padded.shape) == (3, 2), (
            f"unpad_sequence changed the caller's tensor: shape (3, 2) came back as shape "
            f"{tuple(padded.shape)}"
        )
        torch.testing.assert_close(padded, before, rtol=0, atol=0)


# ------------------------------------------------------------- crashes on bad input
# Each snippet runs in a forked child process (rnnspec.testing.run_in_child): where the bug holds
# it can kill the process, and the fact then records the signal and the run goes on.


def observed_child(code: str, observe) -> ChildRun:
    """`code` run in a child process, how it ended and its last error line observed."""
    child = run_in_child(code)
    observe("child", child.ended)
    observe("error", child.last_line[:300])
    return child


# pytorch/pytorch#175978's snippet: a 1-D input (one sample) with a batch of 3 states.
LSTM_CELL_MISMATCH = (
    "import torch\n"
    "torch.nn.LSTMCell(5, 3)(torch.randn(5), (torch.randn(3, 3), torch.randn(3, 3)))\n"
)


@pytest.mark.fact(DOCS_LSTM_CELL, bug=LSTM_CELL_UNBATCHED_INPUT_SEGFAULT)
def test_lstm_cell_refuses_an_unbatched_input_with_a_batched_state(known_bug, observe) -> None:
    """`nn.LSTMCell(5, 3)` called with a 1-D input (5,) and a batched state ((3, 3), (3, 3))
    raises a Python error that names the mismatched state, and the process lives on.

    On the releases of pytorch/pytorch#175978 this kills the process with SIGSEGV.
    """
    child = observed_child(LSTM_CELL_MISMATCH, observe)
    with known_bug.expected(match="killed by signal"):
        assert_child_raised(child, ("RuntimeError", "ValueError"), names_the_state, "LSTMCell")


# pytorch/pytorch#106769's shapes: a (1, 1) input with a 5-D state (1, 1, 5, 127, 1).
RANK_5_STATE = "torch.randn(1, 1, 5, 127, 1)"
CELL_WITH_A_RANK_5_STATE = {
    "RNNCell": (DOCS_RNN_CELL, f"torch.nn.RNNCell(1, 1)(torch.randn(1, 1), {RANK_5_STATE})"),
    "GRUCell": (DOCS_GRU_CELL, f"torch.nn.GRUCell(1, 1)(torch.randn(1, 1), {RANK_5_STATE})"),
    "LSTMCell": (
        DOCS_LSTM_CELL,
        f"torch.nn.LSTMCell(1, 1)(torch.randn(1, 1), ({RANK_5_STATE}, torch.randn(1, 1)))",
    ),
}


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(name, marks=pytest.mark.fact(page, bug=CELL_STATE_RANK_UNCHECKED), id=name)
        for name, (page, _) in CELL_WITH_A_RANK_5_STATE.items()
    ],
)
def test_cells_refuse_a_state_of_more_than_two_dimensions(cell, known_bug, observe) -> None:
    """A cell's hidden state is (H) or (N, H): given a 5-D state with a (1, 1) input, each of
    nn.RNNCell, nn.GRUCell and nn.LSTMCell raises a Python error that names the state, and the
    process lives on.

    Red where a cell computes with the 5-D state (2.0.1: nn.RNNCell returns a 5-D "state",
    nn.GRUCell corrupts memory, nn.LSTMCell kills the process with SIGSEGV).
    """
    child = observed_child(f"import torch\n{CELL_WITH_A_RANK_5_STATE[cell][1]}\n", observe)
    with known_bug.expected():
        assert_child_raised(child, PYTHON_ERRORS, names_the_state, cell)


# pytorch/pytorch#193823's snippet: a 3-D tensor where the (h_0, c_0) pair belongs.
LSTM_CELL_BARE_TENSOR = (
    "import torch\n"
    "torch.nn.LSTMCell(input_size=3, hidden_size=3)(torch.randn(3), torch.zeros(2, 3, 3))\n"
)


@pytest.mark.fact(DOCS_LSTM_CELL, bug=LSTM_CELL_BARE_TENSOR_STATE_SEGFAULT)
def test_lstm_cell_refuses_a_bare_tensor_as_its_state(known_bug, observe) -> None:
    """nn.LSTMCell's state is the pair (h_0, c_0): given one 3-D tensor in its place, it raises
    a Python error, and the process lives on.

    Red where the cell unpacks the tensor's first dimension as the pair and hands a 3-D state
    to the native cell (pytorch/pytorch#193823: SIGSEGV).
    """
    child = observed_child(LSTM_CELL_BARE_TENSOR, observe)
    with known_bug.expected(match="killed by signal"):
        assert_child_raised(child, PYTHON_ERRORS, lambda message: True, "LSTMCell")


# A packed batch for a 3-layer or 2-layer nn.LSTM(8, 8), with h_0 of the right layer count and
# c_0 of the wrong one: fewer layers (a read past c_0's end) or more (a layer dropped).
PACKED_LSTM_WITH_CELL_STATE_LAYERS = (
    "import torch\n"
    "lstm = torch.nn.LSTM(8, 8, num_layers={layers})\n"
    "x = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(5, 2, 8), [5, 3])\n"
    "out, (h, c) = lstm(x, (torch.zeros({layers}, 2, 8), torch.zeros({cell_layers}, 2, 8)))\n"
    "print('returned h_n', tuple(h.shape), 'c_n', tuple(c.shape))\n"
)


@pytest.mark.fact(DOCS_LSTM, bug=PACKED_LSTM_CELL_STATE_LAYERS_UNCHECKED)
@pytest.mark.parametrize(
    ("layers", "cell_layers"),
    [pytest.param(3, 2, id="c_0-one-layer-short"), pytest.param(2, 3, id="c_0-one-layer-over")],
)
def test_lstm_with_packed_input_refuses_a_cell_state_of_another_layer_count(
    layers, cell_layers, known_bug, observe
) -> None:
    """nn.LSTM's c_0 is (D*num_layers, N, H_cell), as h_0 is: with a packed input, a c_0 of
    one layer fewer or more than the module's num_layers raises a RuntimeError that gives the
    expected and the received size, and the process lives on.

    Red where the module reads the packed batch without checking c_0: a c_0 one layer short
    is read past its end (a result made of whatever lies there, or SIGSEGV), one layer over
    is silently cut.
    """
    child = observed_child(
        PACKED_LSTM_WITH_CELL_STATE_LAYERS.format(layers=layers, cell_layers=cell_layers), observe
    )
    expected, received = f"{layers}, 2, 8", f"{cell_layers}, 2, 8"
    with known_bug.expected():
        assert_child_raised(
            child,
            ("RuntimeError",),
            lambda message: expected in message and received in message,
            f"nn.LSTM with {layers} layers and a {cell_layers}-layer c_0",
        )
