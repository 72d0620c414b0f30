"""The character RNN of seed 001 (모두를 위한 딥러닝 2, Lab 11): "if you want you".

A sentence is one-hot encoded over its own characters; `nn.RNN(V, V,
batch_first=True)` reads all characters but the last, and its tanh outputs
are used directly as logits for the next character.

Done right: the vocabulary is sorted, so indices never depend on the order in
which a `set` iterates (which changes with `PYTHONHASHSEED`), and the one-hot
tensor is built by `torch.nn.functional.one_hot`, not `torch.FloatTensor` of a
list of numpy arrays (slow, and it warns).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from models._checks import check_sequence_batch

SAMPLE = "if you want you"


@dataclass(frozen=True)
class Vocabulary:
    """The distinct characters of a text, in sorted order, and their indices."""

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        return cls(tuple(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def index(self, char: str) -> int:
        return self.chars.index(char)

    def encode(self, text: str) -> torch.Tensor:
        """Indices [len(text)] of each character, int64."""
        return torch.tensor([self.index(c) for c in text], dtype=torch.long)

    def decode(self, indices: torch.Tensor) -> str:
        return "".join(self.chars[i] for i in indices.tolist())

    def one_hot(self, text: str) -> torch.Tensor:
        """One-hot float rows [len(text), len(self)]."""
        return F.one_hot(self.encode(text), num_classes=len(self)).float()


def next_character_pair(text: str, vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """Seed 001's training pair: X [1, L-1, V] one-hot of text[:-1], Y [1, L-1] indices of text[1:]."""
    x = vocab.one_hot(text[:-1]).unsqueeze(0)  # (1, L-1, V)
    y = vocab.encode(text[1:]).unsqueeze(0)  # (1, L-1)
    return x, y


class CharRNN(nn.Module):
    """`torch.nn.RNN(dic_size, hidden_size, batch_first=True)` whose outputs are the logits."""

    def __init__(self, vocab_size: int, hidden_size: int | None = None) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.hidden_size = vocab_size if hidden_size is None else hidden_size
        self.rnn = nn.RNN(vocab_size, self.hidden_size, batch_first=True)

    @torch.jit.unused
    def check_input(self, x: torch.Tensor) -> None:
        """Raise unless x is a non-empty float batch of this model's dtype (models._checks)."""
        check_sequence_batch(x, self.vocab_size, type(self).__name__, self.rnn.weight_ih_l0.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs [N, L, hidden_size] for one-hot x [N, L, vocab_size].

        Raises for any other shape or dtype, except when scripted (see models._checks);
        a NaN at step t of one sample makes that sample's outputs NaN from step t on, and
        nothing else.
        """
        if not torch.jit.is_scripting():  # scripted: no checks (models._checks)
            self.check_input(x)
        out, _ = self.rnn(x)
        return out


@dataclass(frozen=True)
class CharRNNRun:
    """What seed 001's loop prints: the loss and predicted string at every iteration."""

    seed: int
    losses: tuple[float, ...]
    predictions: tuple[str, ...]
    target: str


def train_char_rnn(
    text: str = SAMPLE, seed: int = 0, iterations: int = 50, lr: float = 0.1
) -> CharRNNRun:
    """Seed 001's recipe: Adam(lr 0.1), cross-entropy over the outputs, `iterations` steps.

    As in the seed, the prediction logged at iteration i comes from the forward
    pass of that iteration, before its optimizer step.
    """
    vocab = Vocabulary.from_text(text)
    x, y = next_character_pair(text, vocab)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = CharRNN(len(vocab))
    torch.random.set_rng_state(generator_state)
    optimizer = torch.optim.Adam(model.parameters(), lr)
    criterion = nn.CrossEntropyLoss()
    losses, predictions = [], []
    for _ in range(iterations):
        optimizer.zero_grad()
        outputs = model(x)  # (1, L-1, V)
        loss = criterion(outputs.reshape(-1, len(vocab)), y.reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        predictions.append(vocab.decode(outputs.detach().argmax(dim=2).squeeze(0)))
    return CharRNNRun(seed, tuple(losses), tuple(predictions), text[1:])
