"""The tutorial models of the seed documents, done right, with their data and training code."""

from models.char_rnn import CharRNN, Vocabulary, next_character_pair, train_char_rnn
from models.checkpoint import load_checkpoint, save_checkpoint
from models.data import SequenceDataset, load_mnist, prepare_mnist
from models.lstm_classifier import LSTMClassifier
from models.rnn_classifier import RNNClassifier
from models.training import Recipe, TrainingLog, evaluate, seeded, train_classifier

__all__ = [
    "CharRNN",
    "LSTMClassifier",
    "RNNClassifier",
    "Recipe",
    "SequenceDataset",
    "TrainingLog",
    "Vocabulary",
    "evaluate",
    "load_checkpoint",
    "load_mnist",
    "next_character_pair",
    "prepare_mnist",
    "save_checkpoint",
    "seeded",
    "train_char_rnn",
    "train_classifier",
]
