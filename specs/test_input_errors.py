"""What nn.RNN, nn.LSTM and nn.GRU (and their cells) say when given bad input or bad arguments.

Each fact checks the exception type and the stable part of the message. Where
PyTorch reworded a message or added a check, the fact knows each wording and
the release that uses it (`message_by_release`), so the same spec passes on
every supported release and goes red where a release departs from both.

Release boundaries, all at torch 2.11.0 (merged into pytorch/pytorch in
December 2025; checked by running torch 2.5.1, 2.6.0, 2.10.0, 2.11.0 and
2.15.0: 2.10.0 behaves like 2.5.1, 2.11.0 like 2.15.0):

- dtype mismatch between input and weights: ValueError "input must have the
  type torch.float32, got type torch.float64" up to 2.10, "RNN input dtype
  (torch.float64) does not match weight dtype (torch.float32). Convert input:
  ... or convert model: ..." from 2.11 (PR_RNN_DTYPE_MESSAGE, pull #166946).
- input_size must be an int > 0 from 2.11 (PR_RNN_INPUT_SIZE_CHECK, #166302):
  before, input_size=0 built a module and input_size=2.5 failed inside
  torch.empty() with a TypeError naming `empty()`.
- bias and batch_first must be bools from 2.11 (PR_RNN_ARGUMENT_TYPES,
  #166980): before, bias=1 and batch_first=1 were accepted at construction.

Unchanged over 2.5.1-2.15.0: the rank, feature-size, hidden-shape,
zero-length, nonlinearity, num_layers, hidden_size, proj_size and dropout
messages below.
"""

from __future__ import annotations

import pytest
import torch
from packaging.version import Version
from torch import nn

from rnnspec.sources import (
    DOCS_GRU,
    DOCS_LSTM,
    DOCS_RNN,
    DOCS_RNN_CELL,
    ISSUE_RNN_BOOL_SIZES,
    PR_RNN_ARGUMENT_TYPES,
    PR_RNN_DTYPE_MESSAGE,
    PR_RNN_INPUT_SIZE_CHECK,
)

TORCH_RELEASE = Version(
    torch.__version__
).release  # e.g. (2, 15, 0); local tags like +cu132 dropped


def released(release: str) -> bool:
    """Whether the installed torch is `release` or newer, compared as release tuples."""
    return Version(release).release <= TORCH_RELEASE


def message_by_release(wordings: dict[str, str]) -> str:
    """The message pattern in force for the installed torch.

    `wordings` maps the first release that used a wording to its regular
    expression; the newest release not after the installed one wins.
    """
    in_force = [r for r in wordings if released(r)]
    if not in_force:
        raise ValueError(f"no wording known for torch {torch.__version__}: {sorted(wordings)}")
    return wordings[max(in_force, key=lambda r: Version(r).release)]


MODULES = [
    pytest.param(nn.RNN, id="RNN"),
    pytest.param(nn.LSTM, id="LSTM"),
    pytest.param(nn.GRU, id="GRU"),
]
FEATURES, HIDDEN = 4, 6


def state_for(module_type: type[nn.RNNBase], h: torch.Tensor):
    """The hx argument: h for RNN and GRU, (h, c) with c shaped like h for LSTM."""
    return (h, torch.zeros_like(h)) if module_type is nn.LSTM else h


# ---------------------------------------------------------------- bad input to forward


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
def test_wrong_feature_size_raises_runtime_error(module_type):
    """Input whose last axis is not input_size raises RuntimeError ("input.size(-1) must be equal to
    input_size. Expected 4, got 5")."""
    module = module_type(FEATURES, HIDDEN)
    with pytest.raises(
        RuntimeError,
        match=r"input\.size\(-1\) must be equal to input_size\. "
        r"Expected 4, got 5",
    ):
        module(torch.randn(3, 2, 5))


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
@pytest.mark.parametrize(
    "shape", [pytest.param((FEATURES,), id="1-D"), pytest.param((3, 2, 1, FEATURES), id="4-D")]
)
def test_input_that_is_not_2d_or_3d_raises_value_error(module_type, shape):
    """Input of rank other than 2 (unbatched) or 3 (batched) raises ValueError naming the module
    ("RNN: Expected input to be 2D or 3D, got 1D ...", likewise "LSTM: ...", "GRU: ...")."""
    module = module_type(FEATURES, HIDDEN)
    pattern = rf"{module_type.__name__}: Expected input to be 2D or 3D, got {len(shape)}D"
    with pytest.raises(ValueError, match=pattern):
        module(torch.randn(*shape))


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("module_type", MODULES)
def test_batched_hidden_state_of_the_wrong_shape_raises_runtime_error(module_type):
    """A batched h_0 whose shape is not (D * num_layers, N, H_out) raises RuntimeError ("Expected
    hidden size (1, 2, 6), got [1, 3, 6]"; the LSTM says "hidden[0]" for h_0)."""
    module = module_type(FEATURES, HIDDEN)
    which = r"hidden\[0\]" if module_type is nn.LSTM else "hidden"
    with pytest.raises(RuntimeError, match=rf"Expected {which} size \(1, 2, 6\), got \[1, 3, 6\]"):
        module(torch.randn(3, 2, FEATURES), state_for(module_type, torch.zeros(1, 3, HIDDEN)))


@pytest.mark.fact(DOCS_LSTM)
def test_lstm_cell_state_of_the_wrong_shape_raises_runtime_error():
    """An LSTM c_0 of the wrong shape raises RuntimeError ("Expected hidden[1] size (1, 2, 6), got
    [1, 2, 7]"), h_0 being hidden[0] and c_0 hidden[1]."""
    lstm = nn.LSTM(FEATURES, HIDDEN)
    h_0, c_0 = torch.zeros(1, 2, HIDDEN), torch.zeros(1, 2, 7)
    with pytest.raises(
        RuntimeError, match=r"Expected hidden\[1\] size \(1, 2, 6\), got \[1, 2, 7\]"
    ):
        lstm(torch.randn(3, 2, FEATURES), (h_0, c_0))


@pytest.mark.fact(DOCS_GRU)
@pytest.mark.parametrize("module_type", MODULES)
def test_hidden_state_rank_must_match_the_input_rank(module_type):
    """Batched (3-D) input needs a 3-D h_0 and unbatched (2-D) input a 2-D h_0; otherwise
    RuntimeError ("For batched 3-D input, hx should also be 3-D but got 2-D tensor"; the LSTM
    says "hx and cx")."""
    module = module_type(FEATURES, HIDDEN)
    names = "hx and cx" if module_type is nn.LSTM else "hx"
    with pytest.raises(RuntimeError, match=rf"For batched 3-D input, {names} should also be 3-D"):
        module(torch.randn(3, 2, FEATURES), state_for(module_type, torch.zeros(2, HIDDEN)))
    with pytest.raises(RuntimeError, match=rf"For unbatched 2-D input, {names} should also be 2-D"):
        module(torch.randn(3, FEATURES), state_for(module_type, torch.zeros(1, 2, HIDDEN)))


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
def test_unbatched_hidden_state_of_the_wrong_shape_names_the_batched_shapes(module_type):
    """An unbatched h_0 of the wrong shape raises RuntimeError that reports both shapes with a batch
    axis of 1 inserted: h_0 (2, 6) for a 1-layer module gives "Expected hidden size (1, 1, 6), got
    [2, 1, 6]".

    The module unsqueezes unbatched input and state before checking, so the
    message never shows the (D * num_layers, H_out) shape the user passed.
    """
    module = module_type(FEATURES, HIDDEN)
    which = r"hidden\[0\]" if module_type is nn.LSTM else "hidden"
    with pytest.raises(RuntimeError, match=rf"Expected {which} size \(1, 1, 6\), got \[2, 1, 6\]"):
        module(torch.randn(3, FEATURES), state_for(module_type, torch.zeros(2, HIDDEN)))


DTYPE_MISMATCH = message_by_release(
    {
        "2.5": r"input must have the type torch\.float32, got type torch\.float64",
        "2.11": r"RNN input dtype \(torch\.float64\) does not match weight dtype \(torch\.float32\)"
        r"\. Convert input: input\.to\(torch\.float32\), or convert model: model\.to\(torch"
        r"\.float64\)",
    }
)


@pytest.mark.fact(PR_RNN_DTYPE_MESSAGE, since="2.11")
@pytest.mark.parametrize("module_type", MODULES)
def test_float64_input_to_a_float32_module_raises_value_error(module_type):
    """float64 input to a float32 module raises ValueError, worded from torch 2.11 "RNN input dtype
    (torch.float64) does not match weight dtype (torch.float32). Convert input: ..., or convert
    model: ..." and up to 2.10 "input must have the type torch.float32, got type torch.float64".

    Release boundary 2.11.0: pytorch/pytorch pull #166946 ("Improve RNN dtype
    mismatch error message"), checked on 2.10.0 (old wording) and 2.11.0 (new).
    Red if the input were silently cast, or the message changed again.
    """
    module = module_type(FEATURES, HIDDEN)
    with pytest.raises(ValueError, match=DTYPE_MISMATCH):
        module(torch.randn(3, 2, FEATURES, dtype=torch.float64))


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("module_type", MODULES)
def test_zero_length_sequence_raises_but_an_empty_batch_does_not(module_type):
    """A sequence of length 0 raises RuntimeError ("Expected sequence length to be larger than 0 in
    RNN"), while a batch of 0 sequences runs and returns empty tensors of the documented shapes."""
    module = module_type(FEATURES, HIDDEN)
    with pytest.raises(RuntimeError, match=r"Expected sequence length to be larger than 0 in RNN"):
        module(torch.randn(0, 2, FEATURES))
    output, state = module(torch.randn(3, 0, FEATURES))
    assert tuple(output.shape) == (3, 0, HIDDEN)
    h_n = state[0] if module_type is nn.LSTM else state
    assert tuple(h_n.shape) == (1, 0, HIDDEN)


# ---------------------------------------------------------------- bad constructor arguments

CONSTRUCTOR_ERRORS = [
    pytest.param(
        lambda: nn.RNN(FEATURES, HIDDEN, nonlinearity="sigmoid"),
        ValueError,
        r"Unknown nonlinearity 'sigmoid'\. Select from 'tanh' or 'relu'",
        id="RNN-nonlinearity-sigmoid",
    ),
    pytest.param(
        lambda: nn.RNN(FEATURES, HIDDEN, 1, "sigmoid"),  # nonlinearity is the 4th positional
        ValueError,
        r"Unknown nonlinearity 'sigmoid'",
        id="RNN-positional-nonlinearity-sigmoid",
    ),
    *[
        pytest.param(
            make,
            ValueError,
            r"num_layers must be greater than zero",
            id=f"{name}-num_layers-0",
        )
        for name, make in [
            ("RNN", lambda: nn.RNN(FEATURES, HIDDEN, num_layers=0)),
            ("LSTM", lambda: nn.LSTM(FEATURES, HIDDEN, num_layers=0)),
            ("GRU", lambda: nn.GRU(FEATURES, HIDDEN, num_layers=0)),
        ]
    ],
    *[
        pytest.param(make, ValueError, r"hidden_size must be greater than zero", id=name)
        for name, make in [
            ("RNN-hidden_size-0", lambda: nn.RNN(FEATURES, 0)),
            ("LSTM-hidden_size-0", lambda: nn.LSTM(FEATURES, 0)),
            ("GRU-hidden_size-negative", lambda: nn.GRU(FEATURES, -3)),
        ]
    ],
    *[
        pytest.param(make, TypeError, r"hidden_size should be of type int, got: float", id=name)
        for name, make in [
            ("RNN-hidden_size-2.5", lambda: nn.RNN(FEATURES, 2.5)),
            ("LSTM-hidden_size-2.5", lambda: nn.LSTM(FEATURES, 2.5)),
            ("GRU-hidden_size-6.0", lambda: nn.GRU(FEATURES, 6.0)),
        ]
    ],
    pytest.param(
        lambda: nn.LSTM(FEATURES, HIDDEN, num_layers=1.5),
        TypeError,
        r"'float' object cannot be interpreted as an integer",  # Python's range(), no own check
        id="LSTM-num_layers-1.5",
    ),
    pytest.param(
        lambda: nn.LSTM(FEATURES, HIDDEN, proj_size=HIDDEN),
        ValueError,
        r"proj_size has to be smaller than hidden_size",
        id="LSTM-proj_size-equal-to-hidden",
    ),
    pytest.param(
        lambda: nn.LSTM(FEATURES, HIDDEN, proj_size=HIDDEN + 2),
        ValueError,
        r"proj_size has to be smaller than hidden_size",
        id="LSTM-proj_size-above-hidden",
    ),
    pytest.param(
        lambda: nn.LSTM(FEATURES, HIDDEN, proj_size=-1),
        ValueError,
        r"proj_size should be a positive integer or zero to disable projections",
        id="LSTM-proj_size-negative",
    ),
    *[
        pytest.param(
            make,
            ValueError,
            r"proj_size argument is only supported for LSTM, not RNN or GRU",
            id=name,
        )
        for name, make in [
            ("RNN-proj_size-3", lambda: nn.RNN(FEATURES, HIDDEN, proj_size=3)),
            ("GRU-proj_size-3", lambda: nn.GRU(FEATURES, HIDDEN, proj_size=3)),
            ("GRU-proj_size-0", lambda: nn.GRU(FEATURES, HIDDEN, proj_size=0)),
        ]
    ],
]


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize(("make", "error", "pattern"), CONSTRUCTOR_ERRORS)
def test_invalid_constructor_arguments_raise(make, error, pattern):
    """Invalid constructor arguments raise at construction, each with its own message: an unknown
    nonlinearity, num_layers or hidden_size below 1, a float hidden_size, a dropout outside [0, 1],
    proj_size >= hidden_size or < 0, and any proj_size (even 0) given to nn.RNN or nn.GRU.

    Same type and message in torch 2.5.1 through 2.15.0. Red if a module were
    built from the bad value (and failed later, or silently misbehaved).
    """
    with pytest.raises(error, match=pattern):
        make()


INPUT_SIZE_FLOAT = message_by_release(
    {"2.5": r"empty\(\)", "2.11": r"input_size should be of type int, got: float"}
)


@pytest.mark.fact(PR_RNN_INPUT_SIZE_CHECK, since="2.11")
@pytest.mark.parametrize("module_type", MODULES)
def test_input_size_must_be_a_positive_int_from_2_11(module_type):
    """From torch 2.11 input_size=0 raises ValueError ("input_size must be greater than zero") and
    input_size=2.5 TypeError ("input_size should be of type int, got: float"); up to 2.10
    input_size=0 built a module and 2.5 failed inside torch.empty() with a TypeError.

    Release boundary 2.11.0: pytorch/pytorch pull #166302 ("Add input_size
    validation for RNN modules"), checked on 2.10.0 and 2.11.0.
    """
    with pytest.raises(TypeError, match=INPUT_SIZE_FLOAT):
        module_type(2.5, HIDDEN)
    if released("2.11"):
        with pytest.raises(ValueError, match=r"input_size must be greater than zero"):
            module_type(0, HIDDEN)
    else:
        assert module_type(0, HIDDEN).weight_ih_l0.shape[1] == 0


@pytest.mark.fact(PR_RNN_ARGUMENT_TYPES, since="2.11")
@pytest.mark.parametrize("module_type", MODULES)
@pytest.mark.parametrize("argument", ["bias", "batch_first"])
def test_bias_and_batch_first_must_be_bools_from_2_11(module_type, argument):
    """From torch 2.11 bias=1 or batch_first=1 raises TypeError ("bias should be of type bool, got:
    int", likewise for batch_first); up to 2.10 the int was accepted at construction.

    Release boundary 2.11.0: pytorch/pytorch pull #166980 ("Add type validation
    for RNN module parameters"), checked on 2.10.0 and 2.11.0.
    """
    if released("2.11"):
        with pytest.raises(TypeError, match=rf"{argument} should be of type bool, got: int"):
            module_type(FEATURES, HIDDEN, **{argument: 1})
    else:
        assert getattr(module_type(FEATURES, HIDDEN, **{argument: 1}), argument) == 1


@pytest.mark.fact(ISSUE_RNN_BOOL_SIZES)
def test_a_bool_hidden_size_slips_past_the_int_check():
    """hidden_size=True passes the int check (bool is a subclass of int): nn.LSTM and nn.GRU build a
    hidden size 1 layer, while nn.RNN fails later, inside torch.empty(), with a TypeError.

    Known limitation, pytorch/pytorch issue #105631; the same in torch 2.5.1
    through 2.15.0. Red, usefully, on the release that starts rejecting bools:
    update this fact then.
    """
    lstm, gru = nn.LSTM(FEATURES, True), nn.GRU(FEATURES, True)
    assert tuple(lstm.weight_hh_l0.shape) == (4, 1)
    assert tuple(gru.weight_hh_l0.shape) == (3, 1)
    output, _ = lstm(torch.randn(3, 2, FEATURES))
    assert tuple(output.shape) == (3, 2, 1)
    with pytest.raises(TypeError, match=r"empty\(\)"):
        nn.RNN(FEATURES, True)


# ---------------------------------------------------------------- the cells


@pytest.mark.fact(DOCS_RNN_CELL)
@pytest.mark.parametrize(
    "cell_type",
    [
        pytest.param(nn.RNNCell, id="RNNCell"),
        pytest.param(nn.LSTMCell, id="LSTMCell"),
        pytest.param(nn.GRUCell, id="GRUCell"),
    ],
)
def test_cells_check_rank_and_feature_size_but_not_dtype(cell_type):
    """The cells raise ValueError for input that is not 1-D or 2-D ("RNNCell: Expected input to be
    1D or 2D, got 3D instead") and RuntimeError for a wrong feature size ("input has inconsistent
    input_size: got 5 expected 4"); a dtype mismatch fails only in the matrix product (RuntimeError
    "... must have the same dtype ..."), without the modules' own message."""
    cell = cell_type(FEATURES, HIDDEN)
    name = cell_type.__name__
    with pytest.raises(ValueError, match=rf"{name}: Expected input to be 1D or 2D, got 3D"):
        cell(torch.randn(3, 2, FEATURES))
    with pytest.raises(RuntimeError, match=r"input has inconsistent input_size: got 5 expected 4"):
        cell(torch.randn(2, 5))
    with pytest.raises(RuntimeError, match=r"must have the same dtype"):
        cell(torch.randn(2, FEATURES, dtype=torch.float64))


@pytest.mark.fact(DOCS_RNN_CELL)
def test_rnn_cell_accepts_an_unknown_nonlinearity_until_forward():
    """nn.RNNCell(..., nonlinearity='sigmoid') constructs without complaint (unlike nn.RNN) and
    raises RuntimeError ("Unknown nonlinearity: sigmoid") only when called."""
    cell = nn.RNNCell(FEATURES, HIDDEN, nonlinearity="sigmoid")
    with pytest.raises(RuntimeError, match=r"Unknown nonlinearity: sigmoid"):
        cell(torch.randn(2, FEATURES))


@pytest.mark.fact(DOCS_RNN_CELL)
def test_cells_do_not_validate_their_sizes():
    """The cells validate no sizes: nn.GRUCell(4, 0) builds a cell with empty weights, and a float
    hidden_size fails only inside torch.empty() with a TypeError, not with the modules' "hidden_size
    should be of type int" message."""
    cell = nn.GRUCell(FEATURES, 0)
    assert tuple(cell.weight_hh.shape) == (0, 0)
    with pytest.raises(TypeError, match=r"empty\(\)"):
        nn.LSTMCell(FEATURES, 2.5)
