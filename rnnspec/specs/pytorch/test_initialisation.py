"""Default initialisation: each weight and bias is drawn from U(-1/sqrt(hidden), 1/sqrt(hidden)).

The module pages (DOCS_RNN, DOCS_LSTM, DOCS_GRU and the three cell pages) say:
"All the weights and biases are initialized from U(-sqrt(k), sqrt(k)) where
k = 1/hidden_size". Two kinds of check:

- bounds: every value lies in [-1/sqrt(hidden_size), 1/sqrt(hidden_size)],
  a hard assertion that no seed can excuse;
- distribution: per parameter, the Kolmogorov-Smirnov distance to the uniform
  CDF stays below the critical value at alpha = 1e-6 (the asymptotic formula
  sqrt(ln(2 / alpha) / 2) / sqrt(n), no scipy needed), and the mean and
  variance stay within 6 standard errors of 0 and bound**2 / 3.

The seed is fixed, so a run cannot flake; the tiny alpha and the 6 standard
errors also keep the facts true for any other seed or a release whose random
stream differs. The sizes are large enough that the wrong distributions one
might meet fail: zeros for biases (KS distance 0.5 against a critical value
of at most 0.34), a bound of 1/hidden_size (all values squeezed into the middle
eighth: KS distance about 0.44), a normal distribution with the same variance
(8% of the values outside the bounds).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnnspec.modules import MODULES, ModuleInfo, params
from rnnspec.sources import DOCS_LSTM, DOCS_RNN

HIDDEN = 64  # bound 1/8; the smallest bias (RNN, 64 values) still gives a KS critical value < 0.34
ALPHA = 1e-6  # chance that a correct initialiser fails the KS check, for any seed
STANDARD_ERRORS = 6.0  # two-sided chance about 2e-9 per moment under the normal approximation


def build(info: ModuleInfo) -> nn.Module:
    """The entry's module with 16 input features and hidden size 64; layers have 2 layers and both
    directions, so every kind of parameter (layer k > 0, `_reverse`, `weight_hr`) is drawn."""
    config = info.settings(input_size=16, hidden_size=HIDDEN, num_layers=2, bidirectional=True)
    return info.build(config)


def ks_distance_to_uniform(values: torch.Tensor, bound: float) -> float:
    """sup |F_n(x) - F(x)| for F the CDF of U(-bound, bound), from the sorted sample."""
    u = ((values.double().flatten() / bound + 1) / 2).clamp(0, 1).sort().values  # F(x) of each
    n = u.numel()
    steps = torch.arange(1, n + 1, dtype=torch.float64) / n  # F_n just after each point
    above = (steps - u).max()  # F_n above F
    below = (u - (steps - 1 / n)).max()  # F_n (just before each point) below F
    return float(torch.maximum(above, below))


def ks_critical_value(n: int, alpha: float = ALPHA) -> float:
    """The asymptotic Kolmogorov critical value: P(sqrt(n) * D_n > c) ~ 2 exp(-2 c^2) = alpha."""
    return math.sqrt(math.log(2 / alpha) / 2) / math.sqrt(n)


@pytest.mark.fact(DOCS_LSTM)
@pytest.mark.parametrize("info", params(MODULES, cite=False))
def test_every_parameter_lies_within_one_over_sqrt_hidden_size(info):
    """Every weight and bias, projection weights included, lies in [-1/sqrt(hidden_size),
    1/sqrt(hidden_size)] right after construction.

    Red for a normal initialiser (values beyond the bound), for a bound
    computed from input_size or proj_size, or for orthogonal/Xavier schemes
    with a larger range.
    """
    torch.manual_seed(1234)
    module = build(info)
    bound = 1 / math.sqrt(HIDDEN)
    for name, parameter in module.named_parameters():
        largest = parameter.detach().abs().max().item()
        assert largest <= bound, f"{name}: |value| {largest:.4f} > 1/sqrt({HIDDEN}) = {bound:.4f}"


@pytest.mark.fact(DOCS_RNN)
@pytest.mark.parametrize("info", params(MODULES, cite=False))
def test_every_parameter_is_uniform_on_the_documented_interval(info):
    """Each weight and bias, taken alone, is distributed as U(-1/sqrt(hidden_size),
    1/sqrt(hidden_size)): KS distance below the alpha = 1e-6 critical value, mean within 6
    standard errors of 0, variance within 6 standard errors of bound**2 / 3.

    Red for zero or constant biases, a bound of 1/hidden_size, a normal
    initialiser, or any parameter skipped by reset_parameters.
    """
    torch.manual_seed(1234)
    module = build(info)
    bound = 1 / math.sqrt(HIDDEN)
    variance = bound**2 / 3  # of U(-b, b)
    fourth_moment = bound**4 / 5  # E[X^4] of U(-b, b)
    for name, parameter in module.named_parameters():
        values = parameter.detach().double().flatten()
        n = values.numel()
        distance, critical = ks_distance_to_uniform(values, bound), ks_critical_value(n)
        assert distance < critical, (
            f"{name}: KS distance {distance:.3f} to U(-{bound:.3f}, {bound:.3f}) over {n} values "
            f"exceeds the alpha={ALPHA:g} critical value {critical:.3f}"
        )
        mean_error = math.sqrt(variance / n)
        assert abs(values.mean().item()) < STANDARD_ERRORS * mean_error, f"{name}: mean"
        variance_error = math.sqrt((fourth_moment - variance**2) / n)
        sample_variance = values.pow(2).mean().item()  # about the known mean 0
        assert abs(sample_variance - variance) < STANDARD_ERRORS * variance_error, (
            f"{name}: variance {sample_variance:.5f}, expected {variance:.5f}"
        )


@pytest.mark.fact(DOCS_RNN)
def test_the_checks_reject_the_wrong_distributions_they_are_meant_to_catch():
    """The distribution check above is strong enough at hidden_size 64: it rejects zero biases,
    U(-1/hidden_size, 1/hidden_size) and N(0, bound**2 / 3) samples of the sizes the modules use.

    A check of the check: if this fact fails, a passing initialisation fact
    proves nothing. The wrong samples come from a fixed torch.Generator.
    """
    bound = 1 / math.sqrt(HIDDEN)
    generator = torch.Generator().manual_seed(99)
    smallest = HIDDEN  # the fewest values in one parameter: an RNN bias
    zeros = torch.zeros(smallest)
    narrow = (torch.rand(smallest, generator=generator) * 2 - 1) / HIDDEN
    normal = torch.randn(3 * HIDDEN * HIDDEN, generator=generator) * bound / math.sqrt(3)
    for wrong in (zeros, narrow, normal):
        assert ks_distance_to_uniform(wrong, bound) > ks_critical_value(wrong.numel())
    assert normal.abs().max() > bound  # and the bounds fact rejects the normal sample too
