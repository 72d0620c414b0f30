"""The registry of cited sources (rnnspec.sources): each with its kind and title, none missing.

A GitHub URL says what it names (/issues/N an issue, /pull/N a pull request), so a record
whose kind disagrees with its URL is a citation error; every GitHub thread the specs, the
package, README.md and docs/facts.md mention (as a URL or as owner/repo#N) must be a record,
and so must every source docs/facts.md lists; the ledger's threads must be recorded with the
kind their URL has.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rnnspec.ledger import LEDGER
from rnnspec.schema import issue_number
from rnnspec.sources import (
    DOCUMENTATION,
    GITHUB_THREAD,
    ISSUE,
    KINDS,
    PULL_REQUEST,
    REGISTRY,
    SEED,
    github_kind,
    source,
)

ROOT = Path(__file__).resolve().parents[1]
# Where rnnspec cites: its specs, its package, its README and the fact index.
CITING = [
    *sorted([*ROOT.glob("rnnspec/**/*.py"), *ROOT.glob("examples/**/*.py")]),
    ROOT / "README.md",
    ROOT / "docs" / "facts.md",
]
# A GitHub address below a repository (a repository's own root cites nothing).
GITHUB_URL = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+/[^\s)>\]\"'`,;]+")
SHORT_REFERENCE = re.compile(r"(?<![\w./-])([\w.-]+/[\w.-]+)#(\d+)\b")
FACT_SOURCE_HEADING = re.compile(r"^## (?:Seed (\S+):|.*<(\S+)>$)", re.M)


def _mentions(pattern: re.Pattern[str]) -> dict[str, list[str]]:
    """Each match of `pattern` in the citing files, with the files it occurs in."""
    found: dict[str, list[str]] = {}
    for path in CITING:
        for match in pattern.finditer(path.read_text()):
            found.setdefault(match.group(0).rstrip("."), []).append(str(path.relative_to(ROOT)))
    return found


def test_the_registry_is_not_empty_and_every_record_has_a_known_kind_and_a_title() -> None:
    """Every record's kind is one of KINDS and its title is not empty."""
    assert len(REGISTRY) > 40
    wrong = [s for s in REGISTRY.values() if s.kind not in KINDS or not s.title.strip()]
    assert wrong == []


@pytest.mark.parametrize("url", sorted(REGISTRY))
def test_a_github_thread_is_recorded_as_what_its_url_names(url: str) -> None:
    """A URL under github.com/<owner>/<repo>/pull/N is recorded as a pull request, one under
    /issues/N as an issue; an issue or pull request is always such a URL; a documentation page
    is a web address and a seed a file name."""
    record = source(url)
    expected = github_kind(url)
    if expected is not None:
        assert record.kind == expected, f"{url} is a {expected}, recorded as a {record.kind}"
    else:
        assert record.kind not in (ISSUE, PULL_REQUEST), f"{url} is not a GitHub thread URL"
    if record.kind == DOCUMENTATION:
        assert url.startswith("https://"), url
    if record.kind == SEED:
        assert re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", url), url


def test_every_github_url_cited_is_recorded_with_a_kind_and_a_title() -> None:
    """Every github.com URL in specs/, rnnspec/, README.md and docs/facts.md is a record of
    the registry (kind and title); so is every owner/repo#N mention of a GitHub thread."""
    urls = _mentions(GITHUB_URL)
    assert urls, "no GitHub URL found: the scan is broken"
    missing = {url: files for url, files in urls.items() if url not in REGISTRY}
    assert missing == {}, f"cited but not recorded in rnnspec.sources: {missing}"

    recorded = {s.reference for s in REGISTRY.values() if GITHUB_THREAD.match(s.url)}
    short = _mentions(SHORT_REFERENCE)
    assert short, "no owner/repo#N mention found: the scan is broken"
    unrecorded = {ref: files for ref, files in short.items() if ref not in recorded}
    assert unrecorded == {}, f"mentioned but not recorded in rnnspec.sources: {unrecorded}"


def test_every_source_of_the_fact_index_is_recorded() -> None:
    """Every source docs/facts.md lists a fact under (seed, page, issue, pull request) is a
    record of the registry: no fact cites an unrecorded document."""
    page = (ROOT / "docs" / "facts.md").read_text()
    cited = [seed or url for seed, url in FACT_SOURCE_HEADING.findall(page)]
    assert len(cited) > 20
    assert [c for c in cited if c not in REGISTRY] == []


@pytest.mark.parametrize("bug", LEDGER, ids=lambda bug: bug.number)
def test_the_ledgers_threads_are_recorded_with_the_kind_their_url_names(bug) -> None:
    """A known bug's thread (`issue`, an issue or a pull request) and its fix (`fixed_by`, a
    pull request) are records of the registry of the kind their URL names."""
    assert source(bug.issue).kind == bug.kind == github_kind(bug.issue)
    if bug.fixed_by is not None:
        assert source(bug.fixed_by).kind == PULL_REQUEST


def test_no_fix_is_claimed_for_a_known_bug_no_thread_says_was_fixed() -> None:
    """For a known bug without `fixed_by`, nothing outside the registry writes "fixed #N" or
    "fixes #N" of its thread: that a release no longer has it is a measurement. (The registry
    is left out: its titles are the threads' own words.)"""
    claims = []
    for bug in LEDGER:
        if bug.fixed_by is not None:
            continue
        repository, number = issue_number(bug.issue).split("#")
        claim = re.compile(rf"\bfix(?:es|ed)\s+(?:by\s+)?(?:{re.escape(repository)})?#{number}\b")
        for path in CITING:
            if path.name == "sources.py":
                continue
            claims += [
                f"{path.relative_to(ROOT)}: {m.group(0)}" for m in claim.finditer(path.read_text())
            ]
    assert claims == []
