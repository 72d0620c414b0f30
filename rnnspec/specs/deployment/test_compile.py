"""torch.compile of recurrent models on CPU, held against eager on the same weights and input.

TorchDynamo does not trace nn.RNN, nn.LSTM or nn.GRU: it breaks the graph at the
call and runs the layer eagerly ("TorchDynamo purposely graph breaks on RNN, GRU,
LSTMs"; later releases: "Dynamo does not support RNN, GRU, or LSTM"). So
`fullgraph=True` refuses them, and a model's code before and after the layer is
compiled as graphs of its own. What the compiler reports (its message, how many
graphs and breaks `torch._dynamo.explain` counts) is recorded with `observe`, so an
upgrade that changes it shows up in `rnnspec diff`.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from rnnspec.ledger import DYNAMO_RNN_GRAPH_BREAK_NOT_RESUMED
from rnnspec.modules import CLASSES, ModuleInfo
from rnnspec.sources import (
    DOCS_COMPILE,
    DOCS_COMPILER_TROUBLESHOOTING,
    ISSUE_DYNAMO_RNN_GRAPH_BREAK,
)
from rnnspec.specs.deployment.cases import (
    Case,
    SeedModel,
    assert_same_results,
    grid_cases,
    require_attribute,
    results,
    seed_model_params,
)
from rnnspec.testing import missing_from, raises_carrying

# Inductor fuses and reorders the float32 arithmetic of the code around the recurrent layer
# (the readout's matrix product, the loss), so results may differ in the last bits.
COMPILED = {"rtol": 1e-4, "atol": 1e-5}
# What Dynamo's refusal names, in every release seen so far: the three classes.
RECURRENT_LAYERS = ("RNN", "GRU", "LSTM")


@pytest.fixture(autouse=True)
def _dynamo_runs_on_this_python() -> None:
    """Skip every fact here where Dynamo refuses the running Python: torch 2.0 raises
    "Python 3.11+ not yet supported for torch.compile" (torch.compile supports 3.11 from 2.1)."""
    import torch._dynamo.eval_frame

    check = getattr(torch._dynamo.eval_frame, "check_if_dynamo_supported", None)
    if check is None:  # a release without the check supports the Python it installs on
        return
    try:
        check()
    except RuntimeError as error:
        pytest.skip(f"torch {torch.__version__}: {error}")


def _gradients(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.fact(DOCS_COMPILE)
@pytest.mark.parametrize("seed_model", seed_model_params())
def test_compiled_seed_model_matches_eager_in_outputs_and_gradients(
    seed_model: SeedModel, observe
) -> None:
    """`torch.compile(model)` (default backend, CPU) of each seed model returns the eager
    outputs and, after `backward()`, the eager gradients of every parameter, within
    rtol 1e-4 and atol 1e-5."""
    require_attribute(torch, "compile", "torch.compile")
    model = seed_model.build()
    twin = copy.deepcopy(model)
    x = seed_model.example()
    compiled = torch.compile(twin)
    got = compiled(x)
    expected = model(x)
    observe(
        "max_abs_error_vs_eager",
        assert_same_results(got, expected, "compiled forward", **COMPILED),
        tolerance=1e-5,
    )
    got.square().mean().backward()
    expected.square().mean().backward()
    eager_grads, compiled_grads = _gradients(model), _gradients(twin)
    assert compiled_grads.keys() == eager_grads.keys(), "compiled backward reached other params"
    for name, grad in eager_grads.items():
        torch.testing.assert_close(
            compiled_grads[name], grad, msg=lambda m, n=name: f"grad of {n}: {m}", **COMPILED
        )


@pytest.mark.fact(DOCS_COMPILE)
@pytest.mark.parametrize("case", grid_cases(packed=True))
def test_compiled_layer_matches_eager_in_outputs_and_gradients(case: Case) -> None:
    """`torch.compile` of a bare nn.RNN/LSTM/GRU (layers, bidirectional, batch_first,
    proj_size, unbatched and packed input) returns the eager outputs and input gradients
    within rtol 1e-4 and atol 1e-5."""
    require_attribute(torch, "compile", "torch.compile")
    module = case.build()
    x = case.input()
    data = x.data if case.packed else x
    data.requires_grad_(True)
    if case.packed:  # rebuild the PackedSequence so its data is the leaf we differentiate
        x = type(x)(data, x.batch_sizes, x.sorted_indices, x.unsorted_indices)
    got = torch.compile(module)(x)
    expected = module(x)
    assert_same_results(got, expected, f"compiled {case.name}", **COMPILED)
    (got_grad,) = torch.autograd.grad(sum(t.sum() for t in results(got)), data)
    (expected_grad,) = torch.autograd.grad(sum(t.sum() for t in results(expected)), data)
    torch.testing.assert_close(got_grad, expected_grad, **COMPILED)


@pytest.mark.fact(ISSUE_DYNAMO_RNN_GRAPH_BREAK)
@pytest.mark.parametrize("info", [pytest.param(i, id=i.class_name) for i in CLASSES])
def test_fullgraph_compile_refuses_recurrent_layers(info: ModuleInfo, observe) -> None:
    """`torch.compile(module, fullgraph=True)` of nn.RNN, nn.LSTM or nn.GRU raises
    `torch._dynamo.exc.Unsupported` on the first call, naming the three recurrent classes:
    Dynamo breaks the graph at them on purpose, and fullgraph forbids graph breaks."""
    require_attribute(torch, "compile", "torch.compile")
    from torch._dynamo.exc import Unsupported

    settings = info.settings()
    compiled = torch.compile(info.build(settings), fullgraph=True)
    with raises_carrying(Unsupported, *RECURRENT_LAYERS) as raised:
        compiled(info.input(settings))
    observe("message", " ".join(str(raised.value).split("\n")[0].split())[:300])


class AroundTheLayer(nn.Module):
    """Code before and after a recurrent layer: Linear -> 2-layer recurrent -> Linear."""

    def __init__(self, cls: type[nn.Module]) -> None:
        super().__init__()
        self.before = nn.Linear(8, 8)
        self.recurrent = cls(8, 16, 2, batch_first=True)
        self.after = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.recurrent(self.before(x))  # (N, L, 16)
        return self.after(output)  # (N, L, 3)


def _linear_calls(graph_module: torch.fx.GraphModule) -> int:
    return sum(
        (node.op == "call_function" and node.target is torch._C._nn.linear)
        or (
            node.op == "call_module"
            and isinstance(graph_module.get_submodule(str(node.target)), nn.Linear)
        )
        for node in graph_module.graph.nodes
    )


@pytest.mark.fact(DOCS_COMPILER_TROUBLESHOOTING, bug=DYNAMO_RNN_GRAPH_BREAK_NOT_RESUMED)
@pytest.mark.parametrize("info", [pytest.param(i, id=i.class_name) for i in CLASSES])
def test_graph_break_at_recurrent_layer_compiles_the_code_around_it(
    info: ModuleInfo, known_bug, observe
) -> None:
    """At the graph break a recurrent layer causes, Dynamo compiles the code before it and the
    code after it as two graphs (one Linear each) and runs the layer eagerly, so the compiled
    model returns the eager result.

    Where Dynamo cannot resume after the break (pytorch/pytorch#141184) it compiles nothing
    and runs the whole model eagerly: right results, no compiled graph. A counting backend
    shows which happens.
    """
    require_attribute(torch, "compile", "torch.compile")
    graphs: list[torch.fx.GraphModule] = []

    def counting_backend(graph_module: torch.fx.GraphModule, example_inputs: list) -> object:
        graphs.append(graph_module)
        return graph_module.forward

    model = AroundTheLayer(info.cls)
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(torch.compile(model, backend=counting_backend)(x), model(x))
    observe("graphs", len(graphs))
    linears = [_linear_calls(g) for g in graphs]
    with known_bug.expected(match="got 0 graphs"):
        assert linears == [1, 1], (
            f"expected two compiled graphs with one Linear each (before and after the "
            f"{info.class_name}), got {len(graphs)} graphs with {linears} Linear calls"
        )


@pytest.mark.fact(DOCS_COMPILER_TROUBLESHOOTING, bug=DYNAMO_RNN_GRAPH_BREAK_NOT_RESUMED)
def test_explain_reports_the_graph_break_at_the_recurrent_layer(known_bug, observe) -> None:
    """`torch._dynamo.explain` of a model with code before and after an nn.LSTM reports at
    least one graph break, and a break reason that names the recurrent layer; the counts
    of graphs, graph breaks and ops it reports are recorded.

    Where Dynamo cannot resume after the break (pytorch/pytorch#141184) explain reports no
    graph and a graph break count of -1 (measured on 2.9.1).
    """
    import torch._dynamo

    explain = require_attribute(torch._dynamo, "explain", "torch._dynamo.explain")
    report = explain(AroundTheLayer(nn.LSTM))(torch.randn(2, 5, 8))
    observe("graph_count", report.graph_count)
    observe("graph_break_count", report.graph_break_count)
    observe("op_count", report.op_count)
    reasons = [" ".join(str(b.reason).split()) for b in report.break_reasons]
    observe("break_reasons", [r[:200] for r in reasons])
    with known_bug.expected(match="no graph break reported"):
        assert report.graph_break_count >= 1, (
            f"no graph break reported: {report.graph_count} graphs, "
            f"{report.graph_break_count} graph breaks"
        )
        assert any(not missing_from(r, RECURRENT_LAYERS) for r in reasons), reasons
