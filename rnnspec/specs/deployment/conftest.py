"""Fixtures of the deployment facts; their cases (the seed models, the grid) are in cases.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh_dynamo() -> Iterator[None]:
    """Each deployment fact starts and ends with Dynamo's caches empty, so no compiled graph
    or recompilation limit carries over from another fact."""
    import torch._dynamo

    torch._dynamo.reset()
    yield
    torch._dynamo.reset()
