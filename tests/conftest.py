"""Fixtures shared by the tests of rnnspec's own machinery."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def one_thread() -> Iterator[None]:
    """These models are tiny: one thread is fastest, and on a busy machine 2 are 20x slower."""
    import torch  # here, not at the top: an xdist controller loads this file and runs no test

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
