"""Suite controls: options, devices, the report header, and test independence.

Options (all also usable from `rnnspec check`):
  --mnist-root DIR   folder holding MNIST/raw/ (else $RNNSPEC_MNIST_ROOT, else
                     $TORCH_HOME/datasets); an explicit folder that is broken is an error
  --download-mnist   let torchvision download MNIST into that folder (needs the network)
  --profile deep     train over several seeds and run more hypothesis examples
  --report-dir DIR   write the fact report (Markdown, JSON, PNG) there
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest
import torch

pytest_plugins = ("rnnspec.report",)

CUDA = torch.cuda.is_available()
CUDA_DEVICES = list(range(torch.cuda.device_count())) if CUDA else []
NO_CUDA_REASON = "needs a CUDA device: torch.cuda.is_available() is False on this machine"

# Every device-parametrized fact runs on CPU, and on CUDA where one exists.
DEVICES = ("cpu", pytest.param("cuda", marks=pytest.mark.gpu))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rnnspec")
    group.addoption("--mnist-root", default=None, help="folder holding MNIST/raw/")
    group.addoption(
        "--download-mnist", action="store_true", help="allow torchvision to download MNIST"
    )
    group.addoption(
        "--profile",
        choices=("default", "deep"),
        default=os.environ.get("RNNSPEC_PROFILE", "default"),
        help="deep: training facts over several seeds, more hypothesis examples",
    )


def pytest_configure(config: pytest.Config) -> None:
    from models.training import retain_freed_memory

    retain_freed_memory()  # every process of the run, the xdist workers included
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        # Share the cores among the xdist workers instead of oversubscribing them (on 2 cores,
        # giving the training worker both threads while the other worker ran made the whole
        # suite slower).
        cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // int(worker["workercount"])))
    from hypothesis import settings

    settings.register_profile("default", max_examples=25, deadline=None)
    settings.register_profile("deep", max_examples=300, deadline=None)
    settings.load_profile(config.getoption("--profile"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    import torchvision

    from models.data import resolve_root

    root, how = resolve_root(config.getoption("--mnist-root"))
    return [
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"Python {platform.python_version()}",
        f"CPU threads {torch.get_num_threads()}, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}, CUDA "
        + (torch.cuda.get_device_name() if CUDA else "not available"),
        f"MNIST root {root} ({how}), profile {config.getoption('--profile')}",
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Specs sharing a trained model (an xdist_group) hold the longest jobs: dispatch
    # them first, so no worker starts a training run while the others sit idle.
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)
    if not CUDA:
        skip_gpu = pytest.mark.skip(reason=NO_CUDA_REASON)
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip_gpu)


UNGROUPED = pytest.StashKey[str]()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Notice when `--dist loadgroup` would not keep a group on one worker.

    pytest-xdist groups by suffixing node ids with `@group` on each worker; where a
    pytest release stops honouring that (pytest-dev/pytest-xdist#1386), every worker
    would silently train its own copy of each model. The grouped specs then fail at
    set-up with this message, before any training starts.
    """
    config = session.config
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    lost = [i for i in session.items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
    if lost:
        config.stash[UNGROUPED] = (
            f"pytest {pytest.__version__} with --dist loadgroup does not keep xdist_group "
            "specs on one worker (pytest-dev/pytest-xdist#1386), so each worker would train "
            "its own model; install the pytest that uv.lock names (uv sync --locked)."
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    message = item.config.stash.get(UNGROUPED, None)
    if message and item.get_closest_marker("xdist_group"):
        pytest.fail(message, pytrace=False)


@pytest.fixture(autouse=True)
def _isolated_rng() -> None:
    """Each test starts from torch seed 0 and leaves the global RNG as it found it.

    The CPU generator is seeded directly: `torch.manual_seed` also queues lazy seeding calls
    for CUDA, XPU and MTIA, each recording a stack trace, which cost about 3 ms per test
    (a tenth of the fast suite). CUDA generators are forked and seeded only where CUDA exists.
    """
    with torch.random.fork_rng(devices=CUDA_DEVICES):
        torch.default_generator.manual_seed(0)
        if CUDA_DEVICES:
            torch.cuda.manual_seed_all(0)
        yield


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    """The devices a fact is checked on: CPU always, CUDA when present."""
    return torch.device(request.param)


@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("--profile")


@pytest.fixture(scope="session")
def mnist_root(pytestconfig: pytest.Config) -> Path:
    """The verified MNIST folder, for specs and benchmarks alike. Skips when nothing was
    configured and none is found; an explicitly configured folder (--mnist-root,
    RNNSPEC_MNIST_ROOT) that is missing or corrupt is an error, not a skip."""
    from models.data import MNISTNotFoundError, prepare_mnist, resolve_root

    folder, how = resolve_root(pytestconfig.getoption("--mnist-root"))
    try:
        return prepare_mnist(folder, download=pytestconfig.getoption("--download-mnist"))
    except MNISTNotFoundError as error:
        if how == "default":
            pytest.skip(f"needs MNIST: {error}")
        raise
