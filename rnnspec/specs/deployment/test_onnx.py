"""ONNX export of recurrent models, run in onnxruntime on CPU, held against eager.

`torch.onnx.export` has two exporters: the TorchScript-based one (`dynamo=False`, the
only one before 2.5) and the torch.export-based one (`dynamo=True`, new in 2.5, the
default from 2.9), which writes the graph with onnxscript. (torch 2.4 took `dynamo=True`
too, but ran the TorchDynamo-based `torch.onnx.dynamo_export` with it, which cannot
trace the recurrent layers and fails with current onnxscript: the dynamo facts are
skipped before 2.5.) Each exported model is run with
onnxruntime's CPUExecutionProvider on the input it was exported with, and every output
(output, h_n[, c_n]) is compared with eager.

The dynamo exporter is checked on one setting per layer (it is the slow one); the
legacy exporter on the whole grid.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnnspec.ledger import ONNX_DYNAMO_LSTM_STATE_SQUEEZE, ONNXSCRIPT_GRU_LINEAR_BEFORE_RESET
from rnnspec.modules import LAYERS, record
from rnnspec.releases import torch_at_least
from rnnspec.sources import DOCS_ONNX, DOCS_ONNX_EXPORT
from rnnspec.specs.deployment.cases import (
    Case,
    SeedModel,
    assert_same_results,
    grid_cases,
    onnx_export_takes_dynamo,
    require_module,
    seed_model_params,
)

# onnxruntime's kernels are not PyTorch's: float32 results agree to a few ulps of the
# outputs' scale (about 6e-8 measured on 2.15.0); the GRU bug differs by about 0.1.
ONNXRUNTIME = {"rtol": 1e-4, "atol": 1e-5}
EXPORTERS = ("dynamo", "legacy")
WITHOUT_PROJECTIONS = tuple(info for info in LAYERS if not info.options.get("proj_size"))
# One RNN (tanh; relu writes the same ONNX operator); the LSTM and the GRU have facts of their own.


def export_onnx(
    module: torch.nn.Module, example: torch.Tensor, exporter: str, folder: Path
) -> Path:
    """Export `module` with one of the two exporters to a file; skip where this release (or
    this environment) lacks that exporter."""
    require_module("onnx", "ONNX export")
    path = folder / f"{exporter}.onnx"
    if exporter == "dynamo":
        if not onnx_export_takes_dynamo() or not torch_at_least("2.5"):
            pytest.skip(
                f"torch {torch.__version__} has no torch.export-based ONNX exporter "
                "(torch.onnx.export(..., dynamo=True), added in 2.5)"
            )
        require_module("onnxscript", "the dynamo ONNX exporter")
        torch.onnx.export(module, (example,), str(path), dynamo=True)
    elif onnx_export_takes_dynamo():
        torch.onnx.export(module, (example,), str(path), dynamo=False)
    else:
        torch.onnx.export(module, (example,), str(path))
    return path


def run_onnxruntime(path: Path, example: torch.Tensor) -> list:
    """Every output of the model at `path` for `example`, from onnxruntime on CPU."""
    onnxruntime = require_module("onnxruntime", "running an exported ONNX model")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    return [torch.from_numpy(out) for out in session.run(None, {model_input.name: example.numpy()})]


def _exported_and_eager(case: Case, exporter: str, folder: Path) -> tuple[list, object]:
    module = case.build()
    x = case.input()
    with torch.no_grad():
        expected = module(x)
    return run_onnxruntime(export_onnx(module, x, exporter, folder), x), expected


@pytest.mark.fact(DOCS_ONNX_EXPORT)
@pytest.mark.parametrize("case", grid_cases(layers=WITHOUT_PROJECTIONS))
def test_legacy_exported_layer_matches_eager(case: Case, tmp_path: Path, observe) -> None:
    """The TorchScript-based exporter (`dynamo=False`) writes nn.RNN/LSTM/GRU (layers,
    bidirectional, batch_first, unbatched) as a model whose outputs in onnxruntime equal
    eager's within rtol 1e-4 and atol 1e-5."""
    got, expected = _exported_and_eager(case, "legacy", tmp_path)
    error = assert_same_results(got, expected, f"legacy ONNX {case.name}", **ONNXRUNTIME)
    observe("max_abs_error_vs_eager", error, tolerance=1e-5)


@pytest.mark.fact(DOCS_ONNX)
@pytest.mark.parametrize(
    "case", grid_cases(("2-layers-bidirectional-batch_first",), layers=(record("RNN"),))
)
def test_dynamo_exported_layer_matches_eager(case: Case, tmp_path: Path, observe) -> None:
    """The torch.export-based exporter (`dynamo=True`) writes nn.RNN (2 layers, bidirectional,
    batch_first) as a model whose outputs in onnxruntime equal eager's within rtol 1e-4 and
    atol 1e-5."""
    got, expected = _exported_and_eager(case, "dynamo", tmp_path)
    error = assert_same_results(got, expected, f"dynamo ONNX {case.name}", **ONNXRUNTIME)
    observe("max_abs_error_vs_eager", error, tolerance=1e-5)


@pytest.mark.fact(DOCS_ONNX, bug=ONNX_DYNAMO_LSTM_STATE_SQUEEZE)
@pytest.mark.parametrize(
    "case", grid_cases(("2-layers-bidirectional-batch_first",), layers=(record("LSTM"),))
)
def test_dynamo_exported_lstm_matches_eager(case: Case, tmp_path: Path, known_bug, observe) -> None:
    """The torch.export-based exporter (`dynamo=True`) writes nn.LSTM (2 layers, bidirectional,
    batch_first) as a model that onnxruntime runs, with outputs equal to eager's within rtol
    1e-4 and atol 1e-5.

    Known bug on 2.5: the exported graph squeezes h_n and c_n on an axis that is not of
    size 1 and onnxruntime refuses to load the model (ShapeInferenceError on a Squeeze).
    """
    module = case.build()
    x = case.input()
    with torch.no_grad():
        expected = module(x)
    path = export_onnx(module, x, "dynamo", tmp_path)
    with known_bug.expected(match=r"onnxruntime refused the exported model"):
        try:
            got = run_onnxruntime(path, x)
        except pytest.skip.Exception:
            raise
        except Exception as error:  # onnxruntime's own exception types (Fail, InvalidGraph)
            raise AssertionError(
                f"onnxruntime refused the exported model: {type(error).__name__}: {error}"
            ) from error
        error = assert_same_results(got, expected, f"dynamo ONNX {case.name}", **ONNXRUNTIME)
        observe("max_abs_error_vs_eager", error, tolerance=1e-5)


# The reproducer of microsoft/onnxscript#2852, nn.GRU(1, 32, batch_first=True) (the report
# pytorch/pytorch#189225 reproduces the same bug with nn.GRU(4, 8)), and the grid's GRU setting.
GRU_CASES = [
    pytest.param(
        Case(record("GRU"), record("GRU").settings(input_size=1, hidden_size=32, batch_first=True)),
        id="GRU-1-32-batch_first",
    ),
    *grid_cases(("2-layers-bidirectional-batch_first",), layers=(record("GRU"),)),
]


@pytest.mark.fact(DOCS_ONNX, bug=ONNXSCRIPT_GRU_LINEAR_BEFORE_RESET)
@pytest.mark.parametrize("case", GRU_CASES)
def test_dynamo_exported_gru_matches_eager(case: Case, tmp_path: Path, known_bug, observe) -> None:
    """The torch.export-based exporter (`dynamo=True`) writes nn.GRU as a model whose outputs
    in onnxruntime equal eager's within rtol 1e-4 and atol 1e-5 (nn.GRU applies the reset
    gate after the hidden matrix product: ONNX's linear_before_reset=1)."""
    got, expected = _exported_and_eager(case, "dynamo", tmp_path)
    with known_bug.expected(match="Mismatched elements"):
        error = assert_same_results(got, expected, f"dynamo ONNX {case.name}", **ONNXRUNTIME)
        observe("max_abs_error_vs_eager", error, tolerance=1e-5)


@pytest.mark.fact(DOCS_ONNX)
@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("seed_model", seed_model_params())
def test_exported_seed_model_matches_eager_in_onnxruntime(
    seed_model: SeedModel, exporter: str, tmp_path: Path
) -> None:
    """Each seed model exported to ONNX (both exporters) returns in onnxruntime the eager
    outputs within rtol 1e-4 and atol 1e-5."""
    model = seed_model.build().eval()
    x = seed_model.example()
    with torch.no_grad():
        expected = model(x)
    got = run_onnxruntime(export_onnx(model, x, exporter, tmp_path), x)
    assert_same_results(got, expected, f"{exporter} ONNX {seed_model.name}", **ONNXRUNTIME)


@pytest.mark.fact(DOCS_ONNX)
@pytest.mark.parametrize("exporter", EXPORTERS)
def test_lstm_with_projections_is_never_exported_silently_wrong(
    exporter: str, tmp_path: Path, observe
) -> None:
    """ONNX's LSTM operator has no projection, so an nn.LSTM with `proj_size` is either refused
    (by the exporter or by onnxruntime) or exported so that it still equals eager: never a
    model that runs and returns something else.

    Observed on 2.15.0: the legacy exporter raises "LSTMs with projections" unsupported; the
    dynamo exporter writes a model onnxruntime refuses to run (initial_c of the wrong shape).
    """
    case = Case(record("LSTM-proj_size"), record("LSTM-proj_size").settings())
    module = case.build()
    x = case.input()
    with torch.no_grad():
        expected = module(x)
    try:
        path = export_onnx(module, x, exporter, tmp_path)
    except pytest.skip.Exception:
        raise
    except Exception as error:
        observe("outcome", f"export refused: {type(error).__name__}")
        return
    try:
        got = run_onnxruntime(path, x)
    except pytest.skip.Exception:
        raise
    except Exception as error:
        observe("outcome", f"onnxruntime refused: {type(error).__name__}")
        return
    observe("outcome", "exported")
    assert_same_results(got, expected, f"{exporter} ONNX LSTM with proj_size", **ONNXRUNTIME)
