"""MNIST preparation is offline by default, refuses broken files, and survives concurrent workers.

Each case builds its folder in tmp_path from tiny fake IDX files (3 training
and 2 test images) and swaps `models.data.RAW_FILES` for their sizes and MD5s,
so the checks run exactly as they do on the real 47 MB files, in milliseconds.
The downloader is always a fake: no test here touches the network.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torchvision

from models import data
from models.data import (
    ROOT_ENV,
    MNISTCorruptError,
    MNISTDownloadError,
    MNISTNotFoundError,
    load_mnist,
    prepare_mnist,
    resolve_root,
    verify_raw_files,
)

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
SPLIT_SIZES = {"train": 3, "t10k": 2}


def _idx_images(count: int, offset: int) -> bytes:
    """An IDX3 file of `count` 28x28 uint8 images (magic 0x803, big-endian dimensions)."""
    pixels = bytes((offset + 7 * i) % 256 for i in range(count * 28 * 28))
    return struct.pack(">IIII", 0x803, count, 28, 28) + pixels


def _idx_labels(count: int, offset: int) -> bytes:
    """An IDX1 file of `count` uint8 labels (magic 0x801)."""
    return struct.pack(">II", 0x801, count) + bytes((offset + i) % 10 for i in range(count))


FAKE_FILES: dict[str, bytes] = {
    "train-images-idx3-ubyte": _idx_images(SPLIT_SIZES["train"], 0),
    "train-labels-idx1-ubyte": _idx_labels(SPLIT_SIZES["train"], 0),
    "t10k-images-idx3-ubyte": _idx_images(SPLIT_SIZES["t10k"], 100),
    "t10k-labels-idx1-ubyte": _idx_labels(SPLIT_SIZES["t10k"], 5),
}
FAKE_RAW_FILES = {
    name: (len(content), hashlib.md5(content).hexdigest()) for name, content in FAKE_FILES.items()
}


def use_fake_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make models.data expect the fake files' sizes and MD5s instead of the published ones."""
    assert set(FAKE_RAW_FILES) == set(data.RAW_FILES)
    monkeypatch.setattr(data, "RAW_FILES", FAKE_RAW_FILES)


def write_raw(root: Path, names: tuple[str, ...] = tuple(FAKE_FILES)) -> Path:
    """Write good fake raw files into root/MNIST/raw (only `names`) and return root."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in names:
        (raw / name).write_bytes(FAKE_FILES[name])
    return root


def raw_path(root: Path, name: str = "train-images-idx3-ubyte") -> Path:
    return root / "MNIST" / "raw" / name


@pytest.fixture(autouse=True)
def _fake_mnist_and_clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake checksums, and an environment that points nowhere real (no $HOME data)."""
    use_fake_mnist(monkeypatch)
    monkeypatch.delenv(ROOT_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


class Downloads:
    """Stands in for torchvision's `MNIST.download`: counts calls, writes what it is told."""

    def __init__(self, write: Callable[[Path], None] | None = None) -> None:
        self.calls: list[Path] = []
        self.existing_at_call: list[list[str]] = []
        self.write = write if write is not None else self.write_good

    @staticmethod
    def write_good(raw: Path) -> None:
        for name, content in FAKE_FILES.items():
            (raw / name).write_bytes(content)

    def __call__(self, dataset: torchvision.datasets.MNIST) -> None:
        raw = Path(dataset.raw_folder)
        raw.mkdir(parents=True, exist_ok=True)
        self.calls.append(raw)
        self.existing_at_call.append(sorted(p.name for p in raw.iterdir()))
        self.write(raw)


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Downloads:
    fake = Downloads()
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", lambda self: fake(self))
    return fake


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any socket, connection or URL opened during the test raises and is recorded."""
    attempts: list[str] = []

    def refuse(what: str) -> Callable[..., None]:
        def refused(*args: object, **kwargs: object) -> None:
            attempts.append(what)
            raise OSError(f"test forbids network access ({what})")

        return refused

    monkeypatch.setattr(socket, "socket", refuse("socket.socket"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    monkeypatch.setattr("urllib.request.urlopen", refuse("urllib.request.urlopen"))
    refused_download = refuse("MNIST.download")
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", lambda self: refused_download())
    return attempts


# --- where the data is found ------------------------------------------------------------


def test_explicit_root_wins_over_environment_and_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = write_raw(tmp_path / "explicit")
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "nothing-here"))
    assert resolve_root(good) == (good, "option")
    assert prepare_mnist(good) == good


def test_environment_variable_is_used_without_an_explicit_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = write_raw(tmp_path / "from-env")
    monkeypatch.setenv(ROOT_ENV, str(good))
    assert resolve_root() == (good, "environment")
    assert prepare_mnist() == good


def test_default_is_torch_home_datasets(tmp_path: Path) -> None:
    good = write_raw(tmp_path / "torch-home" / "datasets")
    assert resolve_root() == (good, "default")
    assert prepare_mnist() == good


def test_default_follows_xdg_cache_home_like_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_root() == (tmp_path / "xdg" / "torch" / "datasets", "default")


# --- missing and broken files ---------------------------------------------------------------


def test_missing_files_name_the_folder_searched_and_every_fix(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    with pytest.raises(MNISTNotFoundError) as caught:
        prepare_mnist(empty)
    message = str(caught.value)
    assert str(empty / "MNIST" / "raw") in message
    for fix in ("--mnist-root", ROOT_ENV, "--download-mnist"):
        assert fix in message
    assert isinstance(caught.value, FileNotFoundError)


def test_one_missing_file_is_named(tmp_path: Path) -> None:
    root = write_raw(tmp_path, names=tuple(FAKE_FILES)[:3])
    with pytest.raises(MNISTNotFoundError, match="lacks t10k-labels-idx1-ubyte\\."):
        prepare_mnist(root)


def test_root_given_as_the_raw_folder_gets_the_right_root_suggested(tmp_path: Path) -> None:
    root = write_raw(tmp_path / "data")
    with pytest.raises(MNISTNotFoundError, match=f"use {tmp_path / 'data'} as the root"):
        prepare_mnist(root / "MNIST" / "raw")


def test_truncated_file_is_refused_before_any_training(tmp_path: Path) -> None:
    root = write_raw(tmp_path)
    path = raw_path(root)
    path.write_bytes(FAKE_FILES[path.name][:-100])
    with pytest.raises(MNISTCorruptError, match="truncated") as caught:
        load_mnist(root)
    assert str(path) in str(caught.value)


def test_flipped_byte_of_the_right_size_is_refused(tmp_path: Path) -> None:
    root = write_raw(tmp_path)
    path = raw_path(root, "t10k-images-idx3-ubyte")
    content = bytearray(FAKE_FILES[path.name])
    content[500] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(MNISTCorruptError, match="MD5") as caught:
        verify_raw_files(root)
    assert str(path) in str(caught.value)
    with pytest.raises(MNISTCorruptError):
        load_mnist(root, train=False)


def test_load_returns_the_verified_pixels_as_sequences(tmp_path: Path) -> None:
    root = write_raw(tmp_path)
    test = load_mnist(root, train=False)
    assert test.images.shape == (SPLIT_SIZES["t10k"], 28, 28)
    assert test.images.dtype == torch.float32
    assert test.labels.dtype == torch.int64
    expected = torch.frombuffer(
        bytearray(FAKE_FILES["t10k-images-idx3-ubyte"][16:]), dtype=torch.uint8
    )
    torch.testing.assert_close(test.images, expected.view(-1, 28, 28).float() / 255)
    assert test.labels.tolist() == [5, 6]


def test_legacy_processed_files_are_ignored(tmp_path: Path) -> None:
    """torchvision's MNIST prefers processed/*.pt when present; load_mnist reads the raw files."""
    root = write_raw(tmp_path)
    processed = root / "MNIST" / "processed"
    processed.mkdir()
    impostor = (torch.zeros(7, 28, 28, dtype=torch.uint8), torch.zeros(7, dtype=torch.long))
    for name in ("training.pt", "test.pt"):
        torch.save(impostor, processed / name)
    assert len(load_mnist(root, train=True)) == SPLIT_SIZES["train"]


# --- the network --------------------------------------------------------------------------


def test_without_download_nothing_touches_the_network(
    tmp_path: Path, no_network: list[str]
) -> None:
    with pytest.raises(MNISTNotFoundError):
        prepare_mnist(tmp_path / "empty", download=False)
    broken = write_raw(tmp_path / "broken")
    raw_path(broken).write_bytes(b"\0" * 10)
    with pytest.raises(MNISTCorruptError):
        load_mnist(broken)
    assert len(load_mnist(write_raw(tmp_path / "good"))) == SPLIT_SIZES["train"]
    assert no_network == []


def test_download_fetches_missing_files_once(tmp_path: Path, downloads: Downloads) -> None:
    root = tmp_path / "new"
    assert prepare_mnist(root, download=True) == root
    verify_raw_files(root)
    assert downloads.calls == [root / "MNIST" / "raw"]
    assert len(load_mnist(root, train=False)) == SPLIT_SIZES["t10k"]


def test_download_removes_corrupt_files_before_fetching(
    tmp_path: Path, downloads: Downloads
) -> None:
    """torchvision skips its download when all four file names exist, whatever they hold."""
    root = write_raw(tmp_path)
    raw_path(root).write_bytes(b"not an image file")
    prepare_mnist(root, download=True)
    assert downloads.existing_at_call == [[]]
    verify_raw_files(root)


def test_download_of_good_files_takes_no_lock_and_fetches_nothing(
    tmp_path: Path, downloads: Downloads, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verified folder may be read-only: --download-mnist must not need to write a lock there."""

    def no_lock(*args: object, **kwargs: object) -> None:
        raise AssertionError("took the lock although the files verify")

    monkeypatch.setattr(data, "FileLock", no_lock)
    root = write_raw(tmp_path)
    assert prepare_mnist(root, download=True) == root
    assert downloads.calls == []


def test_download_that_brings_a_bad_file_is_refused(tmp_path: Path, downloads: Downloads) -> None:
    def write_wrong(raw: Path) -> None:
        Downloads.write_good(raw)
        (raw / "t10k-labels-idx1-ubyte").write_bytes(
            b"\0" * FAKE_RAW_FILES["t10k-labels-idx1-ubyte"][0]
        )

    downloads.write = write_wrong
    with pytest.raises(MNISTCorruptError, match="t10k-labels-idx1-ubyte"):
        prepare_mnist(tmp_path, download=True)


@pytest.mark.parametrize(
    ("interruption", "raised"),
    [(RuntimeError, MNISTDownloadError), (KeyboardInterrupt, KeyboardInterrupt)],
    ids=["error", "ctrl-c"],
)
def test_interrupted_download_leaves_no_file_a_later_run_trusts(
    tmp_path: Path,
    downloads: Downloads,
    interruption: type[BaseException],
    raised: type[BaseException],
) -> None:
    """A failed transfer is an environment problem (MNISTDownloadError); Ctrl-C stays Ctrl-C."""

    def write_partially(raw: Path) -> None:
        Downloads.write_good(raw)  # three good files, then half of the fourth
        name = "train-images-idx3-ubyte"
        (raw / name).write_bytes(FAKE_FILES[name][: len(FAKE_FILES[name]) // 2])
        raise interruption("connection lost")

    downloads.write = write_partially
    with pytest.raises(raised):
        prepare_mnist(tmp_path, download=True)
    with pytest.raises(MNISTCorruptError, match="train-images-idx3-ubyte"):
        prepare_mnist(tmp_path, download=False)
    downloads.write = Downloads.write_good
    assert prepare_mnist(tmp_path, download=True) == tmp_path
    assert len(downloads.calls) == 2
    assert len(load_mnist(tmp_path)) == SPLIT_SIZES["train"]


# --- several workers at once -----------------------------------------------------------------


def _prepare_in_worker(root: str, log: str) -> str:
    """One xdist-like worker: fake checksums, a slow fake download that logs each call."""
    mp = pytest.MonkeyPatch()
    use_fake_mnist(mp)

    def slow_download(dataset: torchvision.datasets.MNIST) -> None:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        raw = Path(dataset.raw_folder)
        raw.mkdir(parents=True, exist_ok=True)
        for name, content in FAKE_FILES.items():
            with (raw / name).open("wb") as f:  # slowly, so an unlocked reader would see it half
                for start in range(0, len(content), 512):
                    f.write(content[start : start + 512])
                    f.flush()
                    time.sleep(0.002)

    mp.setattr(torchvision.datasets.MNIST, "download", slow_download)
    try:
        prepare_mnist(root, download=True)
        return "ok"
    except Exception as error:  # reported to the parent, which asserts on it
        return f"{type(error).__name__}: {error}"
    finally:
        mp.undo()


@pytest.mark.slow
def test_concurrent_workers_download_once_and_never_see_partial_files(tmp_path: Path) -> None:
    """Four processes prepare one empty folder with download=True at the same time.

    They are forked, not spawned: a spawned worker would spend seconds importing
    torch, and these workers run no torch kernel (no OpenMP state to inherit).
    """
    root, log = tmp_path / "shared", tmp_path / "downloads.log"
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        results = pool.starmap(_prepare_in_worker, [(str(root), str(log))] * 4)
    assert results == ["ok"] * 4
    assert len(log.read_text().split()) == 1
    verify_raw_files(root)


# --- what the suite does with it -------------------------------------------------------------

MNIST_SPEC = '''
import pytest

@pytest.mark.fact("004_57c8edae8e30b84a.txt")
def test_uses_mnist(mnist_root):
    """MNIST is prepared for the facts that train on it."""
'''


@pytest.fixture
def spec_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A copy of the suite's conftest files and pytest.ini, with one spec that needs MNIST; the
    facts run in pytest's own process (-n 0), where the tests patch the network away."""
    ini = (REPO / "pytest.ini").read_text()
    (pytester.path / "pytest.ini").write_text(ini.replace("addopts = ", "addopts = -n 0 ", 1))
    shutil.copy(REPO / "conftest.py", pytester.path / "conftest.py")
    (pytester.path / "specs").mkdir()
    shutil.copy(REPO / "rnnspec" / "specs" / "conftest.py", pytester.path / "specs" / "conftest.py")
    (pytester.path / "specs" / "test_needs_mnist.py").write_text(MNIST_SPEC)
    return pytester


@pytest.mark.parametrize(
    "configured",
    [
        pytest.param("option-empty", id="mnist-root-without-files"),
        pytest.param("option-truncated", id="mnist-root-with-truncated-file"),
        pytest.param("environment-empty", id="env-root-without-files"),
    ],
)
def test_mnist_specs_error_when_the_configured_folder_is_broken(
    spec_suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, configured: str
) -> None:
    broken = spec_suite.path / "broken"
    if configured.endswith("truncated"):
        raw = broken / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for name in data.RAW_FILES:
            (raw / name).write_bytes(b"\0" * 16)
    args = ["-p", "no:cacheprovider", "-rs"]
    if configured.startswith("option"):
        args += ["--mnist-root", str(broken)]
    else:
        monkeypatch.setenv(ROOT_ENV, str(broken))
    result = spec_suite.runpytest(*args)
    result.assert_outcomes(errors=1)
    error = "MNISTCorruptError" if configured.endswith("truncated") else "MNISTNotFoundError"
    result.stdout.fnmatch_lines([f"*{error}*"])


def test_mnist_specs_skip_with_the_reason_when_nothing_is_configured(
    spec_suite: pytest.Pytester,
) -> None:
    result = spec_suite.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*MNIST not found*--mnist-root*"])
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # facts collected, none executed


def test_offline_download_is_an_error_of_the_environment_not_a_failed_fact(
    spec_suite: pytest.Pytester, no_network: list[str]
) -> None:
    """Red if a download that cannot reach the network reads as PyTorch behaviour: the fact
    must be an "error" with the fix, the verdict "incomplete: environment", no fact failed."""
    report = spec_suite.path / "report"
    empty = spec_suite.path / "empty"
    args = ["-p", "no:cacheprovider", f"--mnist-root={empty}", "--download-mnist"]
    result = spec_suite.runpytest(*args, f"--report-dir={report}")
    assert no_network  # the download was really attempted
    assert result.ret == 6  # rnnspec.schema.EXIT_ENVIRONMENT
    payload = json.loads((report / "report.json").read_text())
    assert payload["verdict"] == "incomplete: environment"
    assert payload["summary"]["failed"] == 0
    (row,) = payload["facts"]
    assert row["outcome"] == "error"
    assert row["observed"].startswith("MNISTDownloadError: MNIST could not be downloaded")
    assert row["fix"] == data.DOWNLOAD_FIX
