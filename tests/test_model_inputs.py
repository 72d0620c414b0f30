"""Bad input to the tutorial models fails with an error naming what was expected and received.

The models take one layout, a float batch [batch, sequence, features]; every
other tensor raises before it reaches `nn.RNN`/`nn.LSTM`, which would accept
some of them (an unbatched [L, F] sequence) and answer others with a kernel
error. NaN is computed with, not rejected: it stays inside its own sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from models import CharRNN, LSTMClassifier, RNNClassifier

pytestmark = pytest.mark.usefixtures("one_thread")


@dataclass(frozen=True)
class ModelCase:
    """A model of the package, small, and the feature size its input must have."""

    name: str
    build: Callable[[], nn.Module]
    features: int


CASES = [
    ModelCase("RNNClassifier", lambda: RNNClassifier(28, 8, 1, 10), 28),
    ModelCase("LSTMClassifier", lambda: LSTMClassifier(28, 8, 2, 10), 28),
    ModelCase("CharRNN", lambda: CharRNN(6), 6),
]
MODELS = [pytest.param(case, id=case.name) for case in CASES]


@pytest.fixture(params=MODELS)
def case(request: pytest.FixtureRequest) -> ModelCase:
    return request.param


def test_a_float_batch_of_any_length_is_accepted(case: ModelCase) -> None:
    model = case.build()
    for length in (1, 7):
        out = model(torch.rand(3, length, case.features))
        assert out.shape[0] == 3


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param((5, "F"), id="unbatched-2d"),
        pytest.param((2, 1, 5, "F"), id="image-batch-4d"),
        pytest.param(("F",), id="1d"),
    ],
)
def test_wrong_rank_names_expected_and_received_shape(case: ModelCase, shape: tuple) -> None:
    shape = tuple(case.features if d == "F" else d for d in shape)
    with pytest.raises(ValueError, match="rank 3") as caught:
        case.build()(torch.rand(shape))
    message = str(caught.value)
    assert case.name in message
    assert f"[batch, sequence, {case.features}]" in message
    assert f"got rank {len(shape)} with shape {list(shape)}" in message


def test_image_batch_with_a_channel_dimension_gets_a_reshape_hint() -> None:
    with pytest.raises(ValueError, match=r"x\.reshape\(-1, 28, 28\)"):
        LSTMClassifier(28, 8, 1, 10)(torch.rand(4, 1, 28, 28))


def test_wrong_feature_size_names_both_sizes(case: ModelCase) -> None:
    x = torch.rand(2, 5, case.features + 1)
    with pytest.raises(ValueError) as caught:
        case.build()(x)
    message = str(caught.value)
    assert f"got {list(x.shape)}" in message
    assert f"feature size {case.features + 1} != input_size {case.features}" in message


def test_feature_size_one_is_not_broadcast(case: ModelCase) -> None:
    with pytest.raises(ValueError, match="feature size 1 !="):
        case.build()(torch.rand(2, 5, 1))


@pytest.mark.parametrize(
    ("shape", "what"),
    [
        pytest.param((0, 5, "F"), "non-empty batch", id="empty-batch"),
        pytest.param((2, 0, "F"), "at least one time step", id="zero-length-sequence"),
    ],
)
def test_empty_input_is_refused(case: ModelCase, shape: tuple, what: str) -> None:
    shape = tuple(case.features if d == "F" else d for d in shape)
    with pytest.raises(ValueError, match=what) as caught:
        case.build()(torch.rand(shape))
    assert str(list(shape)) in str(caught.value)


@pytest.mark.parametrize(
    "dtype",
    [
        pytest.param(torch.uint8, id="uint8-pixels"),
        pytest.param(torch.int64, id="int64-indices"),
        pytest.param(torch.bool, id="bool"),
    ],
)
def test_non_float_input_names_its_dtype(case: ModelCase, dtype: torch.dtype) -> None:
    x = torch.ones(2, 5, case.features, dtype=dtype)
    with pytest.raises(TypeError, match=f"floating-point input .* got dtype {dtype}"):
        case.build()(x)


@pytest.mark.parametrize(
    "dtype",
    [pytest.param(torch.float64, id="float64"), pytest.param(torch.float16, id="float16")],
)
def test_float_of_another_precision_names_both_dtypes(case: ModelCase, dtype: torch.dtype) -> None:
    with pytest.raises(TypeError) as caught:
        case.build()(torch.rand(2, 5, case.features, dtype=dtype))
    message = str(caught.value)
    assert f"has torch.float32 parameters but got {dtype} input" in message
    assert case.name in message


def test_float64_model_takes_float64_input(case: ModelCase) -> None:
    model = case.build().double()
    assert model(torch.rand(2, 5, case.features, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.parametrize(
    "not_a_tensor",
    [
        pytest.param(lambda shape: np.zeros(shape, dtype=np.float32), id="numpy-array"),
        pytest.param(lambda shape: torch.zeros(shape).tolist(), id="nested-list"),
    ],
)
def test_non_tensor_input_is_a_type_error(case: ModelCase, not_a_tensor: Callable) -> None:
    with pytest.raises(TypeError, match=r"expects a torch\.Tensor"):
        case.build()(not_a_tensor((2, 5, case.features)))


# --- NaN: documented, not rejected ------------------------------------------------------------


def test_nan_in_one_sample_makes_only_that_samples_scores_nan(case: ModelCase) -> None:
    """Each sample is its own row of every matrix product, so NaN cannot cross samples.

    A kernel that mixed samples (a batch-wide normalisation, a reduction over
    the batch) would turn the other rows NaN, or change them.
    """
    model = case.build().eval()
    clean = torch.rand(3, 6, case.features)
    poisoned = clean.clone()
    poisoned[1, 2, 0] = float("nan")
    with torch.no_grad():
        expected, out = model(clean), model(poisoned)
    assert torch.isnan(out[1]).any()
    for other in (0, 2):
        assert torch.isfinite(out[other]).all()
        assert torch.equal(out[other], expected[other])


def test_nan_spreads_forward_in_time_only_within_its_sample() -> None:
    """For the per-step CharRNN: steps before the NaN are untouched, every step from it is NaN."""
    model = CharRNN(6).eval()
    clean = torch.rand(2, 6, 6)
    poisoned = clean.clone()
    poisoned[0, 3, 1] = float("nan")
    with torch.no_grad():
        expected, out = model(clean), model(poisoned)
    assert torch.equal(out[0, :3], expected[0, :3])
    assert torch.isnan(out[0, 3:]).all()
    assert torch.equal(out[1], expected[1])
