"""Checkpoints: written atomically, read without running code, refused when they do not fit."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
import torch
from torch import nn

from models import CharRNN, LSTMClassifier, RNNClassifier
from models.checkpoint import (
    CheckpointMismatchError,
    CheckpointRefusedError,
    load_checkpoint,
    save_checkpoint,
)

MARKER_NAME = "code-ran.txt"


pytestmark = pytest.mark.usefixtures("one_thread")


def small_lstm(hidden_size: int = 16, seed: int = 0) -> LSTMClassifier:
    torch.manual_seed(seed)
    return LSTMClassifier(input_size=28, hidden_size=hidden_size, num_layers=2, num_classes=10)


def parameters_of(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in model.state_dict().items()}


def assert_unchanged(model: nn.Module, before: dict[str, torch.Tensor]) -> None:
    __tracebackhide__ = True
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), f"{name} changed although loading failed"


def write_marker(path: str) -> None:
    """What a malicious checkpoint runs on unpickling, if it gets the chance."""
    Path(path).write_text("arbitrary code ran while loading a checkpoint")


class RunsCodeOnLoad:
    """Pickles as a call to `write_marker(path)`: plain `pickle.load` would run it."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple:
        return (write_marker, (self.path,))


# --- saving ---------------------------------------------------------------------------------


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    saved, fresh = small_lstm(seed=0), small_lstm(seed=1)
    x = torch.rand(3, 5, 28)
    assert not torch.equal(saved(x), fresh(x))  # the load below has something to do
    path = save_checkpoint(saved, tmp_path / "model.ckpt")
    assert load_checkpoint(fresh, path) is fresh
    assert torch.equal(fresh(x), saved(x))


def test_save_creates_missing_folders_and_leaves_only_the_checkpoint(tmp_path: Path) -> None:
    path = save_checkpoint(small_lstm(), tmp_path / "runs" / "a" / "model.ckpt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.ckpt"]


@pytest.mark.parametrize("interruption", [OSError, KeyboardInterrupt], ids=["disk-full", "ctrl-c"])
def test_interrupted_save_keeps_the_old_checkpoint_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interruption: type[BaseException]
) -> None:
    old_model = small_lstm(seed=0)
    path = save_checkpoint(old_model, tmp_path / "model.ckpt")
    old_bytes = path.read_bytes()

    def save_half_then_fail(obj: object, f: io.BufferedWriter, *args: object, **kw: object) -> None:
        f.write(old_bytes[: len(old_bytes) // 2][::-1])  # some bytes of a different file
        raise interruption("No space left on device")

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(interruption):
        save_checkpoint(small_lstm(seed=1), path)
    assert path.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt"]
    monkeypatch.undo()
    assert_unchanged(load_checkpoint(small_lstm(seed=2), path), parameters_of(old_model))


# --- loading untrusted files ----------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda marker: RunsCodeOnLoad(marker), id="object-with-reduce"),
        pytest.param(
            lambda marker: {"fc.weight": torch.zeros(10, 16), "extra": RunsCodeOnLoad(marker)},
            id="hidden-inside-a-state-dict",
        ),
    ],
)
def test_checkpoint_that_would_run_code_is_refused_and_the_code_never_runs(
    tmp_path: Path, payload: object
) -> None:
    marker = tmp_path / MARKER_NAME
    path = tmp_path / "evil.ckpt"
    torch.save(payload(marker), path)
    assert not marker.exists()
    model = small_lstm()
    before = parameters_of(model)
    with pytest.raises(CheckpointRefusedError, match="write_marker") as caught:
        load_checkpoint(model, path)
    assert not marker.exists(), "the checkpoint's code ran during loading"
    assert "weights_only=False" not in str(caught.value)  # no advice to load it unsafely
    assert_unchanged(model, before)


def test_the_crafted_checkpoint_does_run_code_when_unpickled_unsafely(tmp_path: Path) -> None:
    """The control for the test above: the marker appears when nothing guards the load."""
    marker = tmp_path / MARKER_NAME
    torch.save(RunsCodeOnLoad(marker), tmp_path / "evil.ckpt")
    torch.load(tmp_path / "evil.ckpt", weights_only=False)
    assert marker.exists()


def test_plain_pickle_file_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / MARKER_NAME
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(RunsCodeOnLoad(marker), protocol=2))
    with pytest.raises(CheckpointRefusedError):
        load_checkpoint(small_lstm(), path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda good: good[: len(good) // 2], id="truncated"),
        pytest.param(lambda good: b"", id="empty"),
        pytest.param(lambda good: b"hello world" * 10, id="not-a-checkpoint"),
    ],
)
def test_unreadable_file_is_refused_and_the_model_untouched(
    tmp_path: Path, corrupt: object
) -> None:
    good = save_checkpoint(small_lstm(seed=1), tmp_path / "good.ckpt").read_bytes()
    path = tmp_path / "bad.ckpt"
    path.write_bytes(corrupt(good))
    model = small_lstm(seed=0)
    before = parameters_of(model)
    with pytest.raises(CheckpointRefusedError, match=r"bad\.ckpt"):
        load_checkpoint(model, path)
    assert_unchanged(model, before)


def test_tensor_instead_of_a_state_dict_is_refused(tmp_path: Path) -> None:
    torch.save(torch.zeros(3), tmp_path / "tensor.ckpt")
    with pytest.raises(CheckpointRefusedError, match="Tensor, not a state dict"):
        load_checkpoint(small_lstm(), tmp_path / "tensor.ckpt")


def test_missing_file_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_checkpoint(small_lstm(), tmp_path / "nowhere.ckpt")


# --- checkpoints of another model -----------------------------------------------------------


def test_other_hidden_size_names_every_misshapen_key_and_leaves_the_model_unchanged(
    tmp_path: Path,
) -> None:
    """fc.bias fits (10 classes either way): a plain load_state_dict would copy it, then fail."""
    path = save_checkpoint(small_lstm(hidden_size=8), tmp_path / "h8.ckpt")
    model = small_lstm(hidden_size=16)
    before = parameters_of(model)
    with pytest.raises(CheckpointMismatchError) as caught:
        load_checkpoint(model, path)
    message = str(caught.value)
    assert "'lstm.weight_ih_l0' has shape [32, 28] in the file, [64, 28] in the model" in message
    assert "'fc.weight' has shape [10, 8] in the file, [10, 16] in the model" in message
    assert "fc.bias" not in message
    assert_unchanged(model, before)


def test_other_architecture_names_missing_and_unexpected_keys(tmp_path: Path) -> None:
    path = save_checkpoint(RNNClassifier(28, 16, 1, 10), tmp_path / "rnn.ckpt")
    model = small_lstm()
    before = parameters_of(model)
    with pytest.raises(CheckpointMismatchError) as caught:
        load_checkpoint(model, path)
    message = str(caught.value)
    assert "missing key 'lstm.weight_ih_l0'" in message
    assert "missing key 'lstm.weight_ih_l1'" in message
    assert "unexpected key 'rnn.weight_ih_l0'" in message
    assert_unchanged(model, before)


def test_extra_entry_in_the_state_dict_is_a_mismatch(tmp_path: Path) -> None:
    model = CharRNN(5)
    state = {**model.state_dict(), "epoch": torch.tensor(3)}
    torch.save(state, tmp_path / "extra.ckpt")
    with pytest.raises(CheckpointMismatchError, match="unexpected key 'epoch'"):
        load_checkpoint(CharRNN(5), tmp_path / "extra.ckpt")


def test_non_tensor_value_under_a_parameter_name_is_a_mismatch(tmp_path: Path) -> None:
    state = {**CharRNN(5).state_dict(), "rnn.bias_hh_l0": [0.0] * 5}
    torch.save(state, tmp_path / "list.ckpt")
    with pytest.raises(CheckpointMismatchError, match=r"'rnn\.bias_hh_l0' is a list, not a tensor"):
        load_checkpoint(CharRNN(5), tmp_path / "list.ckpt")


def test_saved_file_is_readable_by_plain_torch_load_with_weights_only(tmp_path: Path) -> None:
    """The format is torch's own: anyone can read it safely without rnnspec."""
    model = small_lstm()
    path = save_checkpoint(model, tmp_path / "model.ckpt")
    state = torch.load(path, weights_only=True)
    assert state.keys() == model.state_dict().keys()
