"""Saving and loading: what `torch.load` unpickles, and what it refuses.

`torch.load` unpickles, and unpickling can run code. PyTorch 2.6 changed the
default of `torch.load` to `weights_only=True` (release notes of 2.6.0,
"Backwards Incompatible Changes"; torch 2.4 and 2.5 warned with a
FutureWarning that the default would change, pytorch/pytorch pull #129239;
2.0-2.3 loaded without a word). The facts here check the
behaviour that belongs to the installed release. Seed 004's own
`torch.save(model.state_dict(), 'model.ckpt')` round trip is a fact of
specs/seeds/test_004_lstm_on_mnist_passes_95_percent.py.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import pytest
import torch

from rnnspec.sources import DOCS_LOAD, DOCS_SAVE_LOAD
from rnnspec.testing import raises_carrying, recorded_warnings


@dataclass
class NotATensor:
    """A plain Python object, as a checkpoint might carry besides its tensors."""

    note: str = "trained with Adam"


# What the refusal names: the object it would not unpickle, and the argument that decides it.
REFUSAL = ("NotATensor", "weights_only")


@pytest.mark.fact(DOCS_LOAD)
def test_weights_only_load_refuses_arbitrary_objects(tmp_path):
    """`torch.load(..., weights_only=True)` refuses a pickle holding an object that is not a
    tensor, a primitive or an allowlisted type, with an UnpicklingError naming the object's class
    and weights_only."""
    torch.save({"weights": torch.ones(2), "extra": NotATensor()}, tmp_path / "mixed.pt")
    with raises_carrying(pickle.UnpicklingError, *REFUSAL):
        torch.load(tmp_path / "mixed.pt", weights_only=True)


@pytest.mark.fact(DOCS_SAVE_LOAD, since=("2.4", "2.6"))
def test_torch_load_defaults_to_weights_only_from_2_6(tmp_path, from_release, observe):
    """From torch 2.6 a bare `torch.load(path)` is weights-only and refuses arbitrary objects;
    before 2.6 it unpickled them, from 2.4 with a FutureWarning that the default would change,
    before 2.4 without a word.

    Release boundaries: 2.4, pytorch/pytorch pull #129239 ("Add warning for
    weights_only"), checked on 2.3.1 and 2.4.1; 2.6, the 2.6.0 release notes
    ("torch.load now defaults to weights_only=True"), checked on 2.5.1 and
    2.6.0. Red on 2.6+ if the default reverted (the object loads), on 2.4-2.5
    if the warning disappeared, and before 2.4 if one appeared.
    """
    torch.save({"weights": torch.ones(2), "extra": NotATensor()}, tmp_path / "mixed.pt")
    if from_release("2.6"):
        with raises_carrying(pickle.UnpicklingError, *REFUSAL):
            torch.load(tmp_path / "mixed.pt")
        observe("default", "refuses")
        return
    with recorded_warnings() as warned:
        loaded = torch.load(tmp_path / "mixed.pt")
    assert loaded["extra"] == NotATensor()
    about_the_default = warned.about(FutureWarning, "weights_only")
    if from_release("2.4"):
        assert about_the_default, "no FutureWarning that the weights_only default will change"
        observe("default", "loads, with a FutureWarning")
        observe("warning", str(about_the_default[0].message))
    else:
        assert not about_the_default, f"an unexpected warning: {about_the_default[0].message}"
        observe("default", "loads")


@pytest.mark.fact(DOCS_LOAD)
def test_weights_only_false_still_loads_arbitrary_objects(tmp_path):
    """With an explicit `weights_only=False`, `torch.load` still unpickles arbitrary objects (for
    files from a trusted source), in every supported release."""
    torch.save({"weights": torch.ones(2), "extra": NotATensor()}, tmp_path / "mixed.pt")
    loaded = torch.load(tmp_path / "mixed.pt", weights_only=False)
    assert loaded["extra"] == NotATensor()
    torch.testing.assert_close(loaded["weights"], torch.ones(2))
