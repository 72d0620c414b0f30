"""The table of recurrent modules under test, in the spirit of PyTorch's ModuleInfo.

One small record per module: its class, the options that make it this entry
(nonlinearity, proj_size), its gate count, whether its state is an (h, c)
pair, the documented equation of one step (rnnspec.reference), and the page it
cites (rnnspec.sources). The general specs read their cases from here:

    LAYERS   nn.RNN (tanh, relu), nn.LSTM (without and with proj_size), nn.GRU
    CELLS    nn.RNNCell (tanh, relu), nn.LSTMCell, nn.GRUCell
    MODULES  LAYERS + CELLS
    CLASSES  one record per layer class (RNN, LSTM, GRU): facts about the class, not its options

A run is described by `Settings` (sizes, layers, direction, layout, bias, and
the module's own options); every shape a module takes or returns, and every
initial state, is computed from it here and nowhere else. Adding a module or
an option is one line in `LAYERS` or `CELLS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import torch
from torch import Tensor, nn

from rnnspec.reference import Step, gru_step, lstm_step, rnn_step
from rnnspec.sources import (
    DOCS_GRU,
    DOCS_GRU_CELL,
    DOCS_LSTM,
    DOCS_LSTM_CELL,
    DOCS_RNN,
    DOCS_RNN_CELL,
)

Shape = tuple[int, ...]
State = Tensor | tuple[Tensor, Tensor]  # what a module takes as hx: h, or (h, c) for an LSTM


@dataclass(frozen=True)
class Settings:
    """One configuration of a module and of the input it reads.

    `batch=None` means unbatched input ((L, H_in) for a layer, (H_in,) for a cell);
    `proj_size` and `nonlinearity` apply only to the modules that take them.
    """

    input_size: int = 3
    hidden_size: int = 5
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    bidirectional: bool = False
    proj_size: int = 0
    nonlinearity: str = "tanh"
    seq_len: int = 6
    batch: int | None = 2

    @property
    def directions(self) -> int:
        """D in the documentation: 2 for a bidirectional module, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def h_out(self) -> int:
        """H_out in the documentation: proj_size when projecting, else hidden_size."""
        return self.proj_size or self.hidden_size

    @property
    def batched(self) -> bool:
        return self.batch is not None

    def describe(self) -> str:
        """A short readable id: the settings that differ from the defaults."""
        changed = [
            f"{f.name}={getattr(self, f.name)}"
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != f.default
        ]
        return ",".join(changed) or "defaults"


@dataclass(frozen=True, eq=False)
class ModuleInfo:
    """One recurrent module under test: what it is, what it returns, what it cites."""

    name: str  # the parameter id, e.g. "LSTM-proj_size"
    cls: type[nn.Module]
    gates: int  # rows of W_ih per hidden unit: 1 (RNN), 4 (i, f, g, o), 3 (r, z, n)
    paired_state: bool  # the state is (h, c)
    step: Step  # the documented equation of one time step (rnnspec.reference)
    docs: str  # the documentation page the module's facts cite
    options: Mapping[str, Any] = field(default_factory=dict)  # Settings fields of this entry

    @property
    def is_cell(self) -> bool:
        return issubclass(self.cls, nn.RNNCellBase)

    @property
    def class_name(self) -> str:
        return self.cls.__name__

    def settings(self, **overrides: Any) -> Settings:
        """Settings for this module: the defaults, this entry's options, then `overrides`."""
        return Settings(**{**self.options, **overrides})

    # ------------------------------------------------------------------ construction

    def build(self, settings: Settings, **extra: Any) -> nn.Module:
        """The module for `settings` (extra constructor arguments such as dropout, dtype, device)."""
        if self.is_cell:
            kwargs: dict[str, Any] = {"bias": settings.bias}
        else:
            kwargs = {
                "num_layers": settings.num_layers,
                "bias": settings.bias,
                "batch_first": settings.batch_first,
                "bidirectional": settings.bidirectional,
            }
            if settings.proj_size:
                kwargs["proj_size"] = settings.proj_size
        if self.cls in (nn.RNN, nn.RNNCell):
            kwargs["nonlinearity"] = settings.nonlinearity
        return self.cls(settings.input_size, settings.hidden_size, **kwargs, **extra)

    # ------------------------------------------------------------------ shapes

    def input_shape(self, settings: Settings) -> Shape:
        """The input: (L, N, H_in), (N, L, H_in) with batch_first, (L, H_in) unbatched; a cell
        reads one step, (N, H_in) or (H_in,)."""
        s = settings
        if self.is_cell:
            return (s.batch, s.input_size) if s.batched else (s.input_size,)
        if not s.batched:
            return (s.seq_len, s.input_size)  # batch_first does not apply to unbatched input
        return (
            (s.batch, s.seq_len, s.input_size)
            if s.batch_first
            else (s.seq_len, s.batch, s.input_size)
        )

    def output_shape(self, settings: Settings) -> Shape:
        """The output: (L, N, D * H_out), (N, L, D * H_out) with batch_first, (L, D * H_out)
        unbatched; a cell returns its new h, shaped like its state."""
        s = settings
        if self.is_cell:
            return self.state_shapes(s)[0]
        width = s.directions * s.h_out
        if not s.batched:
            return (s.seq_len, width)
        return (s.batch, s.seq_len, width) if s.batch_first else (s.seq_len, s.batch, width)

    def state_shapes(self, settings: Settings) -> tuple[Shape, ...]:
        """(h shape,) or (h shape, c shape): (D * num_layers, [N,] H_out) and
        (D * num_layers, [N,] hidden_size), never batch-first; a cell's have no layer axis."""
        s = settings
        lead = () if self.is_cell else (s.directions * s.num_layers,)
        lead += (s.batch,) if s.batched else ()
        h = (*lead, s.h_out)
        return (h, (*lead, s.hidden_size)) if self.paired_state else (h,)

    def h_n_shape(self, settings: Settings) -> Shape:
        return self.state_shapes(settings)[0]

    def c_n_shape(self, settings: Settings) -> Shape:
        if not self.paired_state:
            raise ValueError(f"{self.name} has no cell state")
        return self.state_shapes(settings)[1]

    # ------------------------------------------------------------------ tensors

    def input(
        self,
        settings: Settings,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """A random input of `input_shape` (torch's global generator)."""
        return torch.randn(self.input_shape(settings), dtype=dtype, device=device)

    def initial_state(
        self,
        settings: Settings,
        fill: Literal["random", "zeros"] = "random",
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> State:
        """An explicit h_0 (and c_0) of the documented shapes, as the module takes it: random
        (h scaled by 0.5, c standard normal) or zeros."""
        tensors = []
        for scale, shape in zip((0.5, 1.0), self.state_shapes(settings), strict=False):
            if fill == "zeros":
                tensors.append(torch.zeros(shape, dtype=dtype, device=device))
            else:
                tensors.append(scale * torch.randn(shape, dtype=dtype, device=device))
        return self.pack_state(tensors)

    def pack_state(self, tensors: Iterable[Tensor]) -> State:
        """h, or (h, c) for a module with a paired state: the form the module takes and returns."""
        tensors = tuple(tensors)
        return tensors if self.paired_state else tensors[0]


def params(records: Iterable[ModuleInfo], cite: bool = True) -> list[Any]:
    """pytest.param per record, id the record's name, citing its page when `cite`."""
    import pytest

    return [
        pytest.param(info, id=info.name, marks=[pytest.mark.fact(info.docs)] if cite else [])
        for info in records
    ]


_rnn_relu = partial(rnn_step, nonlinearity="relu")

LAYERS: tuple[ModuleInfo, ...] = (
    ModuleInfo("RNN", nn.RNN, 1, False, rnn_step, DOCS_RNN),
    ModuleInfo("RNN-relu", nn.RNN, 1, False, _rnn_relu, DOCS_RNN, {"nonlinearity": "relu"}),
    ModuleInfo("LSTM", nn.LSTM, 4, True, lstm_step, DOCS_LSTM),
    ModuleInfo("LSTM-proj_size", nn.LSTM, 4, True, lstm_step, DOCS_LSTM, {"proj_size": 3}),
    ModuleInfo("GRU", nn.GRU, 3, False, gru_step, DOCS_GRU),
)
CELLS: tuple[ModuleInfo, ...] = (
    ModuleInfo("RNNCell", nn.RNNCell, 1, False, rnn_step, DOCS_RNN_CELL),
    ModuleInfo(
        "RNNCell-relu", nn.RNNCell, 1, False, _rnn_relu, DOCS_RNN_CELL, {"nonlinearity": "relu"}
    ),
    ModuleInfo("LSTMCell", nn.LSTMCell, 4, True, lstm_step, DOCS_LSTM_CELL),
    ModuleInfo("GRUCell", nn.GRUCell, 3, False, gru_step, DOCS_GRU_CELL),
)
MODULES: tuple[ModuleInfo, ...] = LAYERS + CELLS
# The first entry of each class, with the class's defaults: for facts about nn.RNN, nn.LSTM and
# nn.GRU themselves (argument checks, messages), not about an option.
CLASSES: tuple[ModuleInfo, ...] = tuple(
    next(info for info in LAYERS if info.cls is cls) for cls in (nn.RNN, nn.LSTM, nn.GRU)
)


def record(name: str) -> ModuleInfo:
    """The table entry called `name`."""
    return next(info for info in MODULES if info.name == name)


def record_of(module: nn.Module) -> ModuleInfo:
    """The table entry a module instance belongs to (class, nonlinearity, projection)."""
    candidates = [info for info in MODULES if type(module) is info.cls]
    if not candidates:
        raise TypeError(f"{type(module).__name__} is not in rnnspec.modules")
    settings = settings_of(module)
    names = {name for info in candidates for name in info.options}
    for info in candidates:
        wanted = info.settings()
        if all(
            getattr(settings, n) == getattr(wanted, n)
            or (n == "proj_size" and getattr(settings, n) and getattr(wanted, n))
            for n in names
        ):
            return info
    raise LookupError(f"no entry of rnnspec.modules matches {module}")


def settings_of(module: nn.Module, **input_settings: Any) -> Settings:
    """The Settings a module was built with (input settings such as seq_len, batch from
    `input_settings`)."""
    names = {f.name for f in dataclasses.fields(Settings)}
    found = {name: getattr(module, name) for name in names if hasattr(module, name)}
    if isinstance(module, nn.RNNCellBase):
        found["bias"] = module.bias
    return Settings(**{**found, **input_settings})


# ---------------------------------------------------------------------- settings grids


def grid(**axes: Iterable[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every combination of the given Settings fields, with a readable id per combination,
    in a fixed order (xdist workers must collect the same cases)."""
    import itertools

    names = list(axes)
    for values in itertools.product(*(list(axes[n]) for n in names)):
        chosen = dict(zip(names, values, strict=True))
        yield "-".join(_label(n, v) for n, v in chosen.items()), chosen


def _label(name: str, value: Any) -> str:
    labels: dict[str, Callable[[Any], str]] = {
        "num_layers": lambda v: f"{v}-layer" + "s" * (v > 1),
        "bidirectional": lambda v: "bidirectional" if v else "unidirectional",
        "batch_first": lambda v: "batch_first" if v else "sequence_first",
        "bias": lambda v: "bias" if v else "no-bias",
        "batch": lambda v: "unbatched" if v is None else f"batch-{v}",
        "batched": lambda v: "batched" if v else "unbatched",
    }
    return labels.get(name, lambda v: f"{name}-{v}")(value)


# The input layouts a module reads: batched sequence-first, batched batch-first, unbatched.
LAYOUTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("L-N-H", {"batch_first": False}),
    ("N-L-H-batch_first", {"batch_first": True}),
    ("unbatched", {"batch": None}),
)


def layout_params(layouts: Iterable[tuple[str, dict[str, Any]]] = LAYOUTS) -> list[Any]:
    """pytest.param per layout, the value a dict of Settings fields."""
    import pytest

    return [pytest.param(options, id=name) for name, options in layouts]


def grid_params(**axes: Iterable[Any]) -> list[Any]:
    """pytest.param per combination of `grid(**axes)`, the value a dict of Settings fields."""
    import pytest

    return [pytest.param(options, id=name) for name, options in grid(**axes)]


__all__ = [
    "CELLS",
    "CLASSES",
    "LAYERS",
    "LAYOUTS",
    "MODULES",
    "ModuleInfo",
    "Settings",
    "grid",
    "grid_params",
    "layout_params",
    "params",
    "record",
    "record_of",
    "settings_of",
]
