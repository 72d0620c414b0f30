"""TorchScript (`torch.jit.script`, `torch.jit.trace`) of recurrent models, held against eager.

TorchScript is deprecated: from 2.10 `torch.jit.script` and `torch.jit.trace` warn
that they are ("Please switch to `torch.compile` or `torch.export`": a
DeprecationWarning on 2.10 and 2.11, a FutureWarning on 2.14 and 2.15); the
warnings a fact raises are recorded with it by the plugin.

nn.RNN/LSTM/GRU overload `forward` (a Tensor or a PackedSequence), so a scripted layer
is called from a module whose `forward` names the input type (`Scripted` below). The
seed models are both scripted and traced: their input checks (models/_checks.py) are
Python that TorchScript does not compile, so a scripted seed model skips them
(`torch.jit.is_scripting()`) and computes what the eager model computes.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnspec.sources import DOCS_JIT, DOCS_JIT_SCRIPT, DOCS_JIT_TRACE
from rnnspec.specs.deployment.cases import (
    Case,
    SeedModel,
    assert_same_results,
    grid_cases,
    seed_model_params,
)
from rnnspec.testing import recorded_warnings

# TorchScript's interpreter calls the same ATen kernels as eager on CPU.
SCRIPTED = {"rtol": 1.3e-6, "atol": 1e-5}
DEPRECATIONS = (DeprecationWarning, FutureWarning)


class Scripted(nn.Module):
    """A recurrent layer behind a `forward` that takes a Tensor."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor):
        return self.layer(x)


class ScriptedPacked(nn.Module):
    """A recurrent layer behind a `forward` that takes a PackedSequence."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: PackedSequence):
        return self.layer(x)


@pytest.mark.fact(DOCS_JIT_SCRIPT)
@pytest.mark.parametrize("case", grid_cases(packed=True))
def test_scripted_layer_matches_eager(case: Case, observe) -> None:
    """`torch.jit.script` of nn.RNN/LSTM/GRU (layers, bidirectional, batch_first, proj_size,
    unbatched and packed input) returns the eager output and final states within rtol
    1.3e-6 and atol 1e-5."""
    module = case.build()
    x = case.input()
    wrapper = ScriptedPacked(module) if case.packed else Scripted(module)
    scripted = torch.jit.script(wrapper)
    with torch.no_grad():
        error = assert_same_results(scripted(x), module(x), f"scripted {case.name}", **SCRIPTED)
    observe("max_abs_error_vs_eager", error, tolerance=1e-5)


@pytest.mark.fact(DOCS_JIT_TRACE)
@pytest.mark.parametrize("case", grid_cases())
def test_traced_layer_matches_eager(case: Case) -> None:
    """`torch.jit.trace` of nn.RNN/LSTM/GRU (layers, bidirectional, batch_first, proj_size,
    unbatched), called on a fresh input of the traced shape, returns the eager output and
    final states within rtol 1.3e-6 and atol 1e-5."""
    module = case.build()
    traced = torch.jit.trace(module, case.input())
    fresh = case.input()
    with torch.no_grad():
        assert_same_results(traced(fresh), module(fresh), f"traced {case.name}", **SCRIPTED)


@pytest.mark.fact(DOCS_JIT_TRACE)
@pytest.mark.parametrize("seed_model", seed_model_params())
def test_traced_seed_model_matches_eager(seed_model: SeedModel) -> None:
    """`torch.jit.trace` of each seed model, called on a fresh input of the traced shape,
    returns the eager outputs within rtol 1.3e-6 and atol 1e-5."""
    model = seed_model.build().eval()
    traced = torch.jit.trace(model, seed_model.example())
    fresh = seed_model.example()
    with torch.no_grad():
        assert_same_results(traced(fresh), model(fresh), f"traced {seed_model.name}", **SCRIPTED)


@pytest.mark.fact(DOCS_JIT_SCRIPT)
@pytest.mark.parametrize("seed_model", seed_model_params())
def test_scripted_seed_model_matches_eager(seed_model: SeedModel, observe) -> None:
    """`torch.jit.script` of each seed model returns the eager outputs within rtol 1.3e-6
    and atol 1e-5."""
    model = seed_model.build().eval()
    scripted = torch.jit.script(model)
    x = seed_model.example()
    with torch.no_grad():
        error = assert_same_results(
            scripted(x), model(x), f"scripted {seed_model.name}", **SCRIPTED
        )
    observe("max_abs_error_vs_eager", error, tolerance=1e-5)


@pytest.mark.fact(DOCS_JIT, since="2.10")
@pytest.mark.parametrize("api", ["script", "trace"])
def test_torchscript_warns_that_it_is_deprecated_from_2_10(api: str, from_release, observe) -> None:
    """From torch 2.10 `torch.jit.script` and `torch.jit.trace` warn (DeprecationWarning or
    FutureWarning) that they are deprecated, naming themselves and pointing to torch.compile;
    before 2.10 they do not warn so.

    Measured: no such warning on 2.2.2 and 2.9.1; DeprecationWarning on 2.10.0 and 2.11.0;
    FutureWarning on 2.14.1 and 2.15.0 ("`torch.jit.trace` is deprecated. Please switch to
    `torch.compile` or `torch.export`."). The category and the words are recorded; other
    warnings do not count.
    """
    layer = nn.LSTM(4, 8)
    with recorded_warnings() as warned:
        if api == "script":
            torch.jit.script(Scripted(layer))
        else:
            torch.jit.trace(layer, torch.randn(3, 2, 4))
    deprecations = warned.about(DEPRECATIONS, f"torch.jit.{api}")
    observe("categories", sorted({w.category.__name__ for w in deprecations}))
    if from_release("2.10"):
        assert deprecations, f"torch.jit.{api} did not warn that it is deprecated"
        assert warned.about(DEPRECATIONS, f"torch.jit.{api}", "torch.compile"), (
            f"the deprecation does not point to torch.compile: {deprecations[0].message}"
        )
        observe("warning", str(deprecations[0].message))
    else:
        assert not deprecations, f"torch.jit.{api} warned: {deprecations[0].message}"
