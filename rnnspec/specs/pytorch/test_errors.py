"""What nn.RNN, nn.LSTM and nn.GRU (and their cells) say when given bad input or bad arguments.

Each fact checks the exception type and the stable part of the message. Where
PyTorch reworded a message or added a check, the fact is version-gated
(`since=`): it knows the behaviour on each side of the release boundary
(`torch_at_least`), so the same spec passes on every supported release (2.0.1
to 2.15.0) and goes red where a release departs from its side. Every message
is recorded as an observation, so a rewording shows up in `rnnspec diff`.

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
- 2.11: the dtype message suggests both conversions (PR_RNN_DTYPE_MESSAGE,
  #166946); input_size must be an int > 0 (PR_RNN_INPUT_SIZE_CHECK, #166302);
  bias and batch_first must be bools (PR_RNN_ARGUMENT_TYPES, #166980).

Regressions PyTorch shipped that later releases no longer have (measured) are
known bugs (rnnspec.ledger),
each carried only by the module it affects: nn.LSTM without (h_0, c_0) skips
its feature-size and dtype checks on 2.1-2.2 (LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS,
pytorch/pytorch#114874); the CPU oneDNN LSTM of 2.0 accepts a zero-length
sequence (ONEDNN_LSTM_ACCEPTS_A_ZERO_LENGTH_SEQUENCE); nn.RNN's 4th positional
argument is bias, not nonlinearity, up to 2.2 (RNN_FOURTH_POSITIONAL_ARGUMENT_IS_BIAS,
#114617). A fact inside `known_bug.expected()` states the promise with plain
asserts and `rnnspec.testing.error_raised_by`, since the block needs the broken
promise as an AssertionError (`pytest.raises` fails with its own exception type).

Unchanged over 2.0.1-2.15.0: the hidden-shape, proj_size and num_layers=1.5
messages, the cells' feature-size message, and the empty-batch behaviour.
"""

from __future__ import annotations

import re
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
from rnnspec.releases import torch_at_least
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
from rnnspec.testing import error_raised_by, final_states

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


def hidden_name(info: ModuleInfo) -> str:
    """How the messages name h_0: "hidden", or "hidden[0]" where the state is (h, c)."""
    return r"hidden\[0\]" if info.paired_state else "hidden"


# ---------------------------------------------------------------- bad input to forward


FEATURE_SIZE = r"input\.size\(-1\) must be equal to input_size"


def assert_names_sizes(message: str, expected: int, received: int) -> None:
    """The feature-size message names the expected and the received number of features."""
    __tracebackhide__ = True
    assert re.search(rf"\b{expected}\b", message), f"no expected size {expected}: {message}"
    assert re.search(rf"\b{received}\b", message), f"no received size {received}: {message}"


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("info", RNN_AND_GRU)
def test_wrong_feature_size_raises_runtime_error(info, observe):
    """Input whose last axis is not input_size raises RuntimeError ("input.size(-1) must be equal to
    input_size. Expected 4, got 5"): expected and received sizes. (nn.LSTM: the next fact.)"""
    with pytest.raises(RuntimeError, match=FEATURE_SIZE) as e:
        make(info)(torch.randn(3, 2, 5))
    assert_names_sizes(str(e.value), FEATURES, 5)
    observe("message", str(e.value))


@pytest.mark.fact(DOCS_LSTM, bug=LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS)
def test_lstm_checks_the_feature_size_with_or_without_a_state(known_bug, observe):
    """nn.LSTM raises RuntimeError for input whose last axis is not input_size ("input.size(-1) must
    be equal to input_size. Expected 4, got 5") whether (h_0, c_0) is given or omitted.

    Known bug on 2.1 and 2.2 (pytorch/pytorch#114874, fixed in 2.3 by #115542):
    without a state the check is skipped and the LSTM returns an output shaped as
    if the input were valid. 2.0 checked, as 2.3 and later do.
    """
    lstm = make(LSTM)
    x = torch.randn(3, 2, 5)
    with pytest.raises(RuntimeError, match=FEATURE_SIZE) as e:
        lstm(x, state_for(LSTM, torch.zeros(1, 2, HIDDEN)))
    assert_names_sizes(str(e.value), FEATURES, 5)
    observe("message_with_state", str(e.value))
    with known_bug.expected(match=r"returned an output"):
        message = str(
            error_raised_by(
                lambda: lstm(x),
                RuntimeError,
                lambda out: (
                    f"nn.LSTM({FEATURES}, {HIDDEN}) without a state took input with 5 "
                    f"features and returned an output of shape {tuple(out[0].shape)}"
                ),
            )
        )
        assert re.search(FEATURE_SIZE, message), f"another RuntimeError: {message}"
        assert_names_sizes(message, FEATURES, 5)
        observe("message", message)


@pytest.mark.fact(PR_RNN_RANK_VALUE_ERROR, since="2.1")
@pytest.mark.parametrize(
    "shape", [pytest.param((FEATURES,), id="1-D"), pytest.param((3, 2, 1, FEATURES), id="4-D")]
)
@pytest.mark.parametrize("info", MODULES)
def test_input_that_is_not_2d_or_3d_raises_value_error(info, shape, observe):
    """Input of rank other than 2 (unbatched) or 3 (batched) raises ValueError naming the module
    ("RNN: Expected input to be 2D or 3D, got 1D ...", likewise "LSTM: ...", "GRU: ...") from
    torch 2.1; 2.0 raised AssertionError ("RNN: Expected input to be 2-D or 3-D but received 1-D
    tensor").

    Release boundary 2.1: pytorch/pytorch pull #105127 ("Use ValueError for
    input.dim check in torch.nn.modules"), checked on 2.0.1 and 2.1.2.
    """
    rank = len(shape)
    if torch_at_least("2.1"):
        error = ValueError
        pattern = rf"{info.class_name}: Expected input to be 2D or 3D, got {rank}D"
    else:
        error = AssertionError
        pattern = rf"{info.class_name}: Expected input to be 2-D or 3-D but received {rank}-D"
    with pytest.raises(error, match=pattern) as e:
        make(info)(torch.randn(*shape))
    observe("message", str(e.value))


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("info", MODULES)
def test_batched_hidden_state_of_the_wrong_shape_raises_runtime_error(info, observe):
    """A batched h_0 whose shape is not (D * num_layers, N, H_out) raises RuntimeError ("Expected
    hidden size (1, 2, 6), got [1, 3, 6]"; the LSTM says "hidden[0]" for h_0)."""
    pattern = rf"Expected {hidden_name(info)} size \(1, 2, 6\), got \[1, 3, 6\]"
    with pytest.raises(RuntimeError, match=pattern) as e:
        make(info)(torch.randn(3, 2, FEATURES), state_for(info, torch.zeros(1, 3, HIDDEN)))
    observe("message", str(e.value))


@pytest.mark.fact(DOCS_LSTM)
def test_lstm_cell_state_of_the_wrong_shape_raises_runtime_error(observe):
    """An LSTM c_0 of the wrong shape raises RuntimeError ("Expected hidden[1] size (1, 2, 6), got
    [1, 2, 7]"), h_0 being hidden[0] and c_0 hidden[1]."""
    lstm = nn.LSTM(FEATURES, HIDDEN)
    h_0, c_0 = torch.zeros(1, 2, HIDDEN), torch.zeros(1, 2, 7)
    pattern = r"Expected hidden\[1\] size \(1, 2, 6\), got \[1, 2, 7\]"
    with pytest.raises(RuntimeError, match=pattern) as e:
        lstm(torch.randn(3, 2, FEATURES), (h_0, c_0))
    observe("message", str(e.value))


@pytest.mark.fact(DOCS_GRU)
@pytest.mark.parametrize("info", MODULES)
def test_hidden_state_rank_must_match_the_input_rank(info, observe):
    """Batched (3-D) input needs a 3-D h_0 and unbatched (2-D) input a 2-D h_0; otherwise
    RuntimeError ("For batched 3-D input, hx should also be 3-D but got 2-D tensor"; the LSTM
    says "hx and cx")."""
    module = make(info)
    names = "hx and cx" if info.paired_state else "hx"
    with pytest.raises(
        RuntimeError, match=rf"For batched 3-D input, {names} should also be 3-D"
    ) as e:
        module(torch.randn(3, 2, FEATURES), state_for(info, torch.zeros(2, HIDDEN)))
    observe("message_batched", str(e.value))
    with pytest.raises(
        RuntimeError, match=rf"For unbatched 2-D input, {names} should also be 2-D"
    ) as e:
        module(torch.randn(3, FEATURES), state_for(info, torch.zeros(1, 2, HIDDEN)))
    observe("message_unbatched", str(e.value))


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("info", MODULES)
def test_unbatched_hidden_state_of_the_wrong_shape_names_the_batched_shapes(info, observe):
    """An unbatched h_0 of the wrong shape raises RuntimeError that reports both shapes with a batch
    axis of 1 inserted: h_0 (2, 6) for a 1-layer module gives "Expected hidden size (1, 1, 6), got
    [2, 1, 6]".

    The module unsqueezes unbatched input and state before checking, so the
    message never shows the (D * num_layers, H_out) shape the user passed.
    """
    pattern = rf"Expected {hidden_name(info)} size \(1, 1, 6\), got \[2, 1, 6\]"
    with pytest.raises(RuntimeError, match=pattern) as e:
        make(info)(torch.randn(3, FEATURES), state_for(info, torch.zeros(2, HIDDEN)))
    observe("message", str(e.value))


# Before 2.1 no module checked the dtype: the matrix product of input and weights failed.
DTYPE_MISMATCH_IN_MATMUL = r"mat1 and mat2 must have the same dtype"
# Release boundary 2.11.0 (pytorch/pytorch pull #166946), checked on 2.10.0 and 2.11.0.
DTYPE_MISMATCH_FROM_2_11 = (
    r"RNN input dtype \(torch\.float64\) does not match weight dtype \(torch\.float32\)"
    r"\. Convert input: input\.to\(torch\.float32\), or convert model: model\.to\(torch"
    r"\.float64\)"
)
DTYPE_MISMATCH_BEFORE_2_11 = r"input must have the type torch\.float32, got type torch\.float64"


def assert_names_both_dtypes(error: Exception) -> None:
    """A dtype error from the module itself: a ValueError naming torch.float64 and torch.float32."""
    __tracebackhide__ = True
    assert isinstance(error, ValueError), f"{type(error).__name__}, not ValueError: {error}"
    for dtype in ("torch.float64", "torch.float32"):
        assert dtype in str(error), f"the message does not name {dtype}: {error}"


@pytest.mark.fact(PR_RNN_INPUT_DTYPE_CHECK, since="2.1")
@pytest.mark.parametrize("info", RNN_AND_GRU)
def test_float64_input_to_a_float32_module_raises_value_error(info, observe):
    """float64 input to a float32 module raises ValueError naming both dtypes from torch 2.1; 2.0
    checked no dtype and failed in the matrix product (RuntimeError "mat1 and mat2 must have the
    same dtype"). (nn.LSTM: the next fact.)

    Release boundary 2.1: pytorch/pytorch pull #100100 ("Added Typechecking to
    input tensor in RNN"), checked on 2.0.1 and 2.1.2. Red if the input were
    silently cast. The wording: the fact after next.
    """
    x = torch.randn(3, 2, FEATURES, dtype=torch.float64)
    if torch_at_least("2.1"):
        with pytest.raises(ValueError) as e:
            make(info)(x)
        assert_names_both_dtypes(e.value)
    else:
        with pytest.raises(RuntimeError, match=DTYPE_MISMATCH_IN_MATMUL) as e:
            make(info)(x)
    # The exception type is this fact's; its wording (reworded in 2.11) is the next-but-one's.
    observe("error", type(e.value).__name__)


@pytest.mark.fact(PR_RNN_INPUT_DTYPE_CHECK, since="2.1", bug=LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS)
def test_float64_input_to_a_float32_lstm_raises_value_error(known_bug, observe):
    """float64 input to a float32 nn.LSTM without (h_0, c_0) raises ValueError naming both dtypes
    from torch 2.1, as nn.RNN and nn.GRU do; 2.0 failed in the matrix product (RuntimeError "mat1
    and mat2 must have the same dtype").

    Known bug on 2.1 and 2.2 (pytorch/pytorch#114874, fixed in 2.3 by #115542):
    without a state the LSTM skips the check and the matrix product fails.
    """
    x = torch.randn(3, 2, FEATURES, dtype=torch.float64)
    if not torch_at_least("2.1"):
        with pytest.raises(RuntimeError, match=DTYPE_MISMATCH_IN_MATMUL) as e:
            make(LSTM)(x)
        observe("error", type(e.value).__name__)
        return
    with known_bug.expected(match=r"RuntimeError, not ValueError"):
        raised = error_raised_by(
            lambda: make(LSTM)(x),
            (RuntimeError, ValueError),
            "float64 input to a float32 nn.LSTM ran and an output",
        )
        assert_names_both_dtypes(raised)
        observe("error", type(raised).__name__)


@pytest.mark.fact(PR_RNN_DTYPE_MESSAGE, since="2.11")
@pytest.mark.parametrize("info", MODULES)
def test_dtype_mismatch_message_suggests_both_conversions_from_2_11(info, observe):
    """The dtype-mismatch ValueError is worded from torch 2.11 "RNN input dtype (torch.float64) does
    not match weight dtype (torch.float32). Convert input: ..., or convert model: ..." and from 2.1
    up to 2.10 "input must have the type torch.float32, got type torch.float64".

    Release boundary 2.11.0: pytorch/pytorch pull #166946 ("Improve RNN dtype
    mismatch error message"), checked on 2.10.0 (old wording) and 2.11.0 (new).
    Before 2.1 there is no such message to word (previous facts).
    """
    if not torch_at_least("2.1"):
        pytest.skip("no dtype ValueError before torch 2.1 (pytorch/pytorch pull #100100)")
    if info.paired_state and LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS.holds_here():
        pytest.skip(
            "nn.LSTM without a state raises no dtype ValueError on this release: known bug "
            f"{LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS.number}"
        )
    pattern = DTYPE_MISMATCH_FROM_2_11 if torch_at_least("2.11") else DTYPE_MISMATCH_BEFORE_2_11
    with pytest.raises(ValueError, match=pattern) as e:
        make(info)(torch.randn(3, 2, FEATURES, dtype=torch.float64))
    observe("message", str(e.value))


ZERO_LENGTH = r"Expected sequence length to be larger than 0 in RNN"


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
    """A sequence of length 0 raises RuntimeError ("Expected sequence length to be larger than 0 in
    RNN"), while a batch of 0 sequences runs and returns empty tensors of the documented shapes.
    (nn.LSTM: the next fact.)"""
    module = make(info)
    with pytest.raises(RuntimeError, match=ZERO_LENGTH) as e:
        module(torch.randn(0, 2, FEATURES))
    observe("message", str(e.value))
    assert_empty_batch_runs(info, module)


@pytest.mark.fact(DOCS_LSTM, bug=ONEDNN_LSTM_ACCEPTS_A_ZERO_LENGTH_SEQUENCE)
def test_lstm_zero_length_sequence_raises_but_an_empty_batch_does_not(known_bug, observe):
    """nn.LSTM, like nn.RNN and nn.GRU, raises RuntimeError for a sequence of length 0 ("Expected
    sequence length to be larger than 0 in RNN") and runs a batch of 0 sequences.

    Known bug on 2.0: the CPU float32 LSTM, which 2.0 runs through oneDNN
    (pytorch/pytorch pull #91158, the cause; no thread reports the bug or names the
    2.1 change that ended it), skips the check and returns an empty output.
    """
    lstm = make(LSTM)
    assert_empty_batch_runs(LSTM, lstm)
    with known_bug.expected(match=r"returned an output"):
        message = str(
            error_raised_by(
                lambda: lstm(torch.randn(0, 2, FEATURES)),
                RuntimeError,
                lambda out: (
                    f"a sequence of length 0 returned an output of shape {tuple(out[0].shape)}"
                ),
            )
        )
        assert re.search(ZERO_LENGTH, message), f"another RuntimeError: {message}"
        observe("message", message)


# ---------------------------------------------------------------- bad constructor arguments

PROJECTING = {info.cls for info in CLASSES if info.paired_state}  # proj_size is an LSTM argument


def constructor_errors() -> list:
    """(make, error type, message pattern) per invalid construction whose error is the same on
    every supported release, for every class it applies to."""
    cases = [
        pytest.param(
            partial(nn.RNN, FEATURES, HIDDEN, nonlinearity="sigmoid"),
            ValueError,
            # 2.1 appended ". Select from 'tanh' or 'relu'." (recorded); this part is in all
            r"Unknown nonlinearity 'sigmoid'",
            id="RNN-nonlinearity-sigmoid",
        ),
    ]
    for info in CLASSES:
        name, cls = info.name, info.cls
        cases.append(
            pytest.param(
                partial(cls, FEATURES, HIDDEN, num_layers=1.5),
                TypeError,
                r"'float' object cannot be interpreted as an integer",  # Python's range()
                id=f"{name}-num_layers-1.5",
            )
        )
        if cls in PROJECTING:
            for proj_size, label, pattern in (
                (HIDDEN, "equal-to-hidden", r"proj_size has to be smaller than hidden_size"),
                (HIDDEN + 2, "above-hidden", r"proj_size has to be smaller than hidden_size"),
                (-1, "negative", r"proj_size should be a positive integer or zero to disable"),
            ):
                cases.append(
                    pytest.param(
                        partial(cls, FEATURES, HIDDEN, proj_size=proj_size),
                        ValueError,
                        pattern,
                        id=f"{name}-proj_size-{label}",
                    )
                )
        else:
            for proj_size in (3, 0):
                cases.append(
                    pytest.param(
                        partial(cls, FEATURES, HIDDEN, proj_size=proj_size),
                        ValueError,
                        r"proj_size argument is only supported for LSTM, not RNN or GRU",
                        id=f"{name}-proj_size-{proj_size}",
                    )
                )
    return cases


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize(("make", "error", "pattern"), constructor_errors())
def test_invalid_constructor_arguments_raise(make, error, pattern, observe):
    """Invalid constructor arguments raise at construction, each with its own message: an unknown
    nonlinearity, a float num_layers, proj_size >= hidden_size or < 0, and any proj_size (even 0)
    given to nn.RNN or nn.GRU.

    Same type and message in torch 2.0.1 through 2.15.0 (recorded; 2.0 words the
    nonlinearity error without "Select from 'tanh' or 'relu'"). Red if a module
    were built from the bad value (and failed later, or silently misbehaved).
    num_layers and hidden_size below 1 or float: the version-gated facts below;
    out-of-range dropout: specs/pytorch/test_dropout.py.
    """
    with pytest.raises(error, match=pattern) as e:
        make()
    observe("message", str(e.value))


@pytest.mark.fact(DOCS_RNN, bug=RNN_FOURTH_POSITIONAL_ARGUMENT_IS_BIAS)
def test_rnn_takes_nonlinearity_as_its_fourth_positional_argument(known_bug, observe):
    """nn.RNN's documented signature puts nonlinearity 4th, after num_layers: nn.RNN(4, 6, 1,
    "relu") is a ReLU RNN, and nn.RNN(4, 6, 1, "sigmoid") raises ValueError ("Unknown
    nonlinearity 'sigmoid'") at construction.

    Known bug up to 2.2 (pytorch/pytorch#114617, still open upstream; pull #120234,
    which says it fixes it, is in 2.3, measured): the 4th positional argument went
    to bias, so "sigmoid" built a tanh RNN that failed only at its first forward.
    """
    with known_bug.expected(match=r"built a module with nonlinearity 'tanh'"):
        relu = nn.RNN(FEATURES, HIDDEN, 1, "relu")
        built = f"built a module with nonlinearity {relu.nonlinearity!r} and bias {relu.bias!r}"
        assert relu.nonlinearity == "relu", f"nn.RNN({FEATURES}, {HIDDEN}, 1, 'relu') {built}"
        assert relu.bias is True, f"nn.RNN({FEATURES}, {HIDDEN}, 1, 'relu') {built}"
        message = str(
            error_raised_by(
                lambda: nn.RNN(FEATURES, HIDDEN, 1, "sigmoid"),
                ValueError,
                lambda rnn: (
                    f"nn.RNN({FEATURES}, {HIDDEN}, 1, 'sigmoid') built a module with "
                    f"nonlinearity {rnn.nonlinearity!r} and bias {rnn.bias!r}"
                ),
            )
        )
        assert re.search(r"Unknown nonlinearity 'sigmoid'", message), message
        observe("message", message)


@pytest.mark.fact(PR_RNN_NUM_LAYERS_CHECK, since="2.2")
@pytest.mark.parametrize("info", MODULES)
def test_zero_layers_raise_value_error_from_2_2(info, observe):
    """num_layers=0 raises ValueError ("num_layers must be greater than zero") from torch 2.2;
    before, the constructor failed with Python's IndexError ("list index out of range").

    Release boundary 2.2: pytorch/pytorch pull #108853 ("Add checks to
    num_layers for RNN, LSTM, GRU"), checked on 2.1.2 and 2.2.2.
    """
    if torch_at_least("2.2"):
        error, pattern = ValueError, r"num_layers must be greater than zero"
    else:
        error, pattern = IndexError, r"list index out of range"
    with pytest.raises(error, match=pattern) as e:
        info.cls(FEATURES, HIDDEN, num_layers=0)
    observe("message", str(e.value))


@pytest.mark.fact(PR_RNN_HIDDEN_SIZE_CHECK, since="2.1")
@pytest.mark.parametrize("size", [0, -3, 2.5, 6.0], ids=["0", "negative", "2.5", "6.0"])
@pytest.mark.parametrize("info", MODULES)
def test_hidden_size_must_be_a_positive_int_from_2_1(info, size, observe):
    """From torch 2.1 hidden_size below 1 raises ValueError ("hidden_size must be greater than
    zero") and a float one TypeError ("hidden_size should be of type int, got: float"); 2.0
    misreported the first as "proj_size has to be smaller than hidden_size" (ValueError) and
    failed on the second inside torch.empty() (TypeError).

    Release boundary 2.1: pytorch/pytorch pull #105659 ("Rnn base hidden size
    type check"), checked on 2.0.1 and 2.1.2.
    """
    new = torch_at_least("2.1")
    if isinstance(size, float):
        error = TypeError
        pattern = r"hidden_size should be of type int, got: float" if new else r"empty\(\)"
    else:
        error = ValueError
        pattern = (
            r"hidden_size must be greater than zero"
            if new
            else r"proj_size has to be smaller than hidden_size"
        )
    with pytest.raises(error, match=pattern) as e:
        info.cls(FEATURES, size)
    observe("message", str(e.value))


@pytest.mark.fact(PR_RNN_INPUT_SIZE_CHECK, since="2.11")
@pytest.mark.parametrize("info", MODULES)
def test_input_size_must_be_a_positive_int_from_2_11(info, observe):
    """From torch 2.11 input_size=0 raises ValueError ("input_size must be greater than zero") and
    input_size=2.5 TypeError ("input_size should be of type int, got: float"); up to 2.10
    input_size=0 built a module and 2.5 failed inside torch.empty() with a TypeError.

    Release boundary 2.11.0: pytorch/pytorch pull #166302 ("Add input_size
    validation for RNN modules"), checked on 2.10.0 and 2.11.0.
    """
    new = torch_at_least("2.11")
    float_pattern = r"input_size should be of type int, got: float" if new else r"empty\(\)"
    with pytest.raises(TypeError, match=float_pattern) as e:
        info.cls(2.5, HIDDEN)
    observe("message_float", str(e.value))
    if new:
        with pytest.raises(ValueError, match=r"input_size must be greater than zero") as e:
            info.cls(0, HIDDEN)
        observe("message_zero", str(e.value))
    else:
        assert info.cls(0, HIDDEN).weight_ih_l0.shape[1] == 0


@pytest.mark.fact(PR_RNN_ARGUMENT_TYPES, since="2.11")
@pytest.mark.parametrize("argument", ["bias", "batch_first"])
@pytest.mark.parametrize("info", MODULES)
def test_bias_and_batch_first_must_be_bools_from_2_11(info, argument, observe):
    """From torch 2.11 bias=1 or batch_first=1 raises TypeError ("bias should be of type bool, got:
    int", likewise for batch_first); up to 2.10 the int was accepted at construction.

    Release boundary 2.11.0: pytorch/pytorch pull #166980 ("Add type validation
    for RNN module parameters"), checked on 2.10.0 and 2.11.0.
    """
    if torch_at_least("2.11"):
        with pytest.raises(TypeError, match=rf"{argument} should be of type bool, got: int") as e:
            info.cls(FEATURES, HIDDEN, **{argument: 1})
        observe("message", str(e.value))
    else:
        assert getattr(info.cls(FEATURES, HIDDEN, **{argument: 1}), argument) == 1


@pytest.mark.fact(ISSUE_RNN_BOOL_SIZES)
def test_a_bool_hidden_size_slips_past_the_int_check():
    """hidden_size=True passes the int check (bool is a subclass of int): nn.LSTM and nn.GRU build a
    hidden size 1 layer, while nn.RNN fails later, inside torch.empty(), with a TypeError.

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
    with pytest.raises(TypeError, match=r"empty\(\)"):
        nn.RNN(FEATURES, True)


# ---------------------------------------------------------------- the cells


@pytest.mark.fact(PR_RNN_RANK_VALUE_ERROR, since="2.1")
@pytest.mark.parametrize("info", CELL_CLASSES)
def test_cell_input_that_is_not_1d_or_2d_raises_value_error(info, observe):
    """The cells raise ValueError for input that is not 1-D or 2-D ("RNNCell: Expected input to be
    1D or 2D, got 3D instead") from torch 2.1; 2.0 raised AssertionError ("RNNCell: Expected input
    to be 1-D or 2-D but received 3-D tensor").

    Release boundary 2.1: pytorch/pytorch pull #105127, as for the modules;
    checked on 2.0.1 and 2.1.2.
    """
    if torch_at_least("2.1"):
        error, pattern = ValueError, rf"{info.class_name}: Expected input to be 1D or 2D, got 3D"
    else:
        error = AssertionError
        pattern = rf"{info.class_name}: Expected input to be 1-D or 2-D but received 3-D"
    with pytest.raises(error, match=pattern) as e:
        make(info)(torch.randn(3, 2, FEATURES))
    observe("message", str(e.value))


@pytest.mark.fact(DOCS_RNN_CELL)
@pytest.mark.parametrize("info", CELL_CLASSES)
def test_cells_check_feature_size_but_not_dtype(info, observe):
    """The cells raise RuntimeError for a wrong feature size ("input has inconsistent input_size:
    got 5 expected 4"); a dtype mismatch fails only in the matrix product (RuntimeError "... must
    have the same dtype ..."), without the modules' own message."""
    cell = make(info)
    with pytest.raises(
        RuntimeError, match=r"input has inconsistent input_size: got 5 expected 4"
    ) as e:
        cell(torch.randn(2, 5))
    observe("message_size", str(e.value))
    with pytest.raises(RuntimeError, match=r"must have the same dtype") as e:
        cell(torch.randn(2, FEATURES, dtype=torch.float64))
    observe("message_dtype", str(e.value))


@pytest.mark.fact(DOCS_RNN_CELL)
def test_rnn_cell_accepts_an_unknown_nonlinearity_until_forward(observe):
    """nn.RNNCell(..., nonlinearity='sigmoid') constructs without complaint (unlike nn.RNN) and
    raises RuntimeError ("Unknown nonlinearity: sigmoid") only when called."""
    cell = nn.RNNCell(FEATURES, HIDDEN, nonlinearity="sigmoid")
    with pytest.raises(RuntimeError, match=r"Unknown nonlinearity: sigmoid") as e:
        cell(torch.randn(2, FEATURES))
    observe("message", str(e.value))


@pytest.mark.fact(DOCS_RNN_CELL)
def test_cells_do_not_validate_their_sizes():
    """The cells validate no sizes: nn.GRUCell(4, 0) builds a cell with empty weights, and a float
    hidden_size fails only inside torch.empty() with a TypeError, not with the modules' "hidden_size
    should be of type int" message."""
    cell = nn.GRUCell(FEATURES, 0)
    assert tuple(cell.weight_hh.shape) == (0, 0)
    with pytest.raises(TypeError, match=r"empty\(\)"):
        nn.LSTMCell(FEATURES, 2.5)
