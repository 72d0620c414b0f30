"""The many-to-one RNN classifier of seed 000 (DL Wizard, "Model A").

An MNIST image is read as 28 rows of 28 pixels; an `nn.RNN` runs over the rows
and a linear readout maps the last hidden state to 10 class scores:

    h_t = act(A1 x_t + B1 + A2 h_{t-1} + B2),  y = A3 h_28 + B3

The parameters are registered in the order the seed lists them: A1, A2, B1, B2
(the RNN's weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0), then A3, B3.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from models._checks import check_sequence_batch


class RNNClassifier(nn.Module):
    """`RNNModel(input_dim, hidden_dim, layer_dim, output_dim)` of seed 000, done right.

    The seed builds h0 = zeros(layer_dim, N, hidden_dim) and detaches it; that is
    exactly `nn.RNN`'s default initial state, so this model passes none.
    """

    def __init__(
        self,
        input_dim: int = 28,
        hidden_dim: int = 100,
        layer_dim: int = 1,
        output_dim: int = 10,
        nonlinearity: Literal["relu", "tanh"] = "relu",
    ) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.layer_dim = layer_dim
        self.output_dim = output_dim
        self.rnn = nn.RNN(
            input_dim, hidden_dim, layer_dim, batch_first=True, nonlinearity=nonlinearity
        )
        self.fc = nn.Linear(hidden_dim, output_dim)

    @torch.jit.unused
    def check_input(self, x: torch.Tensor) -> None:
        """Raise unless x is a non-empty float batch of this model's dtype (models._checks)."""
        check_sequence_batch(x, self.input_dim, type(self).__name__, self.fc.weight.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores [N, output_dim] for a batch of sequences x [N, L, input_dim].

        Raises for any other shape or dtype, except when scripted (see models._checks);
        a NaN in one sample makes that sample's scores NaN and leaves the others unchanged.
        """
        if not torch.jit.is_scripting():  # scripted: no checks (models._checks)
            self.check_input(x)
        out, _ = self.rnn(x)  # (N, L, hidden_dim)
        return self.fc(out[:, -1, :])  # (N, output_dim)
