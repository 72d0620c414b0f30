"""A team's own recurrent model: a bidirectional GRU tagger that reads padded token batches.

Each token gets one of `tags` labels from the GRU's states in both directions around it. A
batch of sentences of different lengths is packed (`pack_padded_sequence`, unsorted) so the
padding never enters a state; without lengths the batch is read whole (what an ONNX or
compiled deployment of fixed-length batches runs).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class GRUTagger(nn.Module):
    """Embedding -> 2-layer bidirectional GRU -> linear scores per token."""

    def __init__(self, vocabulary: int = 50, embedding: int = 16, hidden: int = 24, tags: int = 5):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, embedding, padding_idx=0)
        self.gru = nn.GRU(embedding, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.score = nn.Linear(2 * hidden, tags)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Tag scores (B, T, tags) for tokens (B, T); with `lengths` (B,), the steps past each
        length are padding: they are not read, and their scores are those of a zero state."""
        x = self.embed(tokens)
        if lengths is None:
            states, _ = self.gru(x)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            states, _ = pad_packed_sequence(
                self.gru(packed)[0], batch_first=True, total_length=tokens.shape[1]
            )
        return self.score(states)


def example_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Three sentences of 7, 4 and 2 tokens (0 is padding), the same on every run."""
    generator = torch.Generator().manual_seed(1234)
    tokens = torch.randint(1, 50, (3, 7), generator=generator)
    lengths = torch.tensor([7, 4, 2])
    for row, length in enumerate(lengths):
        tokens[row, length:] = 0
    return tokens, lengths


def trained_weights() -> GRUTagger:
    """The tagger with fixed weights (seeded initialisation stands in for a checkpoint)."""
    torch.manual_seed(20261206)
    return GRUTagger().eval()
