"""Input preconditions shared by the tutorial models.

`nn.RNN` and `nn.LSTM` accept several layouts (batched, unbatched, packed), so a
wrong tensor can slip through as a silent broadcast or a confusing kernel
error. The models of this package take one layout only, a float batch
[batch, sequence, features] with `batch_first=True`, and say in the error which
shape (or dtype) they expected and which they received:

- rank other than 3 (an unbatched [L, F] sequence, an image batch [N, 1, 28, 28]),
  or a feature size other than the model's: ValueError;
- an empty batch or a sequence of zero steps: ValueError;
- not a tensor, or a tensor that is not floating point (uint8 pixels, int64
  indices): TypeError;
- a floating dtype other than the model's (float64 into a float32 model):
  TypeError naming both dtypes, except under `torch.autocast`, which casts.

The models' `forward` runs these checks in eager mode and when traced, and skips them
under `torch.jit.script` (`torch.jit.is_scripting()`): TorchScript cannot compile the
Python that formats the messages, so each model keeps its call in a `@torch.jit.unused`
method, which the compiler replaces by a stub and never calls.

Values are not checked. NaN (or inf) in the input is computed with, not
rejected: it spreads to every later time step of its own sample, so a
many-to-one classifier returns NaN scores for that sample, while every other
sample of the batch gets exactly the outputs it would get without it (each
sample is its own row of every matrix product).
"""

from __future__ import annotations

import torch


def autocast_enabled(device_type: str) -> bool:
    """Whether autocast is on for `device_type`. `torch.is_autocast_enabled(device_type)`
    exists from torch 2.4; before, CPU autocast had its own query."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: is_autocast_enabled() takes no argument (it means CUDA)
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()


def check_sequence_batch(
    x: torch.Tensor, input_size: int, model: str, dtype: torch.dtype | None = None
) -> None:
    """Raise unless `x` is a non-empty float batch [N, L, input_size] (of `dtype`, if given)."""
    expected = f"[batch, sequence, {input_size}]"
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{model} expects a torch.Tensor of shape {expected}, got {type(x).__name__}"
        )
    if x.dim() != 3:
        hint = ""
        if x.dim() == 4 and x.size(1) == 1:
            hint = f"; drop the channel dimension with x.reshape(-1, {x.size(2)}, {input_size})"
        elif x.dim() == 2:
            hint = "; add a batch dimension with x.unsqueeze(0)"
        raise ValueError(
            f"{model} expects input of shape {expected} (rank 3, batch_first), "
            f"got rank {x.dim()} with shape {list(x.shape)}{hint}"
        )
    if x.size(-1) != input_size:
        raise ValueError(
            f"{model} expects input of shape {expected}, got {list(x.shape)}: "
            f"feature size {x.size(-1)} != input_size {input_size}"
        )
    if x.size(0) == 0:
        raise ValueError(f"{model} expects a non-empty batch {expected}, got {list(x.shape)}")
    if x.size(1) == 0:
        raise ValueError(f"{model} expects at least one time step {expected}, got {list(x.shape)}")
    if not torch.is_floating_point(x):
        raise TypeError(
            f"{model} expects a floating-point input {expected}, got dtype {x.dtype}; "
            "convert images with .float() / 255"
        )
    if dtype is not None and x.dtype != dtype and not autocast_enabled(x.device.type):
        raise TypeError(
            f"{model} has {dtype} parameters but got {x.dtype} input of shape {list(x.shape)}; "
            f"convert the input with x.to({dtype}) or the model with model.to({x.dtype})"
        )
