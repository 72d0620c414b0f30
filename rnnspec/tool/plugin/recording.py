"""What a fact records beside its outcome: `observe`, `known_bug`, and the phases that stopped.

- `observe(name, value, *, tolerance=None)` (a fixture): a small JSON value the fact
  observed; a float needs the tolerance within which another release counts as the same;
- `known_bug` (a fixture): for a fact naming `bug=`, `with known_bug.expected(match=...)`
  holds the promised behaviour; where the installed release has the bug the block must
  fail (the fact is then a known bug), and where it no longer does the fact fails with
  "fixed in <package> <release>";
- a phase that raised rnnspec.environment.EnvironmentProblem (its one-line fix goes to the
  report), or that pytest-timeout stopped (its limit and where it was stuck).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rnnspec.bugs import KnownBug
from rnnspec.environment import EnvironmentProblem
from rnnspec.releases import installed
from rnnspec.schema import (
    RELEASE_SIDE,
)
from rnnspec.tool.plugin import guard
from rnnspec.tool.plugin.keys import (
    ENVIRONMENT_KEY,
    KNOWN_BUG_KEY,
    OBSERVATION_KEY,
)

OBSERVATION_LIMIT = 4000  # characters of JSON: an observation is a value, not a tensor dump


def _holds_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_holds_float(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_float(v) for v in value)
    return False


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Record what the fact observed: `observe(name, value, *, tolerance=None)`.

    `value` is a small JSON value (str, int, bool, None, float, or lists and dicts of them).
    A float needs `tolerance`, the absolute difference within which another release
    observed the same: PyTorch does not promise floats bit for bit.
    """
    recorded: set[str] = set()

    def record(name: str, value: object, *, tolerance: float | None = None) -> None:
        __tracebackhide__ = True
        if not isinstance(name, str) or not name or name == RELEASE_SIDE:
            raise ValueError(f"observe: the name must be a non-empty str other than {RELEASE_SIDE}")
        if name in recorded:
            raise ValueError(f"observe: {name!r} was already recorded by this fact")
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"observe({name!r}): the value must be plain finite JSON (str, int, float, bool, "
                f"None, lists, dicts), got {type(value).__name__} ({error}); use .item() or "
                ".tolist() for a tensor"
            ) from None
        if len(text) > OBSERVATION_LIMIT:
            raise ValueError(
                f"observe({name!r}): {len(text)} characters of JSON, more than "
                f"{OBSERVATION_LIMIT}: record a summary (a shape, a maximum), not the data"
            )
        if _holds_float(value) and tolerance is None:
            raise TypeError(
                f"observe({name!r}): a float needs tolerance=, the difference within which "
                "another release observed the same"
            )
        if tolerance is not None and not (isinstance(tolerance, int | float) and tolerance >= 0):
            raise ValueError(f"observe({name!r}): tolerance must be a number >= 0")
        recorded.add(name)
        entry = {
            "name": name,
            "value": json.loads(text),
            "tolerance": None if tolerance is None else float(tolerance),
        }
        request.node.user_properties.append((OBSERVATION_KEY, entry))

    return record


class KnownBugCheck:
    """The `known_bug` fixture: `with known_bug.expected(match=None):` around the promise."""

    def __init__(self, bug: KnownBug, item: pytest.Item) -> None:
        self.bug = bug
        self.item = item

    @contextlib.contextmanager
    def expected(self, match: str | None = None) -> Iterator[None]:
        """Hold the promised behaviour. Where the installed release has the bug, the block must
        fail with an AssertionError (whose message matches `match`, a regular expression, when
        given); elsewhere it runs as plain code."""
        __tracebackhide__ = True
        if not self.bug.holds_here():
            yield
            return
        try:
            yield
        except AssertionError as error:
            if match is not None and re.search(match, str(error)) is None:
                raise
            # The assertion's own message: its first line, before pytest's rewritten comparison.
            message = (str(error).strip().splitlines() or [""])[0][:2000]
            self.item.user_properties.append(
                (KNOWN_BUG_KEY, {"issue": self.bug.issue, "observed": message})
            )
            return
        release = installed(self.bug.package)
        pytest.fail(
            f"fixed in {self.bug.package} {release}: {self.bug.number} no longer reproduces; "
            f"narrow its affected releases in rnnspec/ledger.py (affects {self.bug.affects})",
            pytrace=False,
        )


@pytest.fixture
def known_bug(request: pytest.FixtureRequest) -> KnownBugCheck:
    """The known bug the fact's mark names (`bug=`), to expect with `known_bug.expected()`."""
    mark = request.node.get_closest_marker("fact")
    bug = None if mark is None else mark.kwargs.get("bug")
    if not isinstance(bug, KnownBug):
        raise pytest.UsageError(
            f"{request.node.nodeid} uses the known_bug fixture but its fact mark names no bug="
        )
    return KnownBugCheck(bug, request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Mark a phase that raised an EnvironmentProblem, with its fix, for the report; and a
    phase that pytest-timeout stopped, with its limit and where it was stuck."""
    report = yield
    stopped = guard.timed_out(call, item)
    if stopped is not None:
        report.user_properties.append((guard.GUARD_KEY, stopped))
    excinfo = call.excinfo
    if excinfo is not None and isinstance(excinfo.value, EnvironmentProblem):
        problem = excinfo.value
        message = f"{type(problem).__name__}: {' '.join(str(problem).split())}"
        report.user_properties.append(
            (ENVIRONMENT_KEY, {"message": message[:2000], "fix": problem.fix})
        )
    return report
