"""Saving and loading what seed 004 saves: `torch.save(model.state_dict(), 'model.ckpt')`.

`torch.load` unpickles, and unpickling can run code. PyTorch 2.6 changed the
default of `torch.load` to `weights_only=True` (release notes of 2.6.0,
"Backwards Incompatible Changes"; torch 2.4 and 2.5 warned with a
FutureWarning that the default would change). The facts here check the
behaviour that belongs to the installed release.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import pytest
import torch
from packaging.version import Version

from models.lstm_classifier import LSTMClassifier
from rnnspec.sources import DOCS_LOAD, DOCS_SAVE_LOAD, SEED_004

TORCH = Version(Version(torch.__version__).base_version)
WEIGHTS_ONLY_DEFAULT = Version("2.6")


@dataclass
class NotATensor:
    """A plain Python object, as a checkpoint might carry besides its tensors."""

    note: str = "trained with Adam"


@pytest.mark.fact(SEED_004)
def test_state_dict_round_trips_through_weights_only_load(tmp_path):
    """A saved `state_dict()` loads with `torch.load(..., weights_only=True)` into a fresh model
    whose tensors equal the saved ones, key for key."""
    model = LSTMClassifier(28, 128, 2, 10)
    torch.save(model.state_dict(), tmp_path / "model.ckpt")
    state = torch.load(tmp_path / "model.ckpt", weights_only=True)
    assert list(state) == list(model.state_dict())
    for key, tensor in model.state_dict().items():
        torch.testing.assert_close(state[key], tensor, rtol=0, atol=0)


@pytest.mark.fact(DOCS_LOAD)
def test_weights_only_load_refuses_arbitrary_objects(tmp_path):
    """`torch.load(..., weights_only=True)` refuses a pickle holding an object that is not a
    tensor, a primitive or an allowlisted type, with an UnpicklingError."""
    torch.save({"weights": torch.ones(2), "extra": NotATensor()}, tmp_path / "mixed.pt")
    with pytest.raises(pickle.UnpicklingError, match=r"[Ww]eights only load failed"):
        torch.load(tmp_path / "mixed.pt", weights_only=True)


@pytest.mark.fact(DOCS_SAVE_LOAD, since="2.6")
def test_torch_load_defaults_to_weights_only_from_2_6(tmp_path):
    """From torch 2.6 a bare `torch.load(path)` is weights-only and refuses arbitrary objects;
    before 2.6 it unpickled them, warning (2.4, 2.5) that the default would change.

    Release boundary: torch 2.6.0 release notes, "torch.load now defaults to
    weights_only=True". Red on 2.6+ if the default reverted (the object
    loads), and on 2.5 if the warning disappeared.
    """
    torch.save({"weights": torch.ones(2), "extra": NotATensor()}, tmp_path / "mixed.pt")
    if TORCH >= WEIGHTS_ONLY_DEFAULT:
        with pytest.raises(pickle.UnpicklingError, match=r"[Ww]eights only load failed"):
            torch.load(tmp_path / "mixed.pt")
    else:
        with pytest.warns(FutureWarning, match="weights_only=False"):
            loaded = torch.load(tmp_path / "mixed.pt")
        assert loaded["extra"] == NotATensor()


@pytest.mark.fact(DOCS_LOAD)
def test_weights_only_false_still_loads_arbitrary_objects(tmp_path):
    """With an explicit `weights_only=False`, `torch.load` still unpickles arbitrary objects (for
    files from a trusted source), in every supported release."""
    torch.save({"weights": torch.ones(2), "extra": NotATensor()}, tmp_path / "mixed.pt")
    loaded = torch.load(tmp_path / "mixed.pt", weights_only=False)
    assert loaded["extra"] == NotATensor()
    torch.testing.assert_close(loaded["weights"], torch.ones(2))
