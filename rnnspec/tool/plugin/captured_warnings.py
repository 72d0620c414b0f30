"""The warnings a fact raises while it runs, recorded for the report.

Each phase (set-up, call, teardown) records its warnings (category, message, the module
that raised them as a dotted name) and passes them on unchanged to pytest's own warning
capture, its summary and its filters.
"""

from __future__ import annotations

import contextlib
import site
import sysconfig
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rnnspec.tool.diff import warning_module
from rnnspec.tool.plugin.keys import (
    WARNINGS_KEY,
)


def _module_roots(rootpath: Path) -> list[Path]:
    """Folders under which a file's path names a dotted module: site-packages and the repo."""
    folders = {*site.getsitepackages(), sysconfig.get_paths()["purelib"]}
    folders |= {sysconfig.get_paths()["platlib"], str(rootpath)}
    with contextlib.suppress(AttributeError):
        folders.add(site.getusersitepackages())
    return sorted((Path(f) for f in folders), key=lambda p: len(p.parts), reverse=True)


def module_of(filename: str, roots: list[Path]) -> str:
    """`.../site-packages/torch/serialization.py` -> `torch.serialization`; other files as given."""
    path = Path(filename)
    for root in roots:
        try:
            parts = list(path.relative_to(root).with_suffix("").parts)
        except ValueError:
            continue
        if parts and parts[-1] == "__init__":
            parts.pop()
        if parts:
            return ".".join(parts)
    return warning_module(filename)  # an environment whose site-packages `site` does not list


@contextlib.contextmanager
def _recorded_warnings(item: pytest.Item) -> Iterator[None]:
    """Record the warnings a test phase raises into the item's user properties, then pass them
    on unchanged to pytest's own warning capture (its summary, its filters)."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    finally:
        _pass_on(item, caught)


def _pass_on(item: pytest.Item, caught: list[warnings.WarningMessage]) -> None:
    if not caught:
        return
    roots = _module_roots(item.config.rootpath)
    entries = [
        {
            "category": w.category.__name__,
            "message": " ".join(str(w.message).split())[:1000],
            "module": module_of(w.filename, roots),
        }
        for w in caught
    ]
    item.user_properties.append((WARNINGS_KEY, entries))
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    with _recorded_warnings(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    with _recorded_warnings(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Any:
    with _recorded_warnings(item):
        return (yield)
