"""Problems of the environment a fact runs in, as opposed to behaviour of PyTorch.

A fact that cannot run because of the machine (no network for a download, a
missing or corrupt data folder, an absent package) raises an `EnvironmentProblem`
with a one-line fix. The plugin reports such a fact as an error of the environment with that fix
(rnnspec.schema.ERROR), never as a failure, and the run's verdict is VERDICT_ENVIRONMENT
instead of VERDICT_FAILED:
the report must not blame PyTorch for a cable.
"""

from __future__ import annotations


class EnvironmentProblem(Exception):
    """The environment keeps a fact from running; `fix` says in one line what to change."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


class NetworkUnavailable(EnvironmentProblem):
    """A download was asked for and the network (or the server) could not be reached."""
