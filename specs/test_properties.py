"""Random configurations of nn.RNN, nn.LSTM and nn.GRU: documented shapes, documented equations.

For each of nn.RNN, nn.LSTM and nn.GRU, hypothesis draws sizes, layers, direction, layout, bias,
nonlinearity (RNN) and proj_size (LSTM), and a seed for the weights and the
input; the examples per test come from the active profile (25 by default, 300
with --profile deep). Sizes stay small so an example takes milliseconds.
A failing example is printed by hypothesis as the `Config` it drew.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.testing import assert_close

from models.reference import reference
from rnnspec.sources import DOCS_GRU, DOCS_LSTM, DOCS_RNN

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")

MODULE_TYPES = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


@dataclass(frozen=True)
class Config:
    """One drawn module configuration and input; batch None means unbatched input."""

    kind: str
    input_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    batch_first: bool
    bias: bool
    seq_len: int
    batch: int | None
    proj_size: int  # LSTM only, else 0
    nonlinearity: str  # RNN only, else "tanh"
    seed: int

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def h_out(self) -> int:
        return self.proj_size or self.hidden_size

    def build(self) -> tuple[nn.RNNBase, torch.Tensor]:
        """The module and an input, both drawn from torch.manual_seed(seed)."""
        torch.manual_seed(self.seed)
        options = {"proj_size": self.proj_size} if self.kind == "LSTM" else {}
        if self.kind == "RNN":
            options["nonlinearity"] = self.nonlinearity
        module = MODULE_TYPES[self.kind](
            self.input_size,
            self.hidden_size,
            self.num_layers,
            bias=self.bias,
            batch_first=self.batch_first,
            bidirectional=self.bidirectional,
            **options,
        )
        if self.batch is None:
            shape = (self.seq_len, self.input_size)  # (L, H_in)
        elif self.batch_first:
            shape = (self.batch, self.seq_len, self.input_size)  # (N, L, H_in)
        else:
            shape = (self.seq_len, self.batch, self.input_size)  # (L, N, H_in)
        return module, torch.randn(shape)


KINDS = [
    pytest.param("RNN", id="RNN", marks=pytest.mark.fact(DOCS_RNN)),
    pytest.param("LSTM", id="LSTM", marks=pytest.mark.fact(DOCS_LSTM)),
    pytest.param("GRU", id="GRU", marks=pytest.mark.fact(DOCS_GRU)),
]


@st.composite
def configs(draw: st.DrawFn, kind: str) -> Config:
    """A small configuration of a `kind` module ("RNN", "LSTM" or "GRU") and its input."""
    hidden_size = draw(st.integers(1, 6))
    return Config(
        kind=kind,
        input_size=draw(st.integers(1, 5)),
        hidden_size=hidden_size,
        num_layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        seq_len=draw(st.integers(1, 7)),
        batch=draw(st.none() | st.integers(1, 3)),
        # proj_size must be smaller than hidden_size
        proj_size=draw(st.integers(0, hidden_size - 1)) if kind == "LSTM" else 0,
        nonlinearity=draw(st.sampled_from(["tanh", "relu"])) if kind == "RNN" else "tanh",
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_output_and_state_shapes_are_as_documented(kind, data):
    """For any configuration, output is (L, N, D * H_out) ((N, L, D * H_out) with batch_first,
    (L, D * H_out) unbatched), h_n is (D * num_layers, N, H_out) regardless of batch_first, and
    an LSTM's c_n is (D * num_layers, N, hidden_size); H_out = proj_size if > 0 else hidden_size.

    Red if batch_first reordered h_n, if h_n kept a batch axis for unbatched input, or if a
    projection also shrank c_n."""
    config = data.draw(configs(kind), label="config")
    module, x = config.build()
    output, state = module(x)
    n = () if config.batch is None else (config.batch,)
    width = config.directions * config.h_out
    if config.batch is not None and config.batch_first:
        assert output.shape == (config.batch, config.seq_len, width)
    else:
        assert output.shape == (config.seq_len, *n, width)
    lead = (config.directions * config.num_layers, *n)
    h_n = state[0] if kind == "LSTM" else state
    assert h_n.shape == (*lead, config.h_out)
    if kind == "LSTM":
        assert state[1].shape == (*lead, config.hidden_size)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_module_matches_the_documented_equations(kind, data):
    """For any configuration, the module's output and final states equal those of the
    step-by-step reference of its documented equations (float32, default tolerances)."""
    config = data.draw(configs(kind), label="config")
    module, x = config.build()
    assert_close(module(x), reference(module, x))
