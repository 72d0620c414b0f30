"""Mixed precision: seed 004's recipe under bfloat16 autocast, a fact of its own.

The float32 fact (specs/seeds/test_004_lstm_on_mnist_passes_95_percent.py) stays the reference; this one
says the same recipe also passes 95% when `torch.autocast` runs the LSTM's
matrix products in bfloat16, on hardware that supports it.
"""

from __future__ import annotations

import pytest

from models.lstm_classifier import LSTMClassifier
from models.training import LSTM_MNIST_BF16
from rnnspec.machine import bf16_unsupported_reason
from rnnspec.sources import DOCS_AUTOCAST
from rnnspec.specs.conftest import train_per_seed


@pytest.mark.slow
@pytest.mark.xdist_group("mnist-lstm-bf16")
@pytest.mark.fact(DOCS_AUTOCAST)
def test_lstm_passes_95_percent_under_bfloat16_autocast(
    device, pytestconfig, mnist_train, mnist_test, record_property, observe
):
    """Under `torch.autocast(dtype=torch.bfloat16)` the seed-004 recipe (hidden 128, 2 layers,
    Adam lr 0.01, batch 100, 2 epochs) also classifies more than 95% of the test images."""
    if reason := bf16_unsupported_reason(device):
        pytest.skip(reason)
    train, test = mnist_train.to(device), mnist_test.to(device)
    accuracies = {}
    runs = train_per_seed(
        pytestconfig,
        lambda: LSTMClassifier(28, 128, 2, 10).to(device),
        train,
        test,
        LSTM_MNIST_BF16,
    )
    for _, log in runs:
        record_property("training_curve", log.to_dict())
        accuracies[log.seed] = log.final_accuracy
    observe("accuracy", min(accuracies.values()), tolerance=1.0)
    assert all(acc > 95.0 for acc in accuracies.values()), f"bf16 accuracy by seed: {accuracies}"
