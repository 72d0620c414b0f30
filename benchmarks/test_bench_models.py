"""Forward and forward+backward of each seed model at its documented size, and matmul peaks.

Every model benchmark records its matrix-product FLOP count (rnnspec.tool.bench's
formulas) in extra_info, from which `rnnspec bench` computes GFLOP/s; the matmul benchmarks give
the rates those are held against, measured on the same machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from benchmarks.common import record, synchronize
from models.char_rnn import SAMPLE, CharRNN, Vocabulary, next_character_pair
from models.lstm_classifier import LSTMClassifier
from models.rnn_classifier import RNNClassifier
from rnnspec.tool.bench import (
    TRAINING_STEP_FACTOR,
    linear_forward_flop,
    lstm_classifier_forward_flop,
    matmul_flop,
    recurrent_forward_flop,
)


@dataclass(frozen=True)
class ModelCase:
    """One seed model at its documented size, and the input the seed feeds it."""

    name: str
    build: Callable[[], nn.Module]
    shape: tuple[int, int, int]  # (N, L, input features)
    forward_flop: int  # matrix products of one forward pass
    per_step_targets: bool = False  # CharRNN: a class per time step, not per sequence


CASES = [
    ModelCase(
        "relu-rnn-1x100-seed000",
        lambda: RNNClassifier(28, 100, 1, 10, nonlinearity="relu"),
        (100, 28, 28),
        recurrent_forward_flop("rnn", 100, 28, 28, 100, 1) + linear_forward_flop(100, 100, 10),
    ),
    ModelCase(
        "lstm-2x128-seed004",
        lambda: LSTMClassifier(28, 128, 2, 10),
        (100, 28, 28),
        lstm_classifier_forward_flop(100, 28, 128),
    ),
    ModelCase(
        "lstm-2x256-seed002-x2x20",
        lambda: LSTMClassifier(28, 256, 2, 10),
        (2, 20, 28),
        lstm_classifier_forward_flop(2, 20, 256),
    ),
    ModelCase(
        "lstm-2x256-seed002-batch100",
        lambda: LSTMClassifier(28, 256, 2, 10),
        (100, 28, 28),
        lstm_classifier_forward_flop(100, 28, 256),
    ),
    ModelCase(
        "char-rnn-10-seed001",
        lambda: CharRNN(10, 10),
        (1, 14, 10),
        recurrent_forward_flop("rnn", 1, 14, 10, 10, 1),
        per_step_targets=True,
    ),
]
CASE_PARAMS = [pytest.param(case, id=case.name) for case in CASES]


def _inputs(case: ModelCase, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The input batch and its targets; the CharRNN gets seed 001's own sentence."""
    if case.per_step_targets:
        x, y = next_character_pair(SAMPLE, Vocabulary.from_text(SAMPLE))  # (1, 14, 10), (1, 14)
        assert tuple(x.shape) == case.shape
        return x.to(device), y.to(device)
    n, length, features = case.shape
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, length, features, generator=generator)
    y = torch.randint(0, 10, (n,), generator=generator)
    return x.to(device), y.to(device)


def _loss(case: ModelCase, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if case.per_step_targets:
        return nn.functional.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))
    return nn.functional.cross_entropy(output, target)


@pytest.mark.benchmark(group="forward")
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_forward(benchmark, device, case):
    """Inference forward (torch.inference_mode, eval mode) of one batch."""
    torch.manual_seed(0)
    model = case.build().to(device).eval()
    x, _ = _inputs(case, device)

    @torch.inference_mode()
    def forward():
        out = model(x)
        synchronize(device)
        return out

    forward()  # first call builds the oneDNN / cuDNN primitives
    out = benchmark(forward)
    assert out.shape[0] == case.shape[0]
    record(benchmark, "forward", device, case.forward_flop, model=case.name)


@pytest.mark.benchmark(group="forward+backward")
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_forward_backward(benchmark, device, case):
    """Forward, cross-entropy and backward of one batch (no optimizer step)."""
    torch.manual_seed(0)
    model = case.build().to(device).train()
    x, y = _inputs(case, device)

    def forward_backward():
        model.zero_grad(set_to_none=True)
        loss = _loss(case, model(x), y)
        loss.backward()
        synchronize(device)
        return loss

    forward_backward()
    loss = benchmark(forward_backward)
    assert torch.isfinite(loss)
    flop = TRAINING_STEP_FACTOR * case.forward_flop
    record(benchmark, "forward_backward", device, flop, model=case.name)


@dataclass(frozen=True)
class MatmulCase:
    name: str
    m: int
    k: int
    n: int
    lstm_shaped: bool  # a product the 2 x 128 LSTM does each step, or the machine's peak


MATMULS = [
    # One step of layer 0 of the 2 x 128 LSTM at batch 100: [x_t, h] (100 x (28+128)) @ W^T.
    MatmulCase("lstm-layer0-100x156x512", 100, 156, 512, lstm_shaped=True),
    # One step of layer 1: [h_below, h] (100 x (128+128)) @ W^T.
    MatmulCase("lstm-layer1-100x256x512", 100, 256, 512, lstm_shaped=True),
    MatmulCase("square-2048", 2048, 2048, 2048, lstm_shaped=False),
]


@pytest.mark.benchmark(group="matmul")
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in MATMULS])
def test_matmul_peak(benchmark, device, case):
    """float32 torch.mm into a preallocated output: the rate the models are held against."""
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(case.m, case.k, generator=generator).to(device)
    b = torch.rand(case.k, case.n, generator=generator).to(device)
    c = torch.empty(case.m, case.n, device=device)

    def mm():
        torch.mm(a, b, out=c)
        synchronize(device)

    mm()
    benchmark(mm)
    flop = matmul_flop(case.m, case.k, case.n)
    record(benchmark, "matmul", device, flop, shape=case.name, lstm_shaped=case.lstm_shaped)


@pytest.mark.benchmark(group="lstm-training-rate")
def test_lstm_training_rate_vs_matmul_peak(benchmark, device):
    """Forward+backward of nn.LSTM(28, 128, 2) on [100, 28, 28], in GFLOP/s: `rnnspec bench`
    holds its median against the medians of test_matmul_peak from the same run."""
    torch.manual_seed(0)
    lstm = nn.LSTM(28, 128, 2, batch_first=True).to(device)
    x = torch.rand(100, 28, 28, device=device)

    def forward_backward():
        lstm.zero_grad(set_to_none=True)
        out, _ = lstm(x)  # (100, 28, 128)
        out[:, -1].sum().backward()  # a many-to-one readout, as the classifiers do
        synchronize(device)

    forward_backward()
    benchmark(forward_backward)
    flop = TRAINING_STEP_FACTOR * recurrent_forward_flop("lstm", 100, 28, 28, 128, 2)
    record(benchmark, "lstm_training_rate", device, flop)
