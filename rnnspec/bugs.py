"""The ledger of known upstream bugs: each a record a fact names with `bug=`.

A fact that names a bug states the promised behaviour; where the installed release is in
the bug's affected range, the plugin expects that promise to be broken exactly as the bug
says (`known_bug.expected()`), reports the fact as a known bug (rnnspec.schema.KNOWN_BUG), and lists the bug in the
report's own section. The day a release in that range behaves correctly, the fact fails
with "fixed in <release>" instead of passing quietly; outside the range a reappearance of
the bug is an ordinary failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet

from rnnspec.releases import installed
from rnnspec.schema import issue_number
from rnnspec.sources import github_kind


@dataclass(frozen=True)
class KnownBug:
    """One upstream bug: where it is reported, what goes wrong, and which releases have it.

    `affects` and `measured` are what rnnspec ran; `upstream` is what the threads say (their
    state when last read), kept apart: a bug that no longer holds on a release is measured,
    not a fix that any thread announced.
    """

    # The upstream thread that describes the bug (a URL): an issue, or a pull request where no
    # issue reports it (`kind` says which). The name stays `issue`: reports carry it so.
    issue: str
    summary: str  # the wrong behaviour, in one sentence
    affects: str  # PEP 440 specifiers over `package`'s releases that have it, e.g. ">=2.0,<2.15"
    package: str = "torch"
    fixed_by: str | None = None  # the pull request that fixes it, where a thread says so
    measured: str = ""  # where it was reproduced, e.g. "2.2.2, 2.9.1 and 2.14.1 (exit 139)"
    upstream: str = ""  # the threads' state when last read, e.g. "open; fix pull request open"
    # The signal that kills the process where the bug holds, e.g. "SIGSEGV", when that is its
    # symptom: a fact that crashes with it there is reported as the known bug, not a crash.
    crash: str | None = None

    def holds_here(self) -> bool:
        """Whether the installed release of `package` is in the affected range."""
        release = installed(self.package)
        return release is not None and release in SpecifierSet(self.affects)

    @property
    def number(self) -> str:
        """The thread as owner/repo#N, for one-line mentions."""
        return issue_number(self.issue)

    @property
    def kind(self) -> str:
        """What `issue` names: "issue" or "pull request" (rnnspec.sources' kinds)."""
        kind = github_kind(self.issue.rstrip("/"))
        if kind is None:
            raise ValueError(f"{self.issue} is not a GitHub issue or pull request URL")
        return kind
