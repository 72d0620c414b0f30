"""Suite controls, a pytest plugin: process-wide settings, devices, the report header, test
independence, and the fixtures every fact may use (`device`, `profile`, `mnist_root`,
`from_release`).

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
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rnnspec.releases import torch_at_least

if TYPE_CHECKING:
    import torch

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


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def pytest_configure(config: pytest.Config) -> None:
    retain_freed_memory()  # every process of the run, the xdist workers included
    if runs_no_fact(config):
        # hypothesis's plugin imports hypothesis (about 0.7 s) for its terminal summary; the
        # workers, which run the property facts, keep it.
        if (hypothesis_plugin := config.pluginmanager.get_plugin("hypothesispytest")) is not None:
            config.pluginmanager.unregister(hypothesis_plugin)
        return
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        import torch

        # Share the cores among the xdist workers instead of oversubscribing them (on 2 cores,
        # giving the training worker both threads while the other worker ran made the whole
        # suite slower).
        torch.set_num_threads(threads_per_worker(int(worker["workercount"])))
    from hypothesis import settings

    # derandomize: every run draws the same examples, so a property fact checks the same cases
    # on every release and in every process (no example database between runs either).
    settings.register_profile("default", max_examples=25, deadline=None, derandomize=True)
    settings.register_profile("deep", max_examples=300, deadline=None, derandomize=True)
    settings.load_profile(config.getoption("--profile"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Versions, threads, MNIST and profile. An xdist controller reads the versions from the
    installed files and leaves the CPU capability and the CUDA device to the report (the
    workers describe them): it does not import torch for a header."""
    from models.data import resolve_root
    from rnnspec.machine import torch_version, torchvision_version

    root, how = resolve_root(config.getoption("--mnist-root"))
    versions = (
        f"torch {torch_version()}, torchvision {torchvision_version()}, "
        f"Python {platform.python_version()}"
    )
    if runs_no_fact(config):
        workers = int(config.getoption("numprocesses"))  # xdist has resolved "auto" by now
        threads = (
            f"{workers} workers, CPU threads {threads_per_worker(workers)} each "
            "(CPU capability and CUDA: in the report)"
        )
    else:
        import torch

        from rnnspec.machine import cpu_capability

        cuda = torch.cuda.get_device_name() if cuda_devices() else "not available"
        threads = (
            f"CPU threads {torch.get_num_threads()}, CPU capability {cpu_capability()}, CUDA {cuda}"
        )
    return [
        versions,
        threads,
        f"MNIST root {root} ({how}), profile {config.getoption('--profile')}",
    ]


# The trainings, longest first: seed 004's float32 LSTM is the run's critical path (about 34 s
# on one thread of two), then bfloat16 (13 s), seed 000's RNN (12 s), the character RNNs (3 s).
TRAININGS_FIRST = ("mnist-lstm", "mnist-lstm-bf16", "mnist-rnn", "char-rnn")


def dispatch_rank(item: pytest.Item) -> int:
    """Where `item` goes in the queue xdist hands out (pytest.ini turns xdist's own reordering
    by group size off): the LSTM's group first, so its training starts at once on a worker of
    its own; the other trainings next; then the rest of the long work (other groups, tests
    marked slow); the quick facts last, to fill the gaps. Longest first keeps a long job from
    starting when the others are done."""
    marker = item.get_closest_marker("xdist_group")
    group = (marker.args[0] if marker.args else marker.kwargs.get("name")) if marker else None
    if group in TRAININGS_FIRST:
        return TRAININGS_FIRST.index(group)
    return len(TRAININGS_FIRST) + (0 if group or "slow" in item.keywords else 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=dispatch_rank)  # stable: collection order within a rank
    if not cuda_devices():
        skip_gpu = pytest.mark.skip(reason=NO_CUDA_REASON)
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip_gpu)


@cache
def cuda_devices() -> tuple[int, ...]:
    """The CUDA devices torch sees (none on a machine without CUDA)."""
    import torch

    return tuple(range(torch.cuda.device_count())) if torch.cuda.is_available() else ()


def runs_no_fact(config: pytest.Config) -> bool:
    """Whether this process is an xdist controller: it hands the facts to its workers and runs
    none itself, so it needs neither torch nor hypothesis (about 3 s of CPU at every start)."""
    if hasattr(config, "workerinput") or config.getoption("collectonly", False):
        return False
    workers = config.getoption("numprocesses", None) or 0  # xdist resolved "auto" to a number
    return config.pluginmanager.has_plugin("xdist") and int(workers) > 0


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
    import torch

    with torch.random.fork_rng(devices=list(cuda_devices())):
        torch.default_generator.manual_seed(0)
        if cuda_devices():
            torch.cuda.manual_seed_all(0)
        yield


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    """The devices a fact is checked on: CPU always, CUDA when present."""
    import torch

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


class UndeclaredBoundaryError(pytest.UsageError):
    """A fact's body asked about a release boundary that its `since=` does not declare."""


def declared_boundaries(item: pytest.Item) -> tuple[str, ...]:
    """The release boundaries the item's fact mark declares (`since=`), oldest first; () for
    none."""
    from rnnspec.schema import boundaries

    mark = item.get_closest_marker("fact")
    since = None if mark is None else mark.kwargs.get("since")
    return () if since is None else boundaries(since)


@pytest.fixture
def from_release(request: pytest.FixtureRequest) -> Callable[[str], bool]:
    """`from_release("2.11")`: whether the installed torch is on or after that boundary of the
    fact, for a body that checks one behaviour before it and another from it.

    Each boundary is written once, in the fact mark's `since=` (which the report and the
    comparison page read); the body may ask only about a boundary declared there, so the two
    cannot drift apart. Asking about another one, or using the fixture in a fact without
    `since=`, is an UndeclaredBoundaryError.
    """
    declared = declared_boundaries(request.node)
    if not declared:
        raise UndeclaredBoundaryError(
            f"{request.node.nodeid} uses from_release but its fact mark declares no since="
        )

    def reached(release: str) -> bool:
        __tracebackhide__ = True
        if release not in declared:
            raise UndeclaredBoundaryError(
                f"{request.node.nodeid}: from_release({release!r}) asks about a boundary its "
                f"fact mark does not declare (since={', '.join(declared)}); declare it in since="
            )
        return torch_at_least(release)

    return reached
