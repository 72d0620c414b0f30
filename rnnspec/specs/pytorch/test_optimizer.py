"""torch.optim over a recurrent module's parameters: what `zero_grad()` leaves in `.grad`.

torch.optim.Optimizer.zero_grad's page (DOCS_ZERO_GRAD): "Optimizer.zero_grad(
set_to_none=True) ... set_to_none (bool, optional) – Instead of setting to zero,
set the grads to None. Default: True". The default became True in torch 2.0, the
oldest release rnnspec runs, so with no argument every parameter's gradient is
None afterwards: a training loop that reads `.grad` after `zero_grad()` finds
None, not zeros (seeds 000, 001 and 004 call `optimizer.zero_grad()` bare).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnspec.sources import DOCS_ZERO_GRAD

OPTIMIZERS = [
    pytest.param(lambda params: torch.optim.SGD(params, lr=0.1), id="SGD"),
    pytest.param(lambda params: torch.optim.Adam(params, lr=1e-3), id="Adam"),
]


@pytest.mark.fact(DOCS_ZERO_GRAD)
@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_zero_grad_without_argument_sets_every_gradient_to_none(make_optimizer) -> None:
    """After a backward and a step through a 2-layer nn.LSTM, `optimizer.zero_grad()` with no
    argument sets the .grad of every parameter to None (set_to_none=True, the default since
    torch 2.0), for SGD and Adam; the next backward then gives the gradients of that backward
    alone.

    Red if zero_grad() filled the gradients with zeros (the pre-2.0 default) or left them as
    they were.
    """
    lstm = nn.LSTM(4, 6, num_layers=2)
    optimizer = make_optimizer(lstm.parameters())
    x = torch.randn(5, 3, 4)

    def backward() -> dict[str, torch.Tensor]:
        output, _ = lstm(x)
        output.square().sum().backward()
        return {name: p.grad.clone() for name, p in lstm.named_parameters()}

    backward()
    optimizer.step()
    optimizer.zero_grad()
    not_none = {
        name: "zeros" if not p.grad.any() else "values"
        for name, p in lstm.named_parameters()
        if p.grad is not None
    }
    assert not not_none, f"zero_grad() left these gradients set, not None: {not_none}"

    fresh = backward()  # nothing accumulated: the same as one backward from None
    lstm.zero_grad(set_to_none=True)
    once = backward()
    for name, gradient in fresh.items():
        torch.testing.assert_close(gradient, once[name], rtol=0, atol=0)
