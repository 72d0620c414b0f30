"""What the seed documents say of their own data and Python code, checked once, outside the facts.

None of these can change with a torch release: they check rnnspec's copy of a seed's
data (`models.char_rnn.SAMPLE`, `Vocabulary`), Python itself, or a line of a seed's
code whose result no release of torch could change. So they are machinery tests, not
facts: `rnnspec check` does not run them, and the fact count on the page is the number
of facts that can vary with torch. Each names the seed document it comes from and the
fact id it had before it moved here.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from models.char_rnn import SAMPLE, Vocabulary


def test_if_you_want_you_has_ten_distinct_characters():
    """Seed 001 (001_e5f0500a70a97343.txt, "즉 길이가 10개인 dictionary가 만들어진 셈이다."): "if you
    want you" has 10 distinct characters, so the one-hot size and the hidden size are 10.

    Was specs/seeds/test_001_char_rnn_if_you_want_you.py::test_if_you_want_you_has_ten_distinct_characters.
    """
    assert len(set(SAMPLE)) == 10
    assert len(Vocabulary.from_text(SAMPLE)) == 10


def test_set_order_of_the_vocabulary_changes_between_python_processes():
    """Seed 001 (001_e5f0500a70a97343.txt, "char_set = list(set(sample))"): the seed's
    `list(set(sample))` gives different character orders in Python processes with different
    PYTHONHASHSEED values, while rnnspec's sorted vocabulary is the same in all of them.

    The erratum this shows is carried by the fact
    specs/seeds/test_001_char_rnn_if_you_want_you.py::test_training_does_not_depend_on_pythonhashseed.
    Was specs/seeds/test_001_char_rnn_if_you_want_you.py::test_set_order_of_the_vocabulary_changes_between_python_processes.
    """
    program = (
        "s = 'if you want you'; print(''.join(list(set(s))), ''.join(sorted(set(s))), sep='|')"
    )
    orders, sorted_orders = set(), set()
    for hash_seed in range(8):
        env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
        out = subprocess.run(
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
        ).stdout
        set_order, sorted_order = out.rstrip("\n").split("|")
        orders.add(set_order)
        sorted_orders.add(sorted_order)
    assert len(orders) > 1, f"set order was the same under 8 hash seeds: {orders}"
    assert sorted_orders == {"".join(Vocabulary.from_text(SAMPLE).chars)}


def test_torch_max_over_dim_1_returns_scores_and_predicted_classes():
    """Seed 000 (000_fb4a1237d44f2e01.txt, "_, predicted = torch.max(outputs.data, 1)"): the
    seed's `_, predicted = torch.max(outputs.data, 1)` unpacks (values, indices): the indices are
    the predicted classes, argmax over the class axis.

    Was specs/seeds/test_000_relu_rnn_on_mnist.py::test_torch_max_over_dim_1_returns_scores_and_predicted_classes.
    """
    outputs = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    values, predicted = torch.max(outputs, 1)
    assert predicted.tolist() == [1, 0]
    assert predicted.dtype == torch.int64
    torch.testing.assert_close(values, torch.tensor([2.0, 3.0]))


def test_accuracy_of_integer_tensor_counts_is_true_division():
    """Seed 000 (000_fb4a1237d44f2e01.txt, "accuracy = 100 * correct/total"): with `correct` an
    int64 tensor of matches and `total` an int, the seed's accuracy is true division: 100 * 9,747
    / 10,000 gives 97.47, not a floored integer.

    Was specs/seeds/test_000_relu_rnn_on_mnist.py::test_accuracy_of_integer_tensor_counts_is_true_division.
    """
    correct = (torch.arange(10_000) < 9_747).sum()  # an int64 tensor, as the seed's sum gives
    accuracy = 100 * correct / 10_000
    assert accuracy.dtype.is_floating_point
    assert accuracy.item() == pytest.approx(97.47)
