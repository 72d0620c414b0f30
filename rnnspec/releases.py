"""Which releases are installed: torch and the packages the deployment facts use.

Facts that changed at a release boundary (`@pytest.mark.fact(..., since="2.11")`) and
known bugs (`rnnspec.bugs.KnownBug`) ask here, never parse `torch.__version__` themselves.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata

from packaging.version import Version


@cache
def installed(package: str) -> Version | None:
    """The installed release of `package` without its local tag (2.15.0+cu132 -> 2.15.0);
    None where it is not installed."""
    try:
        return Version(Version(metadata.version(package)).base_version)
    except metadata.PackageNotFoundError:
        return None


def torch_release() -> Version:
    """The installed torch release, without its local tag."""
    release = installed("torch")
    if release is None:  # pragma: no cover - rnnspec cannot run without torch
        raise RuntimeError("torch is not installed: run `uv sync --locked`")
    return release


def torch_at_least(release: str) -> bool:
    """Whether the installed torch is `release` or newer (2.11 means 2.11.0 and later)."""
    return torch_release() >= Version(release)
