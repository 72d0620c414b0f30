"""rnnspec's golden-value machinery (rnnspec.golden): the files and the closed-form weights.

The facts themselves are in specs/test_golden_values.py; these tests check the
ground they stand on: one file per case, and weights that never come from
torch's random generator (whose streams PyTorch does not promise across releases).
"""

from __future__ import annotations

import pytest
import torch

from rnnspec import golden


def test_every_golden_file_belongs_to_a_case():
    """specs/golden holds exactly one JSON file per golden case, each naming its case and stating
    its tolerance and the release that produced it."""
    files = sorted(path.name for path in golden.GOLDEN_DIR.glob("*.json"))
    assert files == sorted(f"{case.name}.json" for case in golden.CASES)
    for case in golden.CASES:
        data = golden.load(case)
        assert data["name"] == case.name
        assert data["tolerance"]["atol"] == golden.TOLERANCE["atol"]
        assert data["tolerance"]["rtol"] == golden.TOLERANCE["rtol"]
        assert data["produced_by"]["torch"]


def test_closed_form_weights_do_not_touch_the_random_generator():
    """Building a golden module sets every parameter from the formula: two builds are identical
    whatever the seed, and no parameter keeps its random default."""
    case = next(c for c in golden.CASES if c.module == "LSTM" and c.options.get("proj_size"))
    torch.manual_seed(1)
    first = golden.build(case)
    torch.manual_seed(2)
    second = golden.build(case)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=f"{name} depends on the seed")


def test_a_stored_file_missing_a_tensor_is_a_mismatch_not_a_crash():
    """A file without c_n (or with an extra tensor) fails the comparison with an AssertionError
    naming both key sets, which `rnnspec golden` reports as a problem of that case."""
    case = next(c for c in golden.CASES if c.module == "LSTM")
    results = golden.run_module(case)
    stored = {key: tensor for key, tensor in results.items() if key != "c_n"}
    with pytest.raises(AssertionError, match=r"hold \['c_n', 'h_n', 'output'\], the reference"):
        golden.check_against_reference(results, stored)
