"""Checkpoints as state dicts: written atomically, read with `weights_only=True`.

Seed 004 ends with `torch.save(model.state_dict(), 'model.ckpt')`. Loading a
pickle can run arbitrary code, so reading goes through `torch.load(...,
weights_only=True)`, which only rebuilds tensors and plain containers and
refuses anything else.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import torch
from torch import nn


class CheckpointRefusedError(RuntimeError):
    """The file holds something other than tensors and plain containers."""


class CheckpointMismatchError(RuntimeError):
    """The file's keys or shapes do not match the model it is loaded into."""


def save_checkpoint(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write `model.state_dict()` to `path` atomically: a reader sees the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(model.state_dict(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(
    model: nn.Module, path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> nn.Module:
    """Load a state dict saved by `save_checkpoint` into `model` (strictly) and return it."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointRefusedError(
            f"refused to load {path}: it holds objects other than tensors, which "
            f"torch.load(weights_only=True) will not unpickle ({error})"
        ) from error
    if not isinstance(state, dict):
        raise CheckpointRefusedError(f"{path} holds a {type(state).__name__}, not a state dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointMismatchError(
            f"{path} does not fit {type(model).__name__}: {error}"
        ) from error
    return model
