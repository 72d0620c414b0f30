"""Training is reproducible: one seed, one loss trajectory, bit for bit, on one machine.

What is promised (PyTorch's reproducibility notes, DOCS_RANDOMNESS): the same
code, seed, device and settings in the same environment give the same
numbers. Not promised, so not tested: equality across thread counts, CPU
capabilities or PyTorch releases. On CUDA the promise also needs
`torch.use_deterministic_algorithms(True)` and `CUBLAS_WORKSPACE_CONFIG`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from models import LSTMClassifier, RNNClassifier
from models.char_rnn import train_char_rnn
from models.data import SequenceDataset
from models.training import Recipe, TrainingLog, seeded, train_classifier

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")


def synthetic(count: int, seed: int) -> SequenceDataset:
    """`count` random 8-step sequences of 28 features with labels 0..9, from their own generator."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(count, 8, 28, generator=generator)
    return SequenceDataset(images, torch.randint(0, 10, (count,), generator=generator))


TRAIN, TEST = synthetic(100, seed=1), synthetic(20, seed=2)
RECIPES = [
    pytest.param(
        lambda: LSTMClassifier(28, 16, 2, 10),
        Recipe("tiny LSTM", "adam", 0.01, batch_size=10, epochs=2, eval_every=10),
        id="lstm-adam",
    ),
    pytest.param(
        lambda: RNNClassifier(28, 16, 1, 10),
        Recipe("tiny RNN", "sgd", 0.05, batch_size=10, epochs=2, eval_every=10),
        id="relu-rnn-sgd",
    ),
]


def run(build: Callable[[], nn.Module], recipe: Recipe, seed: int = 0) -> tuple[TrainingLog, dict]:
    with seeded(seed):
        model = build()
    log = train_classifier(model, TRAIN, TEST, recipe, seed=seed)  # 20 steps
    return log, model.state_dict()


@pytest.mark.parametrize(("build", "recipe"), RECIPES)
def test_classifier_training_repeats_bit_for_bit(
    build: Callable[[], nn.Module], recipe: Recipe
) -> None:
    """Between the runs the global RNG moves on: the run must not draw from it (nor move it)."""
    global_state = torch.get_rng_state()
    first, first_state = run(build, recipe)
    assert torch.equal(torch.get_rng_state(), global_state), "training moved the global RNG"
    torch.rand(17)  # what another test, run in between, would do
    second, second_state = run(build, recipe)
    assert len(first.step_losses) == 20
    assert second.step_losses == first.step_losses
    assert [(e.iteration, e.accuracy, e.loss) for e in second.evaluations] == [
        (e.iteration, e.accuracy, e.loss) for e in first.evaluations
    ]
    for name, value in first_state.items():
        assert torch.equal(second_state[name], value), name


@pytest.mark.parametrize(("build", "recipe"), RECIPES)
def test_another_seed_gives_another_trajectory(
    build: Callable[[], nn.Module], recipe: Recipe
) -> None:
    """The control: the seed reaches both the initialisation and the batch order."""
    assert run(build, recipe, seed=0)[0].step_losses != run(build, recipe, seed=1)[0].step_losses


def test_char_rnn_training_repeats_bit_for_bit_and_leaves_the_global_rng_alone() -> None:
    state = torch.get_rng_state()
    first = train_char_rnn(seed=0, iterations=20)
    assert torch.equal(torch.get_rng_state(), state)
    torch.rand(17)
    second = train_char_rnn(seed=0, iterations=20)
    assert second.losses == first.losses
    assert second.predictions == first.predictions
    assert train_char_rnn(seed=1, iterations=20).losses != first.losses


CUDA_SCRIPT = """
import json, torch
from models import LSTMClassifier
from models.data import SequenceDataset
from models.training import Recipe, seeded, train_classifier
torch.use_deterministic_algorithms(True)
generator = torch.Generator().manual_seed(1)
train = SequenceDataset(torch.rand(200, 28, 28, generator=generator),
                        torch.randint(0, 10, (200,), generator=generator)).to("cuda")
recipe = Recipe("tiny LSTM", "adam", 0.01, batch_size=20, epochs=2)
runs = []
for _ in range(2):
    with seeded(0):
        model = LSTMClassifier(28, 64, 2, 10).cuda()
    log = train_classifier(model, train, train, recipe, seed=0)
    runs.append([repr(loss) for loss in log.step_losses])
print(json.dumps(runs))
"""


@pytest.mark.gpu
@pytest.mark.slow
def test_cuda_lstm_training_repeats_bit_for_bit_with_deterministic_algorithms() -> None:
    """cuBLAS needs CUBLAS_WORKSPACE_CONFIG before its first handle, hence a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", CUDA_SCRIPT],
        cwd=REPO,
        env={**os.environ, "CUBLAS_WORKSPACE_CONFIG": ":4096:8"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(first) == 20
    assert first == second
