"""The rnnspec options of pytest (`rnnspec check` passes them on): data, profile, report folder,
a team's own facts, and the run guard's limits.
"""

from __future__ import annotations

import os

import pytest

from rnnspec.tool.plugin import guard


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rnnspec")
    group.addoption(
        "--mnist-root",
        metavar="DIR",
        default=None,
        help="folder holding MNIST/raw/ (else $RNNSPEC_MNIST_ROOT, else $TORCH_HOME/datasets); "
        "an explicit folder that is missing or corrupt is an error",
    )
    group.addoption(
        "--download-mnist",
        action="store_true",
        help="let torchvision download MNIST into that folder (needs the network)",
    )
    group.addoption(
        "--profile",
        choices=("default", "deep"),
        default=os.environ.get("RNNSPEC_PROFILE", "default"),
        help="deep: training facts over several seeds, more hypothesis examples",
    )
    group.addoption(
        "--report-dir",
        metavar="DIR",
        default=None,
        help="write the fact report there (report.md, report.json, training_curves.png)",
    )
    group.addoption(
        "--user-specs",
        metavar="DIR",
        action="append",
        default=[],
        help="a team's own folder of facts (repeatable): each test in it is a fact, reported "
        "under an id that starts at the folder's name (rnnspec check --specs DIR)",
    )
    guard.add_options(group)
