"""The tutorial models of the seed documents, done right, with their data and training code.

The names below load with their module on first use (PEP 562), so that `models.data`'s
folder helpers can be imported without torch (the report header of a process that runs no
fact uses them).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_MODULE_OF = {
    "CharRNN": "models.char_rnn",
    "Vocabulary": "models.char_rnn",
    "next_character_pair": "models.char_rnn",
    "train_char_rnn": "models.char_rnn",
    "load_checkpoint": "models.checkpoint",
    "save_checkpoint": "models.checkpoint",
    "SequenceDataset": "models.data",
    "load_mnist": "models.data",
    "prepare_mnist": "models.data",
    "LSTMClassifier": "models.lstm_classifier",
    "RNNClassifier": "models.rnn_classifier",
    "Recipe": "models.training",
    "TrainingLog": "models.training",
    "evaluate": "models.training",
    "seeded": "models.training",
    "train_classifier": "models.training",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(import_module(_MODULE_OF[name]), name)
