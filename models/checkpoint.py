"""Checkpoints as state dicts: written atomically, read with `weights_only=True`.

Seed 004 ends with `torch.save(model.state_dict(), 'model.ckpt')`. Loading a
pickle can run arbitrary code, so reading goes through `torch.load(...,
weights_only=True)`, which only rebuilds tensors and plain containers and
refuses anything else. A file that cannot be read that way (a crafted pickle,
a truncated or foreign file) raises CheckpointRefusedError; one that reads but
does not fit the model raises CheckpointMismatchError before any parameter of
the model is touched.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import torch
from torch import nn


class CheckpointRefusedError(RuntimeError):
    """The file is not a state dict that `torch.load(weights_only=True)` can read.

    It holds objects other than tensors and plain containers (whose unpickling
    could run code), or it is truncated or no checkpoint at all.
    """


class CheckpointMismatchError(RuntimeError):
    """The file's keys or shapes do not match the model it is loaded into."""


def save_checkpoint(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write `model.state_dict()` to `path` atomically: a reader sees the old file or the new one.

    The state dict goes to a temporary file beside `path`, is flushed to disk,
    and replaces `path` in one rename; if anything fails on the way the
    temporary file is removed and `path` is left as it was.
    """
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


def _refusal_reason(error: Exception) -> str:
    """torch's reason for refusing a file, without its advice to load it unsafely."""
    text = str(error)
    match = re.search(r"WeightsUnpickler error: (.+?)(?:\.\s|\n|$)", text)
    if match:
        return match.group(1)
    return text.strip().splitlines()[0][:300] if text.strip() else type(error).__name__


def mismatches(model: nn.Module, state: dict) -> list[str]:
    """Why `state` cannot load into `model` strictly: missing, unexpected and misshapen keys."""
    expected = model.state_dict()
    problems = [f"missing key {key!r}" for key in expected if key not in state]
    problems += [f"unexpected key {key!r}" for key in state if key not in expected]
    for key, target in expected.items():
        if key not in state:
            continue
        value = state[key]
        if not isinstance(value, torch.Tensor):
            problems.append(f"{key!r} is a {type(value).__name__}, not a tensor")
        elif value.shape != target.shape:
            problems.append(
                f"{key!r} has shape {list(value.shape)} in the file, "
                f"{list(target.shape)} in the model"
            )
    return problems


def load_checkpoint(
    model: nn.Module, path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> nn.Module:
    """Load a state dict saved by `save_checkpoint` into `model` (strictly) and return it.

    Raises CheckpointRefusedError for a file `torch.load(weights_only=True)`
    will not read, and CheckpointMismatchError, naming every missing,
    unexpected or misshapen key, for one that does not fit; in both cases the
    model is left unchanged. A missing file raises FileNotFoundError.
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as error:  # untrusted bytes can fail in many ways; none may run code
        raise CheckpointRefusedError(
            f"refused to load {path}: torch.load(weights_only=True) cannot read it as "
            f"tensors and plain containers ({_refusal_reason(error)})"
        ) from error
    if not isinstance(state, dict):
        raise CheckpointRefusedError(f"{path} holds a {type(state).__name__}, not a state dict")
    problems = mismatches(model, state)
    if problems:  # checked first: load_state_dict would copy the keys that fit before failing
        raise CheckpointMismatchError(
            f"{path} does not fit {type(model).__name__}: " + "; ".join(problems)
        )
    model.load_state_dict(state, strict=True)
    return model
