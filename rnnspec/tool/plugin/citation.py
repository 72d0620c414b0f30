"""The citation check: every test under specs/ is a fact with a source and a claim.

A spec is a test under `specs/` marked `@pytest.mark.fact(source, *, quote=None,
erratum=None, since=None, bug=None)`; its docstring's first paragraph is its claim.
Collection fails for a spec without a source or a claim, so no fact goes uncited. Each
fact's metadata (its id, source, claim, boundary, known bug) rides on the item to the
report.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from packaging.version import InvalidVersion

from rnnspec.bugs import KnownBug
from rnnspec.schema import (
    FAILED,
    boundaries,
    stable_id,
)
from rnnspec.tool.plugin import guard
from rnnspec.tool.plugin.keys import (
    FACT_KEY,
)

SPECS_DIR = "specs"
FACT_OPTIONS = ("source", "quote", "erratum", "since", "bug")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fact(source, *, quote=None, erratum=None, since=None, bug=None): a documented fact; "
        "source is a seed file name or a documentation URL, the claim is the docstring's "
        "first paragraph, quote the seed's own sentence(s), since the torch release from "
        "which the behaviour holds, bug an rnnspec.bugs.KnownBug the fact expects.",
    )


def claim_of(item: pytest.Item) -> str:
    doc = inspect.getdoc(getattr(item, "obj", None)) or ""
    return " ".join(doc.split("\n\n")[0].split())


class SpecWithoutFactError(pytest.UsageError):
    """A test under specs/ without a fact mark (with a source) or without a docstring claim."""


def user_specs_folder(item: pytest.Item) -> Path | None:
    """The team's fact folder (`--user-specs`) that holds `item`, if one does."""
    path = Path(str(item.path)).resolve()
    for folder in item.config.getoption("--user-specs", None) or ():
        root = Path(folder).resolve()
        if path.is_relative_to(root):
            return root
    return None


def is_spec(item: pytest.Item) -> bool:
    """Whether `item` is a fact: in a `specs/` folder below the rootdir (folders above it don't
    count), or in a team's fact folder (`--user-specs`)."""
    if user_specs_folder(item) is not None:
        return True
    path = Path(str(item.path))
    try:
        parts = path.relative_to(item.config.rootpath).parts
    except ValueError:  # outside the rootdir
        parts = path.parts
    return SPECS_DIR in parts[:-1]


def fact_problem(item: pytest.Item) -> str | None:
    """Why a spec item is not a citable fact; None if it is one."""
    mark = item.get_closest_marker("fact")
    uses_known_bug = "known_bug" in getattr(item, "fixturenames", ())
    lacks = None
    if mark is None:
        lacks = "@pytest.mark.fact(source, ...)"
    elif not (mark.args or mark.kwargs.get("source")):
        lacks = "a source in @pytest.mark.fact(source, ...)"
    elif not claim_of(item):
        lacks = "a docstring claim"
    if lacks is not None:
        return (
            f"{item.nodeid}: every spec needs @pytest.mark.fact(source, ...) and a docstring "
            f"claim; this one lacks {lacks}"
        )
    unknown = sorted(set(mark.kwargs) - set(FACT_OPTIONS))
    bug = mark.kwargs.get("bug")
    since = mark.kwargs.get("since")
    if unknown:
        return f"{item.nodeid}: @pytest.mark.fact has no option {', '.join(unknown)}"
    if since is not None:
        try:
            boundaries(since)
        except InvalidVersion:
            return (
                f"{item.nodeid}: since={since!r} is not a release number such as '2.11' "
                "(or a tuple of them, oldest first)"
            )
    if bug is not None and not isinstance(bug, KnownBug):
        return f"{item.nodeid}: bug= takes an rnnspec.bugs.KnownBug, not {type(bug).__name__}"
    if uses_known_bug and bug is None:
        return (
            f"{item.nodeid}: uses the known_bug fixture but its fact mark names no bug= "
            "(@pytest.mark.fact(source, bug=rnnspec.bugs.SOME_BUG))"
        )
    if bug is not None and not uses_known_bug:
        return (
            f"{item.nodeid}: names bug={bug.number} but never checks it: state the promised "
            "behaviour inside `with known_bug.expected(match=...):`"
        )
    return None


def fact_id(item: pytest.Item) -> str:
    """The fact's id (rnnspec.schema.stable_id); a team's own fact's starts at its folder."""
    node_id = stable_id(item.nodeid)
    team = user_specs_folder(item)
    if team is not None:  # "<folder name>/<path in it>::<test>", wherever the folder lies
        path = Path(str(item.path)).resolve().relative_to(team.parent).as_posix()
        return path + "::" + node_id.partition("::")[2]
    return node_id


def fact_metadata(item: pytest.Item) -> dict[str, Any] | None:
    """What the report says of a spec item besides its outcome; None outside specs/."""
    if not is_spec(item):
        return None
    problem = fact_problem(item)
    if problem is not None:
        raise SpecWithoutFactError(problem)
    mark = item.get_closest_marker("fact")
    bug: KnownBug | None = mark.kwargs.get("bug")
    since = mark.kwargs.get("since")
    found = fact_id(item)
    return {
        "id": found,
        "topic": found.split("::")[0],
        "source": mark.kwargs.get("source", mark.args[0] if mark.args else None),
        "quote": mark.kwargs.get("quote"),
        "claim": claim_of(item),
        "erratum": mark.kwargs.get("erratum"),
        "since": None if since is None else ", ".join(boundaries(since)),
        "bug": None if bug is None else bug_record(bug),
    }


def bug_record(bug: KnownBug) -> dict[str, Any]:
    """A known bug as the report carries it, with whether the installed release has it."""
    return {
        "issue": bug.issue,
        "number": bug.number,
        "summary": bug.summary,
        "affects": bug.affects,
        "package": bug.package,
        "fixed_by": bug.fixed_by,
        "kind": bug.kind,
        "measured": bug.measured,
        "upstream": bug.upstream,
        "crash": bug.crash,
        "holds": bug.holds_here(),
    }


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """Turn a module (or class) holding uncited specs into a collection error naming each of them.

    A collection error, unlike an exception in a later hook, reaches the xdist
    controller as a report and stops the run with exit status 2.
    """
    report = yield
    if report.passed:
        problems = [
            problem
            for node in report.result
            if isinstance(node, pytest.Function) and is_spec(node)
            for problem in [fact_problem(node)]
            if problem is not None
        ]
        if problems:
            report.outcome = FAILED  # pytest's word for it is rnnspec's
            report.longrepr = "\n".join(problems)
            report.result = []
    return report


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        meta = fact_metadata(item)  # raises for a spec item no collector checked
        if meta is not None:
            item.user_properties.append((FACT_KEY, meta))
    guard.set_limits(items)
