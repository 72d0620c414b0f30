"""Suite controls, a pytest plugin: process-wide settings, devices, the report header, test
independence, and the fixtures every fact may use (`device`, `profile`, `mnist_root`).

The options (`--mnist-root DIR`, `--download-mnist`, `--profile`, `--report-dir DIR`),
the `fact` mark, the citation check and the report live in the plugin,
`rnnspec.plugin` (its parts in rnnspec/tool/plugin/); this module holds what every process of a run sets for itself. Both are
loaded by the checkout's conftest.py (the test command) and by `rnnspec check` (`-p`), so the
facts run the same from a checkout and from an installed wheel.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

CUDA = torch.cuda.is_available()
CUDA_DEVICES = list(range(torch.cuda.device_count())) if CUDA else []
NO_CUDA_REASON = "needs a CUDA device: torch.cuda.is_available() is False on this machine"

# Every device-parametrized fact runs on CPU, and on CUDA where one exists.
DEVICES = ("cpu", pytest.param("cuda", marks=pytest.mark.gpu))

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def retain_freed_memory() -> bool:
    """Let this process reuse the memory a training step frees instead of handing it back.

    glibc serves each large tensor of a step with a fresh mmap and unmaps it
    when the tensor dies, so the next step faults every page in again (about
    12,000 page faults and half the CPU time in the kernel per nn.LSTM step of
    seed 004's recipe on a 2-core VM). Blocks up to 32 MiB from the heap, and a
    heap that is trimmed only above 1 GiB free, remove those faults; the
    arithmetic is untouched. Process-wide and only on glibc: returns whether it
    was applied (False on macOS, Windows, musl). Programs started outside pytest
    (benchmarks.interleaved) call it from here: `from rnnspec.suite import retain_freed_memory`.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    settings = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 1 << 30), (_M_TOP_PAD, 64 << 20))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)


def pytest_configure(config: pytest.Config) -> None:
    retain_freed_memory()  # every process of the run, the xdist workers included
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        # Share the cores among the xdist workers instead of oversubscribing them (on 2 cores,
        # giving the training worker both threads while the other worker ran made the whole
        # suite slower).
        cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // int(worker["workercount"])))
    from hypothesis import settings

    # derandomize: every run draws the same examples, so a property fact checks the same cases
    # on every release and in every process (no example database between runs either).
    settings.register_profile("default", max_examples=25, deadline=None, derandomize=True)
    settings.register_profile("deep", max_examples=300, deadline=None, derandomize=True)
    settings.load_profile(config.getoption("--profile"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    import torchvision

    from models.data import resolve_root
    from rnnspec.machine import cpu_capability

    root, how = resolve_root(config.getoption("--mnist-root"))
    return [
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"Python {platform.python_version()}",
        f"CPU threads {torch.get_num_threads()}, CPU capability "
        f"{cpu_capability()}, CUDA " + (torch.cuda.get_device_name() if CUDA else "not available"),
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
    """The verified MNIST folder, for specs and benchmarks alike.

    Skips when nothing was configured and none is found. A folder named explicitly
    (--mnist-root, RNNSPEC_MNIST_ROOT) that is missing or corrupt, and a download that
    fails, raise an `EnvironmentProblem`: the facts that need MNIST are reported as
    an error of the environment with the fix (rnnspec.schema.ERROR), not as a failure.
    """
    from models.data import MNISTNotFoundError, prepare_mnist, resolve_root

    folder, how = resolve_root(pytestconfig.getoption("--mnist-root"))
    download = pytestconfig.getoption("--download-mnist")
    try:
        return prepare_mnist(folder, download=download)
    except MNISTNotFoundError as error:
        if how == "default" and not download:
            pytest.skip(f"needs MNIST: {error}")
        raise


@pytest.fixture
def reference_outputs(ndarrays_regression: Any) -> Any:
    """A team's fact holds a module's outputs and gradients against the values recorded on the
    release it trusts: `reference_outputs.check(module, *inputs, rtol=..., atol=...)`
    (rnnspec.testing.ReferenceOutputs)."""
    from rnnspec.testing import ReferenceOutputs

    return ReferenceOutputs(ndarrays_regression)
