"""Parametrized weights of a recurrent layer: forward uses them, and training reaches them.

torch.nn.utils.parametrize.register_parametrization replaces a parameter by a function of an
`original` tensor: the module's forward sees the function's value, gradients reach
`original`, and an optimizer step on `original` changes what forward computes. The recurrent
layers keep flat copies of their weights for the fused kernels (`_flat_weights`), which is
how pytorch/pytorch#65688 came to report that a parametrized RNN weight was silently frozen.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import parametrize

from rnnspec.modules import CLASSES
from rnnspec.sources import DOCS_PARAMETRIZE, ISSUE_PARAMETRIZED_RNN_NOT_TRAINED

LAYER_TYPES = [pytest.param(info.cls, id=info.class_name) for info in CLASSES]


class Double(torch.nn.Module):
    """The parametrization W = 2 * original."""

    def forward(self, original: torch.Tensor) -> torch.Tensor:
        return 2 * original


@pytest.mark.fact(DOCS_PARAMETRIZE)
@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_a_parametrized_recurrent_weight_is_used_and_trained(layer_type):
    """With `weight_hh_l0` parametrized as 2 * original, the layer computes what a plain layer
    with twice the weight computes; the gradient reaches `original`; and after an SGD step on
    `original` the layer computes with the updated weight.

    Red where the layer keeps running its flat copy of the weight (the frozen weights of
    pytorch/pytorch#65688), or where the gradient stops at the parametrization.
    """
    torch.manual_seed(0)
    layer = layer_type(3, 4)
    plain = layer_type(3, 4)
    plain.load_state_dict(layer.state_dict())
    with torch.no_grad():
        plain.weight_hh_l0.mul_(2)
    parametrize.register_parametrization(layer, "weight_hh_l0", Double())
    original = layer.parametrizations.weight_hh_l0.original
    x = torch.randn(5, 2, 3)

    output, _ = layer(x)
    torch.testing.assert_close(output, plain(x)[0], msg="forward with the parametrized weight")
    output.sum().backward()
    assert original.grad is not None, f"{ISSUE_PARAMETRIZED_RNN_NOT_TRAINED}: no gradient"
    assert original.grad.abs().sum() > 0, "the gradient of original is all zeros"

    torch.optim.SGD([original], lr=0.5).step()
    with torch.no_grad():
        plain.weight_hh_l0.copy_(2 * original)
    torch.testing.assert_close(layer(x)[0], plain(x)[0], msg="forward after a step on original")
