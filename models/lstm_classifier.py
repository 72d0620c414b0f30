"""The LSTM classifier of seeds 002 and 004: MNIST rows through `nn.LSTM`, last step read out.

Seed 004 (yunjey's tutorial) names the constructor `RNN(input_size, hidden_size,
num_layers, num_classes)` with the attributes `lstm` and `fc`; seed 002 calls
the same model `RecurrentNeuralNetworkClass(xdim, hdim, ydim, n_layer)` and
leaves its readout as "FILL IN HERE". This module uses seed 004's names
(those of `nn.LSTM` itself); seed 002's xdim/hdim/ydim/n_layer map onto them
one to one.
"""

from __future__ import annotations

import torch
from torch import nn

from models._checks import check_sequence_batch


class LSTMClassifier(nn.Module):
    """Many-to-one LSTM: class scores from the top layer's output at the last time step."""

    def __init__(
        self,
        input_size: int = 28,
        hidden_size: int = 128,
        num_layers: int = 2,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_classes = num_classes
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    @torch.jit.unused
    def check_input(self, x: torch.Tensor) -> None:
        """Raise unless x is a non-empty float batch of this model's dtype (models._checks)."""
        check_sequence_batch(x, self.input_size, type(self).__name__, self.fc.weight.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores [N, num_classes] for x [N, L, input_size]; any L >= 1 works.

        Raises for any other shape or dtype, except when scripted (see models._checks);
        a NaN in one sample makes that sample's scores NaN and leaves the others unchanged.
        """
        if not torch.jit.is_scripting():  # scripted: no checks (models._checks)
            self.check_input(x)
        out, _ = self.lstm(x)  # (N, L, hidden_size); zero (h0, c0) by default
        return self.fc(out[:, -1, :])  # (N, num_classes)
