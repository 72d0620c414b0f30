"""nn.RNN, nn.LSTM and nn.GRU compute the equations printed on their documentation pages.

Three facts, each tested once:

- the equations: for any configuration drawn by hypothesis (sizes, 1-3 layers,
  direction, layout, bias, float32 or float64, an explicit or an omitted
  initial state, and the entry's own nonlinearity or proj_size), the module
  equals rnnspec.reference, which writes the equations out one time step at a
  time and reads the module's weights by name. What turns it red: a gate order
  other than the documented one (i, f, g, o for LSTM; r, z, n for GRU), the
  GRU's reset gate applied anywhere but to (W_hn h + b_hn), a reverse
  direction that does not read the sequence backwards, final states not
  stacked layer-major and direction-minor, a projection applied to the cell
  state or not at all, batch_first honoured for unbatched input or for h_n, or
  a bias-free module that still adds a bias. Every combination of layers (1-3),
  direction, layout (sequence-first, batch-first, unbatched) and bias is a case,
  each with a few derandomized hypothesis examples (the same every run) of the
  sizes, dtype, initial state and proj_size;
- the golden values: closed-form weights and inputs (rnnspec/golden.py, no
  random generator) give the numbers stored in specs/golden/*.json, so a
  release that computes anything else turns red even where the reference and
  the module would move together;
- on CUDA (cuDNN), the same weights give the CPU result.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnspec import golden
from rnnspec.golden import CASES
from rnnspec.modules import LAYERS, grid_params, params
from rnnspec.reference import reference
from rnnspec.testing import assert_results_close, seed_cpu, settings_strategy, to_device

# CPU LSTMs with projections bypass oneDNN and say so once per process.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")

EXAMPLES = max(3, settings.default.max_examples // 8)  # per structure: 3, 37 with --profile deep


# Every structural combination, each with a few derandomized hypothesis draws of the rest.
STRUCTURE = grid_params(
    num_layers=(1, 2, 3),
    bidirectional=(False, True),
    batched=(True,),
    batch_first=(False, True),
    bias=(True, False),
) + grid_params(  # unbatched input: batch_first is drawn, and must change nothing
    num_layers=(1, 2, 3), bidirectional=(False, True), batched=(False,), bias=(True, False)
)


@pytest.mark.parametrize("structure", STRUCTURE)
@pytest.mark.parametrize("info", params(LAYERS))
@settings(derandomize=True, max_examples=EXAMPLES)
@given(data=st.data())
def test_module_computes_the_documented_equations(info, structure, data):
    """The module's output and final states equal the step-by-step reference of its documented
    equations (RNN: h_t = act(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh); LSTM: gates i, f, g, o,
    c_t = f * c_(t-1) + i * g, h_t = o * tanh(c_t), projected by W_hr; GRU: gates r, z, n with
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_(t-1) + b_hn)), h_t = (1 - z_t) * n_t +
    z_t * h_(t-1)), in every layer and direction, for any configuration.

    float32 and float64 at torch.testing's default tolerances for the dtype (float64:
    rtol 1e-7, atol 1e-7, so the float32 agreement is no rounding accident). An omitted
    initial state is compared with the reference started from zeros.
    """
    config = data.draw(settings_strategy(info, **structure), label="settings")
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]), label="dtype")
    explicit_state = data.draw(st.booleans(), label="explicit initial state")
    seed_cpu(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    module = info.build(config, dtype=dtype)
    x = info.input(config, dtype)
    hx = info.initial_state(config, dtype=dtype) if explicit_state else None
    assert_results_close(module(x, hx), reference(module, x, hx), f"{info.name} {config}")


GOLDEN = [
    pytest.param(case, id=case.name, marks=pytest.mark.fact(case.info.docs)) for case in CASES
]


@pytest.mark.parametrize("case", GOLDEN)
def test_module_reproduces_the_golden_values(case, observe):
    """The module, with the case's closed-form weights, input and initial state, returns the stored
    output, h_n (and c_n) within atol=1e-5, rtol=1e-4 in float32 on CPU.

    The stored values were written by torch 2.15.0 after agreeing with the
    documented equations in float64 (tests/test_golden.py checks the files).
    The tolerance is about a hundred times the float32 rounding of these few
    steps and far below what a change of gate order, activation, bias handling
    or state layout does (1e-2 or more). Red when a release changes what these
    modules compute.
    """
    data = golden.load(case)
    assert data["config"] == case.config(), "stored config differs: run rnnspec golden --regenerate"
    results = golden.run_module(case)
    assert results["output"].dtype == torch.float32
    largest = golden.check_against_reference(
        results, golden.stored_tensors(data), f"torch {torch.__version__}"
    )
    observe("max_abs_error_vs_golden", largest, tolerance=1e-5)


CUDA_SETTINGS = [
    pytest.param(
        {"num_layers": 2, "bidirectional": True, "batch_first": True},
        id="2-layers-bidirectional-batch_first",
    ),
    pytest.param({"num_layers": 3, "bias": False, "batch": None}, id="3-layers-no-bias-unbatched"),
]
# float64: the equations exactly (default tolerances 1e-7). float32: cuDNN may use TF32 tensor
# cores for float32 RNNs on Ampere and later (torch.backends.cudnn.allow_tf32 defaults to True;
# TF32 keeps a 10-bit mantissa), so float32 is compared at 1e-2.
CUDA_DTYPES = [
    pytest.param(torch.float64, None, id="float64"),
    pytest.param(torch.float32, 1e-2, id="float32-tf32-tolerance"),
]


@pytest.mark.gpu
@pytest.mark.parametrize(("dtype", "tolerance"), CUDA_DTYPES)
@pytest.mark.parametrize("overrides", CUDA_SETTINGS)
@pytest.mark.parametrize("info", params(LAYERS))
def test_cuda_returns_the_cpu_result(info, overrides, dtype, tolerance, observe):
    """On CUDA (cuDNN where available) a module with the CPU module's weights returns the CPU
    result in the same layout: output and final states agree, float64 at default tolerances and
    float32 within 1e-2 (cuDNN may use TF32 products for float32).

    float64 keeps reduced-precision kernels from hiding a permuted layout
    behind a loose tolerance.
    """
    config = info.settings(**overrides)
    module = info.build(config, dtype=dtype)
    x, hx = info.input(config, dtype), info.initial_state(config, dtype=dtype)
    expected = module(x, hx)
    cuda = module.to("cuda")
    output, state = cuda(x.cuda(), to_device(hx, "cuda"))
    largest = assert_results_close(
        (output.cpu(), to_device(state, "cpu")),
        expected,
        "cuda vs cpu",
        rtol=tolerance,
        atol=tolerance,
    )
    observe("max_abs_error_vs_cpu", largest, tolerance=tolerance or 1e-6)
