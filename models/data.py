"""MNIST as sequences of 28 rows, through `torchvision.datasets.MNIST`.

Where the data lives, in order: the `root` a caller passes (the suite's
`--mnist-root` option), the environment variable `RNNSPEC_MNIST_ROOT`, then the
default `$TORCH_HOME/datasets` (`~/.cache/torch/datasets`). The folder holds
torchvision's layout, `<root>/MNIST/raw/<four IDX files>`.

Nothing touches the network unless the caller asks for a download. Every raw
file is checked against its published size and MD5 before it is used, so a
truncated or corrupted file (an interrupted download, say) is never trusted,
and the images are read from exactly those files (torchvision's legacy
`processed/*.pt` files are ignored). A download holds a file lock, so several
test workers can prepare one folder at once and only the first one fetches.
"""

from __future__ import annotations

import hashlib
import http.client
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from rnnspec.environment import EnvironmentProblem, NetworkUnavailable

if TYPE_CHECKING:
    import torch

ROOT_ENV = "RNNSPEC_MNIST_ROOT"

# Published MD5 of each uncompressed file (also in torchvision's MNIST.resources
# for the .gz files; these are the raw ones, see ../shared/data/README.md).
RAW_FILES: dict[str, tuple[int, str]] = {
    "train-images-idx3-ubyte": (47040016, "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": (60008, "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": (7840016, "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": (10008, "27ae3e4e09519cfbb04c329615203637"),
}

FIX_HINT = (
    "Point rnnspec at a folder that holds MNIST/raw/ with `--mnist-root DIR` or "
    f"`{ROOT_ENV}=DIR`, or let torchvision download it with `--download-mnist` "
    "(needs the network)."
)


CORRUPT_FIX = "Delete it and rerun with --download-mnist, or copy a good file there."
DOWNLOAD_FIX = (
    "pass --mnist-root DIR (a folder holding MNIST/raw/), or run where the MNIST mirrors "
    "are reachable"
)


class MNISTNotFoundError(EnvironmentProblem, FileNotFoundError):
    """The MNIST files are not in the folder searched, and no download was asked for."""

    def __init__(self, message: str) -> None:
        super().__init__(message, fix=FIX_HINT)


class MNISTCorruptError(EnvironmentProblem, RuntimeError):
    """A raw MNIST file exists but its size or checksum is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message, fix=CORRUPT_FIX)


class MNISTDownloadError(NetworkUnavailable):
    """A download was asked for and failed: no network, a mirror down, a bad transfer."""

    def __init__(self, message: str) -> None:
        super().__init__(message, fix=DOWNLOAD_FIX)


@dataclass(frozen=True)
class SequenceDataset:
    """Images as sequences [N, 28, 28] float32 in [0, 1] (row t is step t), labels [N] int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.labels.numel()

    def to(self, device: torch.device | str) -> SequenceDataset:
        return SequenceDataset(self.images.to(device), self.labels.to(device))


def default_root() -> Path:
    """`$TORCH_HOME/datasets`, beside torch's own caches (found the way `torch.hub` finds them)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    torch_home = os.environ.get("TORCH_HOME") or str(Path(cache) / "torch")
    return Path(torch_home).expanduser() / "datasets"


def resolve_root(root: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The data folder and how it was chosen ("option", "environment" or "default")."""
    if root is not None:
        return Path(root).expanduser(), "option"
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).expanduser(), "environment"
    return default_root(), "default"


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def raw_folder(root: Path) -> Path:
    return root / "MNIST" / "raw"


def _misplaced_root_hint(root: Path) -> str:
    """A hint when `root` holds the files itself (or in raw/) instead of in MNIST/raw/."""
    for candidate in (root, root / "raw"):
        if all((candidate / name).is_file() for name in RAW_FILES):
            candidate = candidate.absolute()
            if candidate.name == "raw" and candidate.parent.name == "MNIST":
                return f" The files are in {candidate}: use {candidate.parents[1]} as the root."
            return f" The files are in {candidate}, but the root must hold them in MNIST/raw/."
    return ""


def verify_raw_files(root: Path) -> None:
    """Raise unless all four raw files exist with their published size and MD5.

    MNISTNotFoundError (a file is missing) names the folder searched and how to
    point rnnspec at the data; MNISTCorruptError (wrong size or MD5) names the file.
    """
    root = Path(root)
    raw = raw_folder(root)
    missing = [name for name in RAW_FILES if not (raw / name).is_file()]
    if missing:
        raise MNISTNotFoundError(
            f"MNIST not found: {raw} lacks {', '.join(missing)}."
            f"{_misplaced_root_hint(root)} {FIX_HINT}"
        )
    for name, (size, md5) in RAW_FILES.items():
        path = raw / name
        actual_size = path.stat().st_size
        if actual_size != size:
            raise MNISTCorruptError(
                f"MNIST file {path} has {actual_size} bytes, expected {size} "
                f"(truncated or wrong file). {CORRUPT_FIX}"
            )
        actual_md5 = _md5(path)
        if actual_md5 != md5:
            raise MNISTCorruptError(
                f"MNIST file {path} has MD5 {actual_md5}, expected {md5} (corrupted). {CORRUPT_FIX}"
            )


def download_raw_files(folder: Path) -> None:
    """Fetch the four raw files into `folder/MNIST/raw` with torchvision's downloader.

    `MNIST.download` tries torchvision's mirrors, checks each .gz against its
    MD5 and unpacks it. It is called on an instance built without `__init__`,
    because `__init__` would load a split into memory and, when legacy
    `processed/*.pt` files exist, return before downloading anything.

    A failed download raises MNISTDownloadError, an environment problem: torchvision
    gathers what each mirror answered into a RuntimeError, and lets DNS, socket and
    HTTP errors it does not expect through as they are.
    """
    from torchvision.datasets import MNIST

    downloader = MNIST.__new__(MNIST)
    downloader.root = str(folder)
    try:
        downloader.download()
    except (OSError, RuntimeError, http.client.HTTPException) as error:  # URLError is an OSError
        reason = " ".join(str(error).split())[:500]
        raise MNISTDownloadError(
            f"MNIST could not be downloaded into {raw_folder(folder)}: {reason}"
        ) from error


def prepare_mnist(root: str | os.PathLike[str] | None = None, download: bool = False) -> Path:
    """Return a data folder whose raw MNIST files are present and verified.

    With `download=False` (the default) the network is never touched: a missing
    file raises MNISTNotFoundError, a bad one MNISTCorruptError. With
    `download=True`, missing or corrupt files are removed and fetched by
    torchvision while `<root>/MNIST.lock` is held, so concurrent callers wait
    for the first one instead of writing the same files; a folder that already
    verifies is returned without taking the lock (it may be read-only).
    """
    folder, _ = resolve_root(root)
    try:
        verify_raw_files(folder)
        return folder
    except (MNISTNotFoundError, MNISTCorruptError):
        if not download:
            raise
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "MNIST.lock")):
        try:  # another worker may have fetched the files while this one waited
            verify_raw_files(folder)
            return folder
        except (MNISTNotFoundError, MNISTCorruptError):
            pass
        raw = raw_folder(folder)
        for name in RAW_FILES:  # never let torchvision keep a file that failed the check
            (raw / name).unlink(missing_ok=True)
        download_raw_files(folder)
        verify_raw_files(folder)
    return folder


def load_mnist(
    root: str | os.PathLike[str] | None = None, train: bool = True, download: bool = False
) -> SequenceDataset:
    """MNIST's training (60,000) or test (10,000) split as 28-step sequences in [0, 1], read
    from the raw files once `prepare_mnist` has found (or fetched) and verified them."""
    return read_split(prepare_mnist(root, download), train)


def read_split(folder: Path, train: bool = True) -> SequenceDataset:
    """One split from a folder that `prepare_mnist` has already verified (no second checksum).

    The pixels are those of seed 004's `transforms.ToTensor()` (uint8 / 255),
    converted once for the whole split instead of image by image, read with
    torchvision's IDX reader.
    """
    import torch
    from torchvision.datasets.mnist import read_image_file, read_label_file

    raw = raw_folder(folder)
    prefix = "train" if train else "t10k"
    images = read_image_file(str(raw / f"{prefix}-images-idx3-ubyte"))  # (N, 28, 28) uint8
    labels = read_label_file(str(raw / f"{prefix}-labels-idx1-ubyte"))  # (N,) int64
    return SequenceDataset(images.to(torch.float32).div_(255), labels.to(torch.long))
