"""What nn.RNN, nn.LSTM and nn.GRU (and their cells) say when given bad input or bad arguments.

Each fact checks the exception type and the information its message must carry
(the sizes, shapes, dtypes and argument names: `rnnspec.testing.raises_carrying`),
never the words: every message is recorded as an observation, so a rewording
shows up in `rnnspec diff` as an undocumented change, not as a failure. Where
PyTorch changed the behaviour (another exception type, a new check), the fact is
version-gated: its mark declares the release (`since=`), its body reads that
boundary through the `from_release` fixture, so the same spec passes on every
supported release (2.0.1 to 2.15.0) and goes red where a release departs from
its side.

Release boundaries, each found by running the releases on both sides of it
(2.0.1, 2.1.2, 2.2.2, 2.3.1, 2.4.1, then 2.5.1 through 2.15.0):

- 2.1: input of the wrong rank raises ValueError, no longer AssertionError
  (PR_RNN_RANK_VALUE_ERROR, pull #105127), for the modules and the cells.
- 2.1: a dtype mismatch between input and weights raises ValueError naming
  both dtypes; before, the matrix product failed with a RuntimeError
  (PR_RNN_INPUT_DTYPE_CHECK, #100100).
- 2.1: hidden_size must be an int > 0 (PR_RNN_HIDDEN_SIZE_CHECK, #105659).
- 2.2: num_layers must be > 0; before, an IndexError (PR_RNN_NUM_LAYERS_CHECK,
  #108853).
- 2.11: the dtype message also names the conversion that fixes it, `.to(...)`
  (PR_RNN_DTYPE_MESSAGE, #166946); input_size must be an int > 0 (PR_RNN_INPUT_SIZE_CHECK, #166302);
  bias and batch_first must be bools (PR_RNN_ARGUMENT_TYPES, #166980).

Regressions PyTorch shipped that later releases no longer have (measured) are
known bugs (rnnspec.ledger),
each carried only by the module it affects: nn.LSTM without (h_0, c_0) skips
its feature-size and dtype checks on 2.1-2.2 (LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS,
pytorch/pytorch#114874); the CPU oneDNN LSTM of 2.0 accepts a zero-length
sequence (ONEDNN_LSTM_ACCEPTS_A_ZERO_LENGTH_SEQUENCE); nn.RNN's 4th positional
argument is bias, not nonlinearity, up to 2.2 (RNN_FOURTH_POSITIONAL_ARGUMENT_IS_BIAS,
#114617). A fact inside `known_bug.expected()` states the promise with plain
asserts, `rnnspec.testing.error_raised_by` and `assert_carries`, since the block
needs the broken promise as an AssertionError.

Unchanged over 2.0.1-2.15.0 (types and information; the words are recorded): the
hidden-shape, proj_size and num_layers=1.5 errors, the cells' feature-size error,
and the empty-batch behaviour.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn

from rnnspec.ledger import (
    LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS,
    ONEDNN_LSTM_ACCEPTS_A_ZERO_LENGTH_SEQUENCE,
    RNN_FOURTH_POSITIONAL_ARGUMENT_IS_BIAS,
)
from rnnspec.modules import CELLS, CLASSES, ModuleInfo, params, record
from rnnspec.sources import (
    DOCS_GRU,
    DOCS_LSTM,
    DOCS_RNN,
    DOCS_RNN_CELL,
    ISSUE_RNN_BOOL_SIZES,
    PR_RNN_ARGUMENT_TYPES,
    PR_RNN_DTYPE_MESSAGE,
    PR_RNN_HIDDEN_SIZE_CHECK,
    PR_RNN_INPUT_DTYPE_CHECK,
    PR_RNN_INPUT_SIZE_CHECK,
    PR_RNN_NUM_LAYERS_CHECK,
    PR_RNN_RANK_VALUE_ERROR,
)
from rnnspec.testing import assert_carries, error_raised_by, final_states, raises_carrying

MODULES = params(CLASSES, cite=False)  # nn.RNN, nn.LSTM, nn.GRU with their defaults
# nn.RNN and nn.GRU: the LSTM's own facts name the LSTM-only known bugs.
RNN_AND_GRU = params([info for info in CLASSES if not info.paired_state], cite=False)
LSTM = record("LSTM")
CELL_CLASSES = params([info for info in CELLS if not info.options], cite=False)
FEATURES, HIDDEN = 4, 6


def make(info: ModuleInfo) -> nn.Module:
    """The class's module with FEATURES input features and hidden size HIDDEN."""
    return info.build(info.settings(input_size=FEATURES, hidden_size=HIDDEN))


def state_for(info: ModuleInfo, h: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """The hx argument: h, or (h, c) with c shaped like h for a paired state."""
    return info.pack_state([h, torch.zeros_like(h)])


# ---------------------------------------------------------------- bad input to forward

# What the feature-size error carries: the argument it checks, the expected and the received
# number of features (input_size=4, input with 5).
FEATURE_SIZE = ("input_size", FEATURES, 5)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("info", RNN_AND_GRU)
def test_wrong_feature_size_raises_runtime_error(info, observe):
    """Input whose last axis is not input_size raises RuntimeError naming input_size, the expected
    size 4 and the received 5 (e.g. "input.size(-1) must be equal to input_size. Expected 4, got
    5"). (nn.LSTM: the next fact.)"""
    with raises_carrying(RuntimeError, *FEATURE_SIZE, observe=observe):
        make(info)(torch.randn(3, 2, 5))


@pytest.mark.fact(DOCS_LSTM, bug=LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS)
def test_lstm_checks_the_feature_size_with_or_without_a_state(known_bug, observe):
    """nn.LSTM raises RuntimeError naming input_size, the expected size 4 and the received 5 for
    input whose last axis is not input_size, whether (h_0, c_0) is given or omitted.

    Known bug on 2.1 and 2.2 (pytorch/pytorch#114874, fixed in 2.3 by #115542):
    without a state the check is skipped and the LSTM returns an output shaped as
    if the input were valid. 2.0 checked, as 2.3 and later do.
    """
    lstm = make(LSTM)
    x = torch.randn(3, 2, 5)
    with raises_carrying(RuntimeError, *FEATURE_SIZE, observe=observe, name="message_with_state"):
        lstm(x, state_for(LSTM, torch.zeros(1, 2, HIDDEN)))
    with known_bug.expected(match=r"returned an output"):
        error = error_raised_by(
            lambda: lstm(x),
            RuntimeError,
            lambda out: (
                f"nn.LSTM({FEATURES}, {HIDDEN}) without a state took input with 5 "
                f"features and returned an output of shape {tuple(out[0].shape)}"
            ),
        )
        observe("message", assert_carries(error, RuntimeError, *FEATURE_SIZE))


@pytest.mark.fact(PR_RNN_RANK_VALUE_ERROR, since="2.1")
@pytest.mark.parametrize(
    "shape", [pytest.param((FEATURES,), id="1-D"), pytest.param((3, 2, 1, FEATURES), id="4-D")]
)
@pytest.mark.parametrize("info", MODULES)
def test_input_that_is_not_2d_or_3d_raises_value_error(info, shape, from_release, observe):
    """Input of rank other than 2 (unbatched) or 3 (batched) raises ValueError naming the module
    (RNN, LSTM, GRU), the accepted ranks 2 and 3 and the received rank (e.g. "RNN: Expected input
    to be 2D or 3D, got 1D instead") from torch 2.1; 2.0 raised AssertionError with the same
    information.

    Release boundary 2.1: pytorch/pytorch pull #105127 ("Use ValueError for
    input.dim check in torch.nn.modules"), checked on 2.0.1 and 2.1.2.
    """
    error = ValueError if from_release("2.1") else AssertionError
    with raises_carrying(error, info.class_name, 2, 3, len(shape), observe=observe):
        make(info)(torch.randn(*shape))


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("info", MODULES)
def test_batched_hidden_state_of_the_wrong_shape_raises_runtime_error(info, observe):
    """A batched h_0 whose shape is not (D * num_layers, N, H_out) raises RuntimeError naming the
    expected shape (1, 2, 6) and the received (1, 3, 6) (e.g. "Expected hidden size (1, 2, 6),
    got [1, 3, 6]")."""
    with raises_carrying(RuntimeError, (1, 2, HIDDEN), (1, 3, HIDDEN), observe=observe):
        make(info)(torch.randn(3, 2, FEATURES), state_for(info, torch.zeros(1, 3, HIDDEN)))


@pytest.mark.fact(DOCS_LSTM)
def test_lstm_cell_state_of_the_wrong_shape_raises_runtime_error(observe):
    """An LSTM c_0 of the wrong shape raises RuntimeError naming the expected shape (1, 2, 6) and the
    received (1, 2, 7) (e.g. "Expected hidden[1] size (1, 2, 6), got [1, 2, 7]", c_0 being
    hidden[1])."""
    lstm = nn.LSTM(FEATURES, HIDDEN)
    h_0, c_0 = torch.zeros(1, 2, HIDDEN), torch.zeros(1, 2, 7)
    with raises_carrying(RuntimeError, (1, 2, HIDDEN), (1, 2, 7), observe=observe):
        lstm(torch.randn(3, 2, FEATURES), (h_0, c_0))


@pytest.mark.fact(DOCS_GRU)
@pytest.mark.parametrize("info", MODULES)
def test_hidden_state_rank_must_match_the_input_rank(info, observe):
    """Batched (3-D) input needs a 3-D h_0 and unbatched (2-D) input a 2-D h_0; otherwise
    RuntimeError naming the argument hx, the rank it needs and the rank it got (e.g. "For
    batched 3-D input, hx should also be 3-D but got 2-D tensor"; the LSTM says "hx and cx")."""
    module = make(info)
    with raises_carrying(RuntimeError, "hx", 3, 2, observe=observe, name="message_batched"):
        module(torch.randn(3, 2, FEATURES), state_for(info, torch.zeros(2, HIDDEN)))
    with raises_carrying(RuntimeError, "hx", 2, 3, observe=observe, name="message_unbatched"):
        module(torch.randn(3, FEATURES), state_for(info, torch.zeros(1, 2, HIDDEN)))


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("info", MODULES)
def test_unbatched_hidden_state_of_the_wrong_shape_names_the_batched_shapes(info, observe):
    """An unbatched h_0 of the wrong shape raises RuntimeError that reports both shapes with a batch
    axis of 1 inserted: h_0 (2, 6) for a 1-layer module gives the expected (1, 1, 6) and the
    received (2, 1, 6) (e.g. "Expected hidden size (1, 1, 6), got [2, 1, 6]").

    The module unsqueezes unbatched input and state before checking, so the
    message never shows the (D * num_layers, H_out) shape the user passed.
    """
    with raises_carrying(RuntimeError, (1, 1, HIDDEN), (2, 1, HIDDEN), observe=observe):
        make(info)(torch.randn(3, FEATURES), state_for(info, torch.zeros(2, HIDDEN)))


# The module's own dtype check (from 2.1) names the input's and the weights' dtypes. Before
# 2.1 no module checked the dtype: the matrix product of input and weights failed, with a
# RuntimeError about the dtypes ("mat1 and mat2 must have the same dtype").
BOTH_DTYPES = (torch.float64, torch.float32)


@pytest.mark.fact(PR_RNN_INPUT_DTYPE_CHECK, since="2.1")
@pytest.mark.parametrize("info", RNN_AND_GRU)
def test_float64_input_to_a_float32_module_raises_value_error(info, from_release, observe):
    """float64 input to a float32 module raises ValueError naming both dtypes from torch 2.1; 2.0
    checked no dtype and failed in the matrix product (a RuntimeError about the dtypes, "mat1 and
    mat2 must have the same dtype"). (nn.LSTM: the next fact.)

    Release boundary 2.1: pytorch/pytorch pull #100100 ("Added Typechecking to
    input tensor in RNN"), checked on 2.0.1 and 2.1.2. Red if the input were
    silently cast. The wording: the fact after next.
    """
    x = torch.randn(3, 2, FEATURES, dtype=torch.float64)
    if from_release("2.1"):
        error, carried = ValueError, BOTH_DTYPES
    else:
        error, carried = RuntimeError, ("dtype",)
    with raises_carrying(error, *carried) as raised:
        make(info)(x)
    # The exception type is this fact's; its wording (reworded in 2.11) is the next-but-one's.
    observe("error", type(raised.value).__name__)


@pytest.mark.fact(PR_RNN_INPUT_DTYPE_CHECK, since="2.1", bug=LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS)
def test_float64_input_to_a_float32_lstm_raises_value_error(known_bug, from_release, observe):
    """float64 input to a float32 nn.LSTM without (h_0, c_0) raises ValueError naming both dtypes
    from torch 2.1, as nn.RNN and nn.GRU do; 2.0 failed in the matrix product (a RuntimeError
    about the dtypes).

    Known bug on 2.1 and 2.2 (pytorch/pytorch#114874, fixed in 2.3 by #115542):
    without a state the LSTM skips the check and the matrix product fails.
    """
    x = torch.randn(3, 2, FEATURES, dtype=torch.float64)
    if not from_release("2.1"):
        with raises_carrying(RuntimeError, "dtype") as raised:
            make(LSTM)(x)
        observe("error", type(raised.value).__name__)
        return
    with known_bug.expected(match=r"RuntimeError, not ValueError"):
        error = error_raised_by(
            lambda: make(LSTM)(x),
            (RuntimeError, ValueError),
            "float64 input to a float32 nn.LSTM ran and an output",
        )
        assert_carries(error, ValueError, *BOTH_DTYPES)
        observe("error", type(error).__name__)


@pytest.mark.fact(PR_RNN_DTYPE_MESSAGE, since=("2.1", "2.11"))
@pytest.mark.parametrize("info", MODULES)
def test_dtype_mismatch_message_suggests_both_conversions_from_2_11(info, from_release, observe):
    """From torch 2.11 the dtype-mismatch ValueError also names the conversion that fixes it,
    `.to(...)` (e.g. "RNN input dtype (torch.float64) does not match weight dtype
    (torch.float32). Convert input: input.to(torch.float32), or convert model:
    model.to(torch.float64)"); from 2.1 up to 2.10 it named the two dtypes only ("input must
    have the type torch.float32, got type torch.float64").

    Release boundary 2.11.0: pytorch/pytorch pull #166946 ("Improve RNN dtype
    mismatch error message"), checked on 2.10.0 (old wording) and 2.11.0 (new).
    Before 2.1 there is no such message (boundary 2.1, pull #100100: the previous facts).
    The words are recorded.
    """
    if not from_release("2.1"):
        pytest.skip("no dtype ValueError before torch 2.1 (pytorch/pytorch pull #100100)")
    if info.paired_state and LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS.holds_here():
        pytest.skip(
            "nn.LSTM without a state raises no dtype ValueError on this release: known bug "
            f"{LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS.number}"
        )
    conversion = (".to(",) if from_release("2.11") else ()
    with raises_carrying(ValueError, *BOTH_DTYPES, *conversion, observe=observe):
        make(info)(torch.randn(3, 2, FEATURES, dtype=torch.float64))


# What the zero-length error carries: the length it refuses.
ZERO_LENGTH = (0,)


def assert_empty_batch_runs(info: ModuleInfo, module: nn.Module) -> None:
    """A batch of 0 sequences returns empty tensors of the documented shapes."""
    __tracebackhide__ = True
    config = info.settings(input_size=FEATURES, hidden_size=HIDDEN, seq_len=3, batch=0)
    output, state = module(torch.randn(3, 0, FEATURES))
    assert tuple(output.shape) == info.output_shape(config)
    assert tuple(tuple(s.shape) for s in final_states(state)) == info.state_shapes(config)


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("info", RNN_AND_GRU)
def test_zero_length_sequence_raises_but_an_empty_batch_does_not(info, observe):
    """A sequence of length 0 raises RuntimeError naming the length 0 (e.g. "Expected sequence
    length to be larger than 0 in RNN"), while a batch of 0 sequences runs and returns empty
    tensors of the documented shapes. (nn.LSTM: the next fact.)"""
    module = make(info)
    with raises_carrying(RuntimeError, *ZERO_LENGTH, observe=observe):
        module(torch.randn(0, 2, FEATURES))
    assert_empty_batch_runs(info, module)


@pytest.mark.fact(DOCS_LSTM, bug=ONEDNN_LSTM_ACCEPTS_A_ZERO_LENGTH_SEQUENCE)
def test_lstm_zero_length_sequence_raises_but_an_empty_batch_does_not(known_bug, observe):
    """nn.LSTM, like nn.RNN and nn.GRU, raises RuntimeError naming the length 0 for a sequence of
    length 0, and runs a batch of 0 sequences.

    Known bug on 2.0: the CPU float32 LSTM, which 2.0 runs through oneDNN
    (pytorch/pytorch pull #91158, the cause; no thread reports the bug or names the
    2.1 change that ended it), skips the check and returns an empty output.
    """
    lstm = make(LSTM)
    assert_empty_batch_runs(LSTM, lstm)
    with known_bug.expected(match=r"returned an output"):
        error = error_raised_by(
            lambda: lstm(torch.randn(0, 2, FEATURES)),
            RuntimeError,
            lambda out: f"a sequence of length 0 returned an output of shape {tuple(out[0].shape)}",
        )
        observe("message", assert_carries(error, RuntimeError, *ZERO_LENGTH))


# ---------------------------------------------------------------- bad constructor arguments

PROJECTING = {info.cls for info in CLASSES if info.paired_state}  # proj_size is an LSTM argument


def constructor_errors() -> list:
    """(make, error type, what the message carries) per invalid construction whose error is the
    same on every supported release, for every class it applies to."""
    cases = [
        pytest.param(
            partial(nn.RNN, FEATURES, HIDDEN, nonlinearity="sigmoid"),
            ValueError,
            # 2.1 appended ". Select from 'tanh' or 'relu'." (recorded)
            ("nonlinearity", "sigmoid"),
            id="RNN-nonlinearity-sigmoid",
        ),
    ]
    for info in CLASSES:
        name, cls = info.name, info.cls
        cases.append(
            pytest.param(
                partial(cls, FEATURES, HIDDEN, num_layers=1.5),
                TypeError,
                (
                    "float",
                ),  # Python's range(): "'float' object cannot be interpreted as an integer"
                id=f"{name}-num_layers-1.5",
            )
        )
        if cls in PROJECTING:
            for proj_size, label, carried in (
                (HIDDEN, "equal-to-hidden", ("proj_size", "hidden_size")),
                (HIDDEN + 2, "above-hidden", ("proj_size", "hidden_size")),
                (-1, "negative", ("proj_size",)),
            ):
                cases.append(
                    pytest.param(
                        partial(cls, FEATURES, HIDDEN, proj_size=proj_size),
                        ValueError,
                        carried,
                        id=f"{name}-proj_size-{label}",
                    )
                )
        else:
            for proj_size in (3, 0):
                cases.append(
                    pytest.param(
                        partial(cls, FEATURES, HIDDEN, proj_size=proj_size),
                        ValueError,
                        ("proj_size", "LSTM"),  # "... only supported for LSTM, not RNN or GRU"
                        id=f"{name}-proj_size-{proj_size}",
                    )
                )
    return cases


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize(("make", "error", "carried"), constructor_errors())
def test_invalid_constructor_arguments_raise(make, error, carried, observe):
    """Invalid constructor arguments raise at construction, each naming what is wrong: an unknown
    nonlinearity ('sigmoid'), a float num_layers (float), proj_size >= hidden_size or < 0
    (proj_size), and any proj_size (even 0) given to nn.RNN or nn.GRU (proj_size, LSTM).

    Same type and information in torch 2.0.1 through 2.15.0 (the words are
    recorded; 2.0 words the nonlinearity error without "Select from 'tanh' or
    'relu'"). Red if a module were built from the bad value (and failed later,
    or silently misbehaved).
    num_layers and hidden_size below 1 or float: the version-gated facts below;
    out-of-range dropout: specs/pytorch/test_dropout.py.
    """
    with raises_carrying(error, *carried, observe=observe):
        make()


@pytest.mark.fact(DOCS_RNN, bug=RNN_FOURTH_POSITIONAL_ARGUMENT_IS_BIAS)
def test_rnn_takes_nonlinearity_as_its_fourth_positional_argument(known_bug, observe):
    """nn.RNN's documented signature puts nonlinearity 4th, after num_layers: nn.RNN(4, 6, 1,
    "relu") is a ReLU RNN, and nn.RNN(4, 6, 1, "sigmoid") raises ValueError ("Unknown
    nonlinearity 'sigmoid'", naming the argument and the value) at construction.

    Known bug up to 2.2 (pytorch/pytorch#114617, still open upstream; pull #120234,
    which says it fixes it, is in 2.3, measured): the 4th positional argument went
    to bias, so "sigmoid" built a tanh RNN that failed only at its first forward.
    """
    with known_bug.expected(match=r"built a module with nonlinearity 'tanh'"):
        relu = nn.RNN(FEATURES, HIDDEN, 1, "relu")
        built = f"built a module with nonlinearity {relu.nonlinearity!r} and bias {relu.bias!r}"
        assert relu.nonlinearity == "relu", f"nn.RNN({FEATURES}, {HIDDEN}, 1, 'relu') {built}"
        assert relu.bias is True, f"nn.RNN({FEATURES}, {HIDDEN}, 1, 'relu') {built}"
        error = error_raised_by(
            lambda: nn.RNN(FEATURES, HIDDEN, 1, "sigmoid"),
            ValueError,
            lambda rnn: (
                f"nn.RNN({FEATURES}, {HIDDEN}, 1, 'sigmoid') built a module with "
                f"nonlinearity {rnn.nonlinearity!r} and bias {rnn.bias!r}"
            ),
        )
        observe("message", assert_carries(error, ValueError, "nonlinearity", "sigmoid"))


@pytest.mark.fact(PR_RNN_NUM_LAYERS_CHECK, since="2.2")
@pytest.mark.parametrize("info", MODULES)
def test_zero_layers_raise_value_error_from_2_2(info, from_release, observe):
    """num_layers=0 raises ValueError naming num_layers (e.g. "num_layers must be greater than
    zero") from torch 2.2; before, the constructor failed with Python's IndexError ("list index
    out of range").

    Release boundary 2.2: pytorch/pytorch pull #108853 ("Add checks to
    num_layers for RNN, LSTM, GRU"), checked on 2.1.2 and 2.2.2.
    """
    error, carried = (ValueError, ("num_layers",)) if from_release("2.2") else (IndexError, ())
    with raises_carrying(error, *carried, observe=observe):
        info.cls(FEATURES, HIDDEN, num_layers=0)


@pytest.mark.fact(PR_RNN_HIDDEN_SIZE_CHECK, since="2.1")
@pytest.mark.parametrize("size", [0, -3, 2.5, 6.0], ids=["0", "negative", "2.5", "6.0"])
@pytest.mark.parametrize("info", MODULES)
def test_hidden_size_must_be_a_positive_int_from_2_1(info, size, from_release, observe):
    """From torch 2.1 hidden_size below 1 raises ValueError naming hidden_size (e.g. "hidden_size
    must be greater than zero") and a float one TypeError naming hidden_size, int and float
    ("hidden_size should be of type int, got: float"); 2.0 misreported the first as "proj_size
    has to be smaller than hidden_size" (ValueError naming proj_size) and failed on the second
    inside torch.empty() (TypeError naming empty).

    Release boundary 2.1: pytorch/pytorch pull #105659 ("Rnn base hidden size
    type check"), checked on 2.0.1 and 2.1.2.
    """
    new = from_release("2.1")
    if isinstance(size, float):
        error, carried = TypeError, ("hidden_size", "int", "float") if new else ("empty",)
    else:
        error, carried = ValueError, ("hidden_size",) if new else ("proj_size",)
    with raises_carrying(error, *carried, observe=observe):
        info.cls(FEATURES, size)


@pytest.mark.fact(PR_RNN_INPUT_SIZE_CHECK, since="2.11")
@pytest.mark.parametrize("info", MODULES)
def test_input_size_must_be_a_positive_int_from_2_11(info, from_release, observe):
    """From torch 2.11 input_size=0 raises ValueError naming input_size (e.g. "input_size must be
    greater than zero") and input_size=2.5 TypeError naming input_size, int and float
    ("input_size should be of type int, got: float"); up to 2.10 input_size=0 built a module and
    2.5 failed inside torch.empty() with a TypeError naming empty.

    Release boundary 2.11.0: pytorch/pytorch pull #166302 ("Add input_size
    validation for RNN modules"), checked on 2.10.0 and 2.11.0.
    """
    new = from_release("2.11")
    carried = ("input_size", "int", "float") if new else ("empty",)
    with raises_carrying(TypeError, *carried, observe=observe, name="message_float"):
        info.cls(2.5, HIDDEN)
    if new:
        with raises_carrying(ValueError, "input_size", observe=observe, name="message_zero"):
            info.cls(0, HIDDEN)
    else:
        assert info.cls(0, HIDDEN).weight_ih_l0.shape[1] == 0


@pytest.mark.fact(PR_RNN_ARGUMENT_TYPES, since="2.11")
@pytest.mark.parametrize("argument", ["bias", "batch_first"])
@pytest.mark.parametrize("info", MODULES)
def test_bias_and_batch_first_must_be_bools_from_2_11(info, argument, from_release, observe):
    """From torch 2.11 bias=1 or batch_first=1 raises TypeError naming the argument, bool and int
    (e.g. "bias should be of type bool, got: int"); up to 2.10 the int was accepted at
    construction.

    Release boundary 2.11.0: pytorch/pytorch pull #166980 ("Add type validation
    for RNN module parameters"), checked on 2.10.0 and 2.11.0.
    """
    if from_release("2.11"):
        with raises_carrying(TypeError, argument, "bool", "int", observe=observe):
            info.cls(FEATURES, HIDDEN, **{argument: 1})
    else:
        assert getattr(info.cls(FEATURES, HIDDEN, **{argument: 1}), argument) == 1


@pytest.mark.fact(ISSUE_RNN_BOOL_SIZES)
def test_a_bool_hidden_size_slips_past_the_int_check():
    """hidden_size=True passes the int check (bool is a subclass of int): nn.LSTM and nn.GRU build a
    hidden size 1 layer, while nn.RNN fails later, inside torch.empty(), with a TypeError naming
    empty.

    Known limitation, pytorch/pytorch issue #136937 (open: nn.RNN's TypeError from
    torch.empty()); the earlier #105631 reported the same bool for nn.LSTM and was
    closed by pull #105659, whose isinstance(hidden_size, int) check lets bools
    through. The same in torch 2.0.1 through 2.15.0 (measured). Red, usefully, on
    the release that starts rejecting bools: update this fact then.
    """
    lstm, gru = nn.LSTM(FEATURES, True), nn.GRU(FEATURES, True)
    assert tuple(lstm.weight_hh_l0.shape) == (4, 1)
    assert tuple(gru.weight_hh_l0.shape) == (3, 1)
    output, _ = lstm(torch.randn(3, 2, FEATURES))
    assert tuple(output.shape) == (3, 2, 1)
    with raises_carrying(TypeError, "empty"):
        nn.RNN(FEATURES, True)


# ---------------------------------------------------------------- the cells


@pytest.mark.fact(PR_RNN_RANK_VALUE_ERROR, since="2.1")
@pytest.mark.parametrize("info", CELL_CLASSES)
def test_cell_input_that_is_not_1d_or_2d_raises_value_error(info, from_release, observe):
    """The cells raise ValueError for input that is not 1-D or 2-D, naming the cell, the accepted
    ranks 1 and 2 and the received 3 (e.g. "RNNCell: Expected input to be 1D or 2D, got 3D
    instead") from torch 2.1; 2.0 raised AssertionError with the same information.

    Release boundary 2.1: pytorch/pytorch pull #105127, as for the modules;
    checked on 2.0.1 and 2.1.2.
    """
    error = ValueError if from_release("2.1") else AssertionError
    with raises_carrying(error, info.class_name, 1, 2, 3, observe=observe):
        make(info)(torch.randn(3, 2, FEATURES))


@pytest.mark.fact(DOCS_RNN_CELL)
@pytest.mark.parametrize("info", CELL_CLASSES)
def test_cells_check_feature_size_but_not_dtype(info, observe):
    """The cells raise RuntimeError naming input_size, the received size 5 and the expected 4 for a
    wrong feature size (e.g. "input has inconsistent input_size: got 5 expected 4"); a dtype
    mismatch fails only in the matrix product, with a RuntimeError about the dtypes ("mat1 and
    mat2 must have the same dtype"), not the modules' ValueError."""
    cell = make(info)
    with raises_carrying(RuntimeError, *FEATURE_SIZE, observe=observe, name="message_size"):
        cell(torch.randn(2, 5))
    with raises_carrying(RuntimeError, "dtype", observe=observe, name="message_dtype"):
        cell(torch.randn(2, FEATURES, dtype=torch.float64))


@pytest.mark.fact(DOCS_RNN_CELL)
def test_rnn_cell_accepts_an_unknown_nonlinearity_until_forward(observe):
    """nn.RNNCell(..., nonlinearity='sigmoid') constructs without complaint (unlike nn.RNN) and
    raises RuntimeError naming the nonlinearity sigmoid (e.g. "Unknown nonlinearity: sigmoid")
    only when called."""
    cell = nn.RNNCell(FEATURES, HIDDEN, nonlinearity="sigmoid")
    with raises_carrying(RuntimeError, "nonlinearity", "sigmoid", observe=observe):
        cell(torch.randn(2, FEATURES))


@pytest.mark.fact(DOCS_RNN_CELL)
def test_cells_do_not_validate_their_sizes():
    """The cells validate no sizes: nn.GRUCell(4, 0) builds a cell with empty weights, and a float
    hidden_size fails only inside torch.empty() with a TypeError naming empty, not with the
    modules' check of hidden_size."""
    cell = nn.GRUCell(FEATURES, 0)
    assert tuple(cell.weight_hh.shape) == (0, 0)
    with raises_carrying(TypeError, "empty"):
        nn.LSTMCell(FEATURES, 2.5)
