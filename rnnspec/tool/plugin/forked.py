"""The child of a `@pytest.mark.forked` fact (pytest-forked): one thread for torch there."""

from __future__ import annotations

import os
from typing import Any

import pytest

SESSION_PID = pytest.StashKey[int]()


def _one_thread_in_a_forked_child(item: pytest.Item) -> None:
    """In the child of a `@pytest.mark.forked` fact, let torch use one thread.

    GNU OpenMP's thread pool does not survive fork(): once the parent has run a parallel
    region (any earlier fact), the child's first one waits forever for threads that no
    longer exist (measured: torch 2.15.0, a 512 x 512 matmul in a forked child after the
    parent ran one on 2 threads hung for more than 60 s; on one thread it took 0.03 s).
    """
    if os.getpid() != item.config.stash.get(SESSION_PID, os.getpid()):
        import torch

        torch.set_num_threads(1)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SESSION_PID] = os.getpid()  # a forked fact's child has another one


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    _one_thread_in_a_forked_child(item)
    return (yield)
