"""Dynamic int8 quantization (`torch.ao.quantization.quantize_dynamic`) of recurrent models.

`quantize_dynamic(model, {nn.LSTM, nn.GRU}, dtype=torch.qint8)` replaces
those children of `model` by versions with int8 weights, quantizing activations on
the fly. Seed 004's LSTM, trained on MNIST, must keep its accuracy within one
percentage point. The quantized layers take batched input only (2.15.0: "input must have
3 dimensions, got 2" for an unbatched sequence), so the grid here has no unbatched case.
torch.ao.quantization is deprecated (pytorch/pytorch pull #153892 added the
warning): the warning is recorded, and whether it names quantize_dynamic is an
observation.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from rnnspec.ledger import QUANTIZABLE_LSTM_BIDIRECTIONAL_LAYERS, QUANTIZED_LSTM_PROJECTION_FAILS
from rnnspec.modules import record
from rnnspec.sources import DOCS_QUANTIZATION, DOCS_QUANTIZE_DYNAMIC, PR_QUANTIZATION_DEPRECATED
from rnnspec.specs.conftest import TRAINED_LSTM
from rnnspec.specs.deployment.cases import Case, Holder, assert_same_results, grid_cases
from rnnspec.testing import recorded_warnings

# int8 weights carry about 1/127 of each weight row's range; measured on 2.15.0 the outputs
# and states of these small layers move by at most 5e-3.
QUANTIZED = {"rtol": 0.0, "atol": 0.02}
DEPRECATIONS = (DeprecationWarning, FutureWarning)


def quantize_dynamic(model: nn.Module) -> nn.Module:
    """A copy of `model` with its LSTM and GRU children int8-quantized dynamically (Linear
    stays float: the seed models read `fc.weight.dtype`, which a quantized Linear lacks)."""
    quantization = getattr(getattr(torch, "ao", None), "quantization", None)
    if quantization is None or not hasattr(quantization, "quantize_dynamic"):
        pytest.skip(f"torch {torch.__version__} has no torch.ao.quantization.quantize_dynamic")
    if not torch.backends.quantized.supported_engines or torch.backends.quantized.engine == "none":
        pytest.skip("this torch build has no quantized engine (fbgemm, onednn, qnnpack)")
    return quantization.quantize_dynamic(copy.deepcopy(model), {nn.LSTM, nn.GRU}, dtype=torch.qint8)


@pytest.mark.fact(DOCS_QUANTIZE_DYNAMIC)
@pytest.mark.parametrize(
    "case",
    grid_cases(
        ("1-layer", "2-layers-bidirectional-batch_first"),
        layers=(record("LSTM"), record("GRU")),
    ),
)
def test_dynamically_quantized_layer_stays_close_to_float(case: Case, observe) -> None:
    """`quantize_dynamic` turns nn.LSTM and nn.GRU (layers, bidirectional, batch_first) into
    dynamically quantized modules whose output and final states stay within 0.02 (absolute) of
    the float32 module's on the same input."""
    float_model = Holder(case.build())
    quantized = quantize_dynamic(float_model)
    assert type(quantized.layer) is not type(float_model.layer), "the layer was not quantized"
    x = case.input()
    with torch.no_grad():
        error = assert_same_results(quantized(x), float_model(x), f"int8 {case.name}", **QUANTIZED)
    observe("max_abs_error_vs_float", error, tolerance=0.01)


@pytest.mark.fact(DOCS_QUANTIZE_DYNAMIC, bug=QUANTIZED_LSTM_PROJECTION_FAILS)
def test_dynamically_quantized_lstm_with_projections_stays_close_to_float(
    known_bug, observe
) -> None:
    """`quantize_dynamic` turns an nn.LSTM(12, 24, proj_size=8) into a quantized module whose
    output (10, 2, 8) and final states stay within 0.02 (absolute) of the float32 module's.

    Red where the quantized LSTM packs the projected recurrent weight (24 x 8) as if it were
    24 x 24 and fails in forward ("The number of rows in the packB should be equal to K: 24",
    pytorch/pytorch#74953), or where it leaves the projection out.
    """
    torch.manual_seed(0)
    float_model = Holder(nn.LSTM(12, 24, proj_size=8))
    quantized = quantize_dynamic(float_model)
    x = torch.randn(10, 2, 12)
    with torch.no_grad(), known_bug.expected(match="forward raised"):
        try:
            got = quantized(x)
        except RuntimeError as error:
            observe("error", str(error).splitlines()[0][:300])
            raise AssertionError(f"the quantized forward raised: {error}") from None
        error = assert_same_results(got, float_model(x), "int8 LSTM proj_size=8", **QUANTIZED)
        observe("max_abs_error_vs_float", error, tolerance=0.01)


@pytest.mark.fact(DOCS_QUANTIZATION, bug=QUANTIZABLE_LSTM_BIDIRECTIONAL_LAYERS)
def test_quantizable_bidirectional_lstm_feeds_both_directions_to_the_next_layer(
    known_bug, observe
) -> None:
    """`torch.ao.nn.quantizable.LSTM(4, 3, num_layers=2, bidirectional=True)`, the module the
    static (prepare/convert) flow swaps in for nn.LSTM and documented as taking nn.LSTM's
    arguments, reads (5, 2, 4) and returns an output (5, 2, 6) and states (4, 2, 3), as
    nn.LSTM does: its second layer reads both directions of the first (2 * 3 features).

    Red where the layers after the first are built to read hidden_size features instead of
    2 * hidden_size ("mat1 and mat2 shapes cannot be multiplied (2x6 and 3x12)",
    pytorch/pytorch#89357).
    """
    quantizable = getattr(getattr(getattr(torch, "ao", None), "nn", None), "quantizable", None)
    if quantizable is None:
        pytest.skip(f"torch {torch.__version__} has no torch.ao.nn.quantizable")
    torch.manual_seed(0)
    lstm = quantizable.LSTM(4, 3, num_layers=2, bidirectional=True)
    with known_bug.expected(match="forward raised"):
        try:
            output, (h_n, c_n) = lstm(torch.randn(5, 2, 4))
        except RuntimeError as error:
            observe("error", str(error).splitlines()[0][:300])
            raise AssertionError(f"the quantizable LSTM's forward raised: {error}") from None
        assert tuple(output.shape) == (5, 2, 6), f"output {tuple(output.shape)}"
        assert tuple(h_n.shape) == tuple(c_n.shape) == (4, 2, 3), f"h_n {tuple(h_n.shape)}"


@pytest.mark.fact(PR_QUANTIZATION_DEPRECATED, since="2.8")
def test_quantize_dynamic_warns_that_torch_ao_quantization_is_deprecated(
    from_release, observe
) -> None:
    """From torch 2.8 `quantize_dynamic` warns (DeprecationWarning) that torch.ao.quantization
    is deprecated, naming it; before 2.8 it does not.

    Measured: no such warning on 2.2.2 and 2.6.0; a DeprecationWarning "torch.ao.quantization
    is deprecated and will be removed in 2.10" on 2.8.0, 2.9.1, 2.10.0, 2.11.0, 2.14.1 and
    2.15.0 (the removal has not happened by 2.15). The category and whether the message names
    quantize_dynamic are recorded; other warnings do not count.
    """
    with recorded_warnings() as warned:
        quantize_dynamic(Holder(nn.LSTM(4, 8)))
    deprecations = warned.about(DEPRECATIONS, "torch.ao.quantization")
    observe("categories", sorted({w.category.__name__ for w in deprecations}))
    observe(
        "names_quantize_dynamic", any("quantize_dynamic" in str(w.message) for w in deprecations)
    )
    if from_release("2.8"):
        assert deprecations, (
            "quantize_dynamic did not warn that torch.ao.quantization is deprecated"
        )
    else:
        assert not deprecations, f"quantize_dynamic warned: {deprecations[0].message}"


@pytest.mark.slow
@TRAINED_LSTM
@pytest.mark.fact(DOCS_QUANTIZE_DYNAMIC)
def test_dynamically_quantized_lstm_classifies_within_one_point_of_float(
    trained_lstms, mnist_test, observe
) -> None:
    """Seed 004's LSTM, trained with the seed's recipe, with its nn.LSTM dynamically quantized
    to int8, classifies the 10,000 MNIST test images within one percentage point
    of the float32 model (whose accuracy the training's last evaluation measured)."""
    from models.training import evaluate

    for model, log in trained_lstms:
        float_accuracy = log.final_accuracy
        int8_accuracy = evaluate(quantize_dynamic(model), mnist_test).accuracy
        observe(f"float32_accuracy_seed_{log.seed}", float_accuracy, tolerance=0.5)
        observe(f"int8_accuracy_seed_{log.seed}", int8_accuracy, tolerance=0.5)
        assert abs(int8_accuracy - float_accuracy) <= 1.0, (
            f"training seed {log.seed}: int8 {int8_accuracy:.2f}% vs float32 {float_accuracy:.2f}%"
        )
