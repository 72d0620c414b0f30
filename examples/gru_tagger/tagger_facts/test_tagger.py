"""Facts about our GRU tagger that a PyTorch upgrade must keep: what it computes on fixed inputs
(recorded on the release we trust), and that its compiled and ONNX deployments agree with
eager. Run beside rnnspec's facts with `rnnspec check --specs examples/gru_tagger/tagger_facts`.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
from tagger import example_batch, trained_weights

# Our own design note for the tagger: the source these facts cite.
DESIGN = "examples/gru_tagger/README.md"
# float32 kernels may reassociate sums between releases and thread counts; the tagger's scores
# are O(1), and 1e-5 is well below any change that could flip a tag.
RECORDED = {"rtol": 1e-4, "atol": 1e-5}
DEPLOYED = {"rtol": 1e-4, "atol": 1e-5}


@pytest.mark.fact(DESIGN)
def test_tagger_scores_and_gradients_stay_as_recorded(reference_outputs) -> None:
    """On the fixed batch (three sentences of 7, 4 and 2 tokens, packed), the tagger's scores
    and the gradients of their sum with respect to every weight equal the values recorded on
    the release we trust, within rtol 1e-4 and atol 1e-5."""
    model = trained_weights()
    tokens, lengths = example_batch()
    reference_outputs.check(model, tokens, lengths, **RECORDED)


@pytest.mark.fact(DESIGN)
def test_padding_does_not_change_a_sentence_s_scores() -> None:
    """A sentence's scores are the same alone and in a padded batch with longer ones: the
    packed GRU never reads the padding."""
    model = trained_weights()
    tokens, lengths = example_batch()
    with torch.no_grad():
        batch = model(tokens, lengths)
        alone = model(tokens[2:, : lengths[2]], lengths[2:])
    torch.testing.assert_close(batch[2, : lengths[2]], alone[0])


@pytest.mark.fact(DESIGN)
def test_compiled_tagger_matches_eager() -> None:
    """`torch.compile(model)` of the tagger, on full-length batches, returns eager's scores
    within rtol 1e-4 and atol 1e-5."""
    if not hasattr(torch, "compile"):
        pytest.skip(f"torch {torch.__version__} has no torch.compile")
    model = trained_weights()
    tokens, _ = example_batch()
    tokens = tokens.clamp(min=1)  # full-length sentences: no packing in the deployed path
    with torch.no_grad():
        expected = model(tokens)
        try:
            compiled = torch.compile(model)(tokens)
        except RuntimeError as error:
            if "not supported" in str(error) and "Python" in str(error):
                pytest.skip(f"torch.compile is not supported here: {error}")
            raise
    torch.testing.assert_close(compiled, expected, **DEPLOYED)


@pytest.mark.fact(DESIGN)
def test_onnx_export_of_tagger_matches_eager(tmp_path: Path) -> None:
    """The tagger exported to ONNX (the TorchScript-based exporter, full-length batches of any
    size and length) runs in onnxruntime and returns eager's scores within rtol 1e-4 and atol
    1e-5 on another batch size and length than the one it was exported with."""
    onnxruntime = pytest.importorskip("onnxruntime")
    model = trained_weights()
    tokens, _ = example_batch()
    tokens = tokens.clamp(min=1)
    path = tmp_path / "tagger.onnx"
    options = (
        {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    )
    torch.onnx.export(
        model,
        (tokens,),
        str(path),
        input_names=["tokens"],
        output_names=["scores"],
        dynamic_axes={"tokens": {0: "batch", 1: "time"}, "scores": {0: "batch", 1: "time"}},
        **options,
    )
    other = torch.randint(1, 50, (2, 9), generator=torch.Generator().manual_seed(5))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (scores,) = session.run(None, {"tokens": other.numpy()})
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(scores), model(other), **DEPLOYED)
