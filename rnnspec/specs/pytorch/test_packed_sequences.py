"""Packed sequences: a padded batch of variable-length sequences, run as if each were alone.

`pack_padded_sequence` (DOCS_PACK) takes a padded batch (T, B, *) and the
length of each sequence; a recurrent module fed the PackedSequence reads each
sequence only up to its length, and `pad_packed_sequence` (DOCS_PAD_PACKED)
turns the packed output back into a padded tensor, filling the positions past
each length with `padding_value` and padding to `total_length` when given.

The facts compare the packed run with each sequence run alone through the same
module (batch of one, no padding), so they hold whatever the kernel does, and
the padding in the input is filled with large values so that reading it would
show. The errors checked (their types and what their messages name; the words
are recorded) are the same in torch 2.0.1, 2.1.2, 2.2.2, 2.3.1, 2.4.1, 2.5.1,
2.6.0, 2.10.0, 2.11.0 and 2.15.0.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnspec.ledger import LSTM_PACKED_INPUT_SKIPS_INPUT_CHECKS
from rnnspec.modules import LAYERS, ModuleInfo, grid_params, params
from rnnspec.sources import (
    DOCS_GRU,
    DOCS_LSTM,
    DOCS_PACK,
    DOCS_PAD_PACKED,
    PR_RNN_INPUT_DTYPE_CHECK,
)
from rnnspec.testing import (
    assert_carries,
    cuda_copy,
    error_raised_by,
    final_states,
    raises_carrying,
)

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")

MODULES = params(LAYERS, cite=False)
DIRECTIONS = grid_params(bidirectional=(False, True))
FEATURES, HIDDEN = 3, 4
SORTED_LENGTHS = [5, 3, 2]  # decreasing, as enforce_sorted=True requires
UNSORTED_LENGTHS = [2, 5, 3]
PADDING_IN_INPUT = 1e3  # what sits past each length in x; reading it would change every state


def padded_batch(lengths: list[int], device: torch.device | str = "cpu", batch_first=False):
    """x (T, B, F), or (B, T, F), with random steps and PADDING_IN_INPUT after each length."""
    x = torch.randn(max(lengths), len(lengths), FEATURES, device=device)  # (T, B, F)
    for b, length in enumerate(lengths):
        x[length:, b] = PADDING_IN_INPUT
    return x.transpose(0, 1).contiguous() if batch_first else x


def make(info: ModuleInfo, direction: dict, **extra: object) -> nn.Module:
    """The entry's 2-layer module reading FEATURES features, hidden size HIDDEN."""
    config = info.settings(input_size=FEATURES, hidden_size=HIDDEN, num_layers=2, **direction)
    return info.build(config, **extra)


def alone(module: nn.RNNBase, x: torch.Tensor, b: int, length: int):
    """Sequence b of the sequence-first batch x run alone: output (length, D*H), final states."""
    output, state = module(x[:length, b : b + 1])  # batch of one, no padding
    return output[:, 0], tuple(s[:, 0] for s in final_states(state))


def assert_each_sequence_ran_alone(module, x, lengths, output, state) -> None:
    """For each sequence b of x: output within its length and the final states equal those of b
    run alone, and the output past its length is 0 (pad_packed_sequence's padding_value)."""
    for b, length in enumerate(lengths):
        expected_output, expected_states = alone(module, x, b, length)
        torch.testing.assert_close(output[:length, b], expected_output)
        assert (output[length:, b] == 0).all()
        for stacked, expected in zip(final_states(state), expected_states, strict=True):
            torch.testing.assert_close(stacked[:, b], expected)


@pytest.mark.fact(DOCS_PACK)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("info", MODULES)
def test_packed_run_equals_each_sequence_run_alone(info, direction):
    """For every sequence of a packed batch, the padded output within its length and its final
    states (h_n, and c_n for the LSTM) equal those of the sequence run alone; past its length the
    output is 0, pad_packed_sequence's default padding_value.

    For a bidirectional layer this means the reverse direction starts at each
    sequence's own last step, not at the padded end. Red if the padding were
    read (the 1e3 values would change every state), if h_n held the state at
    the padded end, or if pad_packed_sequence left garbage past the lengths.
    """
    module = make(info, direction)
    x = padded_batch(SORTED_LENGTHS)
    packed_output, state = module(pack_padded_sequence(x, SORTED_LENGTHS))
    assert isinstance(packed_output, PackedSequence)
    output, lengths = pad_packed_sequence(packed_output)  # (T, B, D * H), (B,)

    assert lengths.tolist() == SORTED_LENGTHS
    assert_each_sequence_ran_alone(module, x, SORTED_LENGTHS, output, state)


@pytest.mark.fact(DOCS_PAD_PACKED)
def test_padding_value_fills_the_positions_past_each_length():
    """pad_packed_sequence(..., padding_value=v) puts v at every position past a sequence's length
    and leaves the positions within it unchanged."""
    gru = nn.GRU(FEATURES, HIDDEN)
    packed_output, _ = gru(pack_padded_sequence(padded_batch(SORTED_LENGTHS), SORTED_LENGTHS))
    zeros_padded, _ = pad_packed_sequence(packed_output)
    value_padded, _ = pad_packed_sequence(packed_output, padding_value=-7.5)
    for b, length in enumerate(SORTED_LENGTHS):
        assert (value_padded[length:, b] == -7.5).all()
        torch.testing.assert_close(value_padded[:length, b], zeros_padded[:length, b])


@pytest.mark.fact(DOCS_PACK)
def test_unsorted_lengths_raise_unless_enforce_sorted_is_false(observe):
    """Lengths not in decreasing order raise RuntimeError naming lengths and enforce_sorted (e.g.
    "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True") with the
    default enforce_sorted=True."""
    x = padded_batch(UNSORTED_LENGTHS)
    with raises_carrying(RuntimeError, "lengths", "enforce_sorted", observe=observe):
        pack_padded_sequence(x, UNSORTED_LENGTHS)
    pack_padded_sequence(x, UNSORTED_LENGTHS, enforce_sorted=False)  # no error


@pytest.mark.fact(DOCS_PAD_PACKED)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("info", MODULES)
def test_enforce_sorted_false_returns_everything_in_the_original_order(info, direction):
    """With enforce_sorted=False the padded output, the returned lengths and the final states come
    back in the batch's original order: sequence b's results equal sequence b run alone.

    Red if the results stayed in the sorted order (sequence 0, of length 2,
    would get the results of the length-5 sequence), or if only the output but
    not h_n / c_n were put back in order.
    """
    module = make(info, direction)
    x = padded_batch(UNSORTED_LENGTHS)
    packed = pack_padded_sequence(x, UNSORTED_LENGTHS, enforce_sorted=False)
    packed_output, state = module(packed)
    output, lengths = pad_packed_sequence(packed_output)
    assert lengths.tolist() == UNSORTED_LENGTHS
    assert_each_sequence_ran_alone(module, x, UNSORTED_LENGTHS, output, state)


@pytest.mark.fact(DOCS_PAD_PACKED)
@pytest.mark.parametrize("batch_first", [False, True], ids=["sequence-first", "batch-first"])
def test_total_length_pads_the_output_to_that_length(batch_first):
    """pad_packed_sequence(..., total_length=7) returns 7 time steps when the longest sequence has
    5; the 2 extra steps are padding_value for every sequence, and the first 5 are unchanged."""
    lstm = nn.LSTM(FEATURES, HIDDEN, batch_first=batch_first)
    x = padded_batch(SORTED_LENGTHS, batch_first=batch_first)
    packed = pack_padded_sequence(x, SORTED_LENGTHS, batch_first=batch_first)
    packed_output, _ = lstm(packed)
    natural, _ = pad_packed_sequence(packed_output, batch_first=batch_first)
    padded, lengths = pad_packed_sequence(
        packed_output, batch_first=batch_first, padding_value=-1.0, total_length=7
    )
    time_axis = 1 if batch_first else 0
    assert padded.shape[time_axis] == 7
    assert natural.shape[time_axis] == 5
    assert lengths.tolist() == SORTED_LENGTHS
    extra = padded.narrow(time_axis, 5, 2)
    assert (extra == -1.0).all()
    for b, length in enumerate(SORTED_LENGTHS):
        steps = padded[b] if batch_first else padded[:, b]  # (7, H)
        natural_steps = natural[b] if batch_first else natural[:, b]  # (5, H)
        torch.testing.assert_close(steps[:length], natural_steps[:length])


@pytest.mark.fact(DOCS_PAD_PACKED)
def test_total_length_below_the_longest_sequence_raises_value_error(observe):
    """A total_length shorter than the longest sequence raises ValueError naming total_length, the
    given 4 and the longest length 5 (e.g. "Expected total_length to be at least the length of
    the longest sequence in input, but got total_length=4 and max sequence length being 5")."""
    packed = pack_padded_sequence(padded_batch(SORTED_LENGTHS), SORTED_LENGTHS)
    with raises_carrying(ValueError, "total_length", 4, 5, observe=observe):
        pad_packed_sequence(packed, total_length=4)
    assert pad_packed_sequence(packed, total_length=5)[0].shape[0] == 5  # equal is fine


@pytest.mark.fact(DOCS_PACK)
@pytest.mark.parametrize(
    "lengths",
    [
        pytest.param([5, 3, 2], id="list"),
        pytest.param((5, 3, 2), id="tuple"),
        pytest.param(torch.tensor([5, 3, 2]), id="cpu-int64-tensor"),
        pytest.param(torch.tensor([5, 3, 2], dtype=torch.int32), id="cpu-int32-tensor"),
    ],
)
def test_lengths_may_be_a_list_or_a_cpu_tensor(lengths):
    """lengths may be a Python list (or tuple) of ints or a CPU integer tensor: each gives the same
    packed data and the same batch_sizes, a CPU int64 tensor counting the sequences still running
    at each step ([3, 3, 2, 1, 1] for lengths [5, 3, 2])."""
    x = padded_batch(SORTED_LENGTHS)
    packed = pack_padded_sequence(x, lengths)
    reference = pack_padded_sequence(x, SORTED_LENGTHS)
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1, 1]
    assert packed.batch_sizes.dtype == torch.int64
    assert packed.batch_sizes.device.type == "cpu"
    torch.testing.assert_close(packed.data, reference.data, rtol=0, atol=0)  # a copy, no math


@pytest.mark.fact(DOCS_PACK)
def test_packed_data_holds_the_steps_time_major_without_padding():
    """The packed data stacks, step after step, the entries of the sequences still running at that
    step, in batch order: for lengths [5, 3, 2] it has 5 + 3 + 2 = 10 rows and no padding."""
    x = padded_batch(SORTED_LENGTHS)
    packed = pack_padded_sequence(x, SORTED_LENGTHS)
    expected = torch.cat([x[t, :running] for t, running in enumerate([3, 3, 2, 1, 1])])
    assert packed.data.shape == (sum(SORTED_LENGTHS), FEATURES)
    assert (packed.data != PADDING_IN_INPUT).all()
    torch.testing.assert_close(packed.data, expected, rtol=0, atol=0)


@pytest.mark.fact(DOCS_PACK)
def test_a_zero_length_sequence_raises_runtime_error(observe):
    """A sequence of length 0 in `lengths` raises RuntimeError naming lengths and the bound 0 (e.g.
    "Length of all samples has to be greater than 0, but found an element in 'lengths' that is
    <= 0")."""
    with raises_carrying(RuntimeError, "lengths", 0, observe=observe):
        pack_padded_sequence(padded_batch(SORTED_LENGTHS), [5, 3, 0])


# ---------------------------------------------------------------- bad packed input
# nn.RNN and nn.GRU check a packed input as they check a padded one; nn.LSTM has skipped the
# checks for packed input since 2.1 (LSTM_PACKED_INPUT_SKIPS_INPUT_CHECKS), so its cases are
# facts of their own that name the bug.

RNN_AND_GRU = params([info for info in LAYERS if not info.paired_state])  # cite each page
LSTMS = params([info for info in LAYERS if info.paired_state], cite=False)
WRONG_FEATURES = 5  # the modules read FEATURES (3)
# What the feature-size error carries: the argument, the expected and the received sizes.
FEATURE_SIZE = ("input_size", FEATURES, WRONG_FEATURES)
# The module's dtype check (from 2.1) names both dtypes. Before 2.1 no module checked the
# dtype: the matrix product of input and weights failed, with a RuntimeError about the dtypes.
BOTH_DTYPES = (torch.float64, torch.float32)


def packed(features: int, dtype: torch.dtype = torch.float32) -> PackedSequence:
    """A packed batch of SORTED_LENGTHS sequences with `features` features per step."""
    return pack_padded_sequence(
        torch.randn(max(SORTED_LENGTHS), len(SORTED_LENGTHS), features, dtype=dtype),
        SORTED_LENGTHS,
    )


def error_of(module: nn.Module, x: PackedSequence) -> BaseException:
    """What module(x) raises; an AssertionError where it runs."""
    return error_raised_by(
        lambda: module(x),
        (RuntimeError, ValueError),
        f"{type(module).__name__} ran a packed input it should refuse; its output",
    )


@pytest.mark.parametrize("info", RNN_AND_GRU)
def test_packed_input_of_the_wrong_feature_size_raises_naming_both_sizes(info, observe):
    """A packed input whose feature size is not input_size raises RuntimeError naming input_size,
    the expected size 3 and the received 5 (e.g. "input.size(-1) must be equal to input_size.
    Expected 3, got 5"), as a padded one does. (nn.LSTM: the next fact.)"""
    error = error_of(make(info, {}), packed(WRONG_FEATURES))
    observe("message", assert_carries(error, RuntimeError, *FEATURE_SIZE))


@pytest.mark.fact(DOCS_LSTM, bug=LSTM_PACKED_INPUT_SKIPS_INPUT_CHECKS)
@pytest.mark.parametrize("info", LSTMS)
def test_lstm_packed_input_of_the_wrong_feature_size_raises_naming_both_sizes(
    info, known_bug, observe
):
    """nn.LSTM (with and without proj_size) given a packed input whose feature size is not
    input_size raises RuntimeError naming input_size, the expected size 3 and the received 5, as
    nn.RNN and nn.GRU do.

    Known bug from 2.1 (pytorch/pytorch#195803): for packed input the LSTM skips its
    checks and the matrix product fails ("mat1 and mat2 shapes cannot be multiplied"), a
    RuntimeError that does not name input_size. 2.0 checked.
    """
    error = error_of(make(info, {}), packed(WRONG_FEATURES))
    with known_bug.expected(match=r"does not carry input_size"):
        observe("message", assert_carries(error, RuntimeError, *FEATURE_SIZE))


# The ValueError's wording changed in 2.11 (pytorch/pytorch pull #166946), so the recorded
# message changes there too: a second documented boundary.
@pytest.mark.fact(PR_RNN_INPUT_DTYPE_CHECK, since=("2.1", "2.11"))
@pytest.mark.parametrize("info", RNN_AND_GRU)
def test_float64_packed_input_to_a_float32_module_raises_value_error(info, from_release, observe):
    """A float64 packed input to a float32 module raises ValueError naming both dtypes from torch
    2.1, as a padded one does (reworded in 2.11 by pull #166946); 2.0 checked no dtype and failed
    in the matrix product (a RuntimeError about the dtypes, "mat1 and mat2 must have the same
    dtype"). (nn.LSTM: the next fact.)"""
    error = error_of(make(info, {}), packed(FEATURES, torch.float64))
    if from_release("2.1"):
        observe("message", assert_carries(error, ValueError, *BOTH_DTYPES))
    else:
        observe("message", assert_carries(error, RuntimeError, "dtype"))


@pytest.mark.fact(PR_RNN_INPUT_DTYPE_CHECK, since="2.1", bug=LSTM_PACKED_INPUT_SKIPS_INPUT_CHECKS)
@pytest.mark.parametrize("info", LSTMS)
def test_float64_packed_input_to_a_float32_lstm_raises_value_error(
    info, known_bug, from_release, observe
):
    """A float64 packed input to a float32 nn.LSTM (with and without proj_size) raises ValueError
    naming both dtypes from torch 2.1, as nn.RNN and nn.GRU do; 2.0 checked no dtype and failed
    in the matrix product (a RuntimeError about the dtypes).

    Known bug from 2.1 (pytorch/pytorch#195803): for packed input the LSTM skips the
    check and the matrix product fails.
    """
    error = error_of(make(info, {}), packed(FEATURES, torch.float64))
    if not from_release("2.1"):
        observe("message", assert_carries(error, RuntimeError, "dtype"))
        return
    with known_bug.expected(match=r"RuntimeError, not ValueError"):
        observe("message", assert_carries(error, ValueError, *BOTH_DTYPES))


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.gpu
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("info", MODULES)
def test_cuda_packed_run_matches_cpu(info, direction):
    """On CUDA (cuDNN's variable-length path) a packed, unsorted batch gives the CPU module's padded
    output, lengths and final states, in the original order (float64, default tolerances)."""
    cpu = make(info, direction, dtype=torch.float64)
    cuda = cuda_copy(cpu)
    x = padded_batch(UNSORTED_LENGTHS).double()
    results = []
    for module, inputs in ((cpu, x), (cuda, x.cuda())):
        packed = pack_padded_sequence(inputs, UNSORTED_LENGTHS, enforce_sorted=False)
        packed_output, state = module(packed)
        output, lengths = pad_packed_sequence(packed_output)
        results.append((output.cpu(), lengths, [s.cpu() for s in final_states(state)]))
    (output, lengths, states), (output_cuda, lengths_cuda, states_cuda) = results
    assert lengths_cuda.tolist() == lengths.tolist() == UNSORTED_LENGTHS
    torch.testing.assert_close(output_cuda, output)
    torch.testing.assert_close(states_cuda, states)


@pytest.mark.fact(DOCS_PACK)
@pytest.mark.gpu
def test_cuda_lengths_tensor_is_refused(observe):
    """A lengths tensor on a CUDA device is refused with RuntimeError naming lengths and CPU (e.g.
    "'lengths' argument should be a 1D CPU int64 tensor"), even when the padded batch is on
    CUDA: "must be on the CPU if provided as a tensor"."""
    x = padded_batch(SORTED_LENGTHS, device="cuda")
    with raises_carrying(RuntimeError, "lengths", "CPU", observe=observe):
        pack_padded_sequence(x, torch.tensor(SORTED_LENGTHS, device="cuda"))


@pytest.mark.fact(DOCS_GRU)
@pytest.mark.gpu
def test_cuda_packed_gru_keeps_h_n_at_each_sequences_own_end():
    """On CUDA a packed GRU batch returns, for each sequence, the hidden state after its own last
    step, as the same sequence run alone on CUDA does (float64, default tolerances)."""
    gru = nn.GRU(FEATURES, HIDDEN, dtype=torch.float64, device="cuda")
    x = padded_batch(SORTED_LENGTHS, device="cuda").double()
    _, h_n = gru(pack_padded_sequence(x, SORTED_LENGTHS))
    for b, length in enumerate(SORTED_LENGTHS):
        _, (expected,) = alone(gru, x, b, length)
        torch.testing.assert_close(h_n[:, b], expected)
