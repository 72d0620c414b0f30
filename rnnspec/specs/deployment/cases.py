"""The cases of the deployment facts: the seed models and one grid of recurrent settings.

Every deployment path (torch.compile, torch.export, ONNX, TorchScript, dynamic
quantization) is held against eager PyTorch on the same weights and the same input.
The modules come from the table in rnnspec.modules (LAYERS: RNN tanh and relu, LSTM
with and without projections, GRU); the settings each path is checked in are listed
here and nowhere else (`GRID`). The grid is small on purpose: compiling and exporting
are slow, and all deployment facts together should add about a minute to the suite on
two cores.

Nothing here imports onnx, onnxruntime or onnxscript at module level: a release or an
environment without them skips those facts with the reason, and never fails collection.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import pytest
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from models.char_rnn import SAMPLE, CharRNN, Vocabulary, next_character_pair
from models.lstm_classifier import LSTMClassifier
from models.rnn_classifier import RNNClassifier
from rnnspec.modules import LAYERS, ModuleInfo, Settings
from rnnspec.sources import SEED_000, SEED_001, SEED_004
from rnnspec.testing import results

# The settings each path is checked in, on every recurrent layer of rnnspec.modules.LAYERS.
GRID: tuple[tuple[str, dict[str, object]], ...] = (
    ("1-layer", {}),
    (
        "2-layers-bidirectional-batch_first",
        {"num_layers": 2, "bidirectional": True, "batch_first": True},
    ),
    ("unbatched", {"batch": None}),
)
# Packed input (lengths 6, 4, 2: sorted, as pack_padded_sequence expects by default), for the
# paths that take a PackedSequence: torch.compile and torch.jit.script.
PACKED_LENGTHS = (6, 4, 2)


@dataclass(frozen=True)
class Case:
    """One recurrent layer of the table in one setting of the grid, and its input."""

    info: ModuleInfo
    settings: Settings
    packed: bool = False

    @property
    def name(self) -> str:
        return self.info.name

    def build(self) -> nn.Module:
        """The module in eval mode (its weights from torch's global generator, seeded per test)."""
        return self.info.build(self.settings).eval()

    def input(self) -> Tensor | PackedSequence:
        """A random input of the documented shape; packed from a padded batch when `packed`."""
        x = self.info.input(self.settings)
        if not self.packed:
            return x
        return pack_padded_sequence(
            x, torch.tensor(PACKED_LENGTHS), batch_first=self.settings.batch_first
        )


def grid_cases(
    settings: tuple[str, ...] | None = None, *, packed: bool = False, layers=LAYERS
) -> list:
    """pytest.param per (layer, setting) of `GRID` (all settings unless named), id
    "<layer>-<setting>"; with `packed`, one packed-input case per layer as well."""
    chosen = [(label, options) for label, options in GRID if settings is None or label in settings]
    cases = [
        pytest.param(Case(info, info.settings(**options)), id=f"{info.name}-{label}")
        for info in layers
        for label, options in chosen
    ]
    if packed:
        cases += [
            pytest.param(
                Case(info, info.settings(batch=len(PACKED_LENGTHS)), packed=True),
                id=f"{info.name}-packed",
            )
            for info in layers
        ]
    return cases


@dataclass(frozen=True)
class SeedModel:
    """A model of the seed documents, built as the seed builds it, with an input it reads."""

    name: str
    seed: str  # the seed document that teaches the model
    build: Callable[[], nn.Module]
    example: Callable[[], Tensor]


def _char_rnn() -> nn.Module:
    return CharRNN(len(Vocabulary.from_text(SAMPLE)))


def _char_rnn_input() -> Tensor:
    x, _ = next_character_pair(SAMPLE, Vocabulary.from_text(SAMPLE))
    return x  # (1, 14, V): "if you want yo", one-hot


SEED_MODELS: tuple[SeedModel, ...] = (
    SeedModel(
        "000-RNNClassifier",
        SEED_000,
        lambda: RNNClassifier(input_dim=28, hidden_dim=100, layer_dim=1, output_dim=10),
        lambda: torch.rand(4, 28, 28),
    ),
    SeedModel("001-CharRNN", SEED_001, _char_rnn, _char_rnn_input),
    SeedModel(
        "004-LSTMClassifier",  # seed 002's RecurrentNeuralNetworkClass is the same model
        SEED_004,
        lambda: LSTMClassifier(input_size=28, hidden_size=128, num_layers=2, num_classes=10),
        lambda: torch.rand(4, 28, 28),
    ),
)


def seed_model_params() -> list:
    return [pytest.param(model, id=model.name) for model in SEED_MODELS]


class Holder(nn.Module):
    """A recurrent layer held as a child, the seed models' way, returning what the layer
    returns: quantize_dynamic swaps a model's children, never the model itself, and export
    traces a held layer where a bare one fails on 2.8-2.9."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> object:
        return self.layer(x)


def assert_same_results(got: object, expected: object, what: str, **tolerances: float) -> float:
    """assert_close on each returned tensor, naming the one that differs; returns the largest
    absolute difference (for `observe`)."""
    __tracebackhide__ = True
    got_tensors, expected_tensors = results(got), results(expected)
    assert len(got_tensors) == len(expected_tensors), (
        f"{what}: {len(got_tensors)} results, eager returns {len(expected_tensors)}"
    )
    largest = 0.0
    for index, (a, b) in enumerate(zip(got_tensors, expected_tensors, strict=True)):
        a = torch.as_tensor(a)
        torch.testing.assert_close(
            a, b.detach(), msg=lambda m, i=index: f"{what}, result {i}: {m}", **tolerances
        )
        if a.numel():
            largest = max(largest, (a.double() - b.detach().double()).abs().max().item())
    return largest


def require_module(name: str, why: str) -> ModuleType:
    """Import `name` or skip the fact, saying which package is missing and what needs it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        pytest.skip(f"{why} needs the package {name.split('.')[0]}, not importable here: {error}")


def require_attribute(owner: object, attribute: str, what: str) -> object:
    """`owner.attribute`, or skip the fact: the installed torch predates `what`."""
    if not hasattr(owner, attribute):
        pytest.skip(f"torch {torch.__version__} has no {what}")
    return getattr(owner, attribute)


def onnx_export_takes_dynamo() -> bool:
    """Whether torch.onnx.export has the `dynamo` switch (2.4+; its torch.export-based exporter
    behind it from 2.5, see test_onnx.py)."""
    return "dynamo" in inspect.signature(torch.onnx.export).parameters
