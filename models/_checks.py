"""Input preconditions shared by the tutorial models.

`nn.RNN` and `nn.LSTM` accept several layouts (batched, unbatched, packed), so a
wrong tensor can slip through as a silent broadcast or a confusing kernel
error. The models of this package take one layout only and say, in the error,
which shape they expected and which they received.
"""

from __future__ import annotations

import torch


def check_sequence_batch(x: torch.Tensor, input_size: int, model: str) -> None:
    """Raise a ValueError unless `x` is a non-empty float batch [N, L, input_size]."""
    expected = f"[batch, sequence, {input_size}]"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{model} expects a torch.Tensor of shape {expected}, got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(
            f"{model} expects input of shape {expected} (rank 3, batch_first), "
            f"got rank {x.dim()} with shape {list(x.shape)}"
        )
    if x.size(-1) != input_size:
        raise ValueError(
            f"{model} expects input of shape {expected}, got {list(x.shape)}: "
            f"feature size {x.size(-1)} != input_size {input_size}"
        )
    if x.size(0) == 0:
        raise ValueError(f"{model} expects a non-empty batch {expected}, got {list(x.shape)}")
    if x.size(1) == 0:
        raise ValueError(
            f"{model} expects at least one time step {expected}, got {list(x.shape)}"
        )
    if not torch.is_floating_point(x):
        raise TypeError(
            f"{model} expects a floating-point input {expected}, got dtype {x.dtype}; "
            "convert images with .float() / 255"
        )
