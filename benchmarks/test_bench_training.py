"""Seed 004's 2-epoch MNIST LSTM training, timed whole, beside its two yardsticks.

- training fact: what the spec's training fact does, all of it: models.data.load_mnist
  (both splits, files verified), models.training.train_classifier with LSTM_MNIST
  (seed 0, 1200 steps, one evaluation at the end); float32, and bfloat16 autocast;
- tutorial loop: seed 004's script as written (benchmarks/tutorial_loop.py);
- bare compute: the same 1200 forward/backward/Adam steps of LSTMClassifier on
  batches made beforehand: no data pipeline, no evaluation, no logging.

`rnnspec bench`'s summary holds training fact / tutorial loop to <= 0.9 and
training fact / bare compute to <= 1.05. Each run takes about a minute on two
cores; one round each by default (`--bench-rounds N` for more).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from benchmarks.common import record, synchronize
from benchmarks.tutorial_loop import run_tutorial
from models.data import load_mnist
from models.lstm_classifier import LSTMClassifier
from models.training import (
    LSTM_MNIST,
    LSTM_MNIST_BF16,
    Recipe,
    TrainingLog,
    seeded,
    train_classifier,
)
from rnnspec.machine import bf16_unsupported_reason
from rnnspec.tool.bench import TRAINING_STEP_FACTOR, lstm_classifier_forward_flop

pytestmark = [pytest.mark.slow, pytest.mark.benchmark(group="training")]

MNIST_TRAIN_SIZE = 60_000
TRAINING_STEPS = LSTM_MNIST.epochs * (MNIST_TRAIN_SIZE // LSTM_MNIST.batch_size)  # 1200
SANITY_ACCURACY = 90.0  # percent: the run really trained (the fact itself asks for 95)


def skip_without_bf16(device: torch.device) -> None:
    if reason := bf16_unsupported_reason(device):
        pytest.skip(reason)


@dataclass(frozen=True)
class FactRun:
    log: TrainingLog
    load_s: float  # load_mnist of both splits, and the move to the device


def training_fact(root: Path, device: torch.device, recipe: Recipe, seed: int = 0) -> FactRun:
    """The training fact end to end: load MNIST, build the seeded model, train and evaluate."""
    started = time.perf_counter()
    train = load_mnist(root, train=True).to(device)
    test = load_mnist(root, train=False).to(device)
    loaded = time.perf_counter() - started
    with seeded(seed):
        model = LSTMClassifier(28, 128, 2, 10).to(device)
    log = train_classifier(model, train, test, recipe, seed)
    synchronize(device)
    return FactRun(log, loaded)


@pytest.mark.parametrize(
    "recipe",
    [pytest.param(LSTM_MNIST, id="float32"), pytest.param(LSTM_MNIST_BF16, id="bfloat16")],
)
def test_training_fact(benchmark, device, mnist_root, bench_rounds, recipe):
    """load_mnist + train_classifier(LSTM_MNIST[_BF16], seed 0) + its evaluations."""
    if recipe.autocast_dtype is not None:
        skip_without_bf16(device)
    run = benchmark.pedantic(
        training_fact, args=(mnist_root, device, recipe), rounds=bench_rounds, iterations=1
    )
    dtype = str(recipe.autocast_dtype or torch.float32).removeprefix("torch.")
    record(
        benchmark,
        "training_fact",
        device,
        dtype=dtype,
        accuracy=run.log.final_accuracy,
        load_s=run.load_s,
        train_and_eval_s=run.log.seconds,
        steps=len(run.log.step_losses),
    )
    assert run.log.final_accuracy > SANITY_ACCURACY


def test_tutorial_loop(benchmark, device, mnist_root, bench_rounds):
    """Seed 004's script as written: ToTensor per image, DataLoader, explicit zero states."""
    result = benchmark.pedantic(
        run_tutorial, args=(mnist_root, device), rounds=bench_rounds, iterations=1
    )
    record(
        benchmark,
        "tutorial_loop",
        device,
        accuracy=result.accuracy,
        train_s=result.train_s,
        test_s=result.test_s,
    )
    assert result.accuracy > SANITY_ACCURACY


def make_batches(
    device: torch.device, pool: int = 12, batch_size: int = 100, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """`pool` fixed batches of MNIST-shaped inputs [pool, B, 28, 28] and labels [pool, B]."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(pool, batch_size, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (pool, batch_size), generator=generator)
    return images.to(device), labels.to(device)


def bare_compute(
    images: torch.Tensor, labels: torch.Tensor, steps: int, lr: float, seed: int = 0
) -> float:
    """`steps` forward/backward/Adam steps of the 2 x 128 LSTMClassifier, cycling the batches."""
    with seeded(seed):
        model = LSTMClassifier(28, 128, 2, 10).to(images.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    loss = torch.zeros(())
    for step in range(steps):
        batch = step % len(images)
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return loss.item()  # the one host sync


def test_bare_compute(benchmark, device, bench_rounds):
    """The 1200 training steps of LSTM_MNIST alone: the floor the training fact is held to."""
    recipe = LSTM_MNIST

    def setup():  # untimed: the batches exist before the clock starts
        images, labels = make_batches(device, batch_size=recipe.batch_size)
        return (images, labels), {"steps": TRAINING_STEPS, "lr": recipe.lr}

    last_loss = benchmark.pedantic(bare_compute, setup=setup, rounds=bench_rounds, iterations=1)
    forward = lstm_classifier_forward_flop(recipe.batch_size, 28, 128)
    record(
        benchmark,
        "bare_compute",
        device,
        TRAINING_STEPS * TRAINING_STEP_FACTOR * forward,
        steps=TRAINING_STEPS,
        last_loss=last_loss,
    )
    assert torch.isfinite(torch.tensor(last_loss))
