"""`rnnspec compare`: one page of the differences between many fact reports.

    rnnspec compare PATH... [--plan PLAN.json] [--baseline DIR] [--summary FILE] [--out DIR]

A report is the `report.json` that `rnnspec check` writes (a folder holding one may be
named instead, or the archived report.json.gz of docs/matrix). What counts as a
difference, and its class, is `rnnspec.tool.diff`'s (`rnnspec diff` compares two reports).

`compare` also gathers the folders that matrix jobs leave (rnnspec.tool.jobs), from one
machine or from many runners: a PATH may be a folder of such folders, at any depth. A
job's job.json gives its release, device and status, so a job that crashed, timed out or
could not install shows that status without a report; with `--plan` (what `rnnspec
matrix --plan` printed) a planned job that left nothing is STATUS_NOT_RUN. Every release is a
row of the releases table and a column of the picture and of the facts table, whatever
its status. Releases are compared with the previous release of the same device (CPU jobs
with CPU jobs, CUDA with CUDA). `--baseline DIR` compares each release with the report of
the same release and device under DIR (a run you trust, e.g. docs/matrix) and exits 1 on
a regression there, or when a release the baseline has left no report; adjacent releases'
regressions are torch's history and never fail the command. `--summary FILE` appends the
page without the picture (a CI job summary: 1 MiB, no images).

`compare` exits 2 when a report, a job.json or the plan cannot be read (a schema it does
not know included), 1 on a regression against the baseline, 0 otherwise.

The page orders the releases by device, then torch version (`packaging.version`: 2.10
after 2.9) and shows: a releases table (status, counts per outcome, time); the baseline
check; for each adjacent pair of releases a section with the counts of each class and one
line per fact family and class (its cases folded, the range of what they observed; the
regressions and undocumented changes first); the known bugs that hold in each release; a
picture of topics (spec modules) x releases, each cell coloured by the worst difference
against the previous release; and the benchmark medians, with the changes between
adjacent releases that lie outside the noise band where the reports carry one.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from rnnspec.schema import (
    ARCHIVED_REPORT_FILE,
    CRASHED,
    ERROR,
    FAILED,
    KNOWN_BUG,
    NOT_RUN,
    PASSED,
    REPORT_FILE,
    SKIPPED,
    STATUS_NOT_RUN,
    STATUS_OF_VERDICT,
    TIMED_OUT,
    Bug,
    Fact,
    Report,
    ReportError,
    issue_number,
    release_status,
)
from rnnspec.tool.diff import (
    DOCUMENTED,
    ENV_ERROR,
    ENVIRONMENT,
    FIXED,
    KINDS,
    NEW_FACT,
    OTHER,
    REGRESSION,
    REMOVED_FACT,
    SKIP_CHANGE,
    UNDOCUMENTED,
    WARNING_GONE,
    WARNING_NEW,
    Difference,
    counts_line,
    differences,
    family_lines,
    load_report,
)
from rnnspec.tool.jobs import CPU, CUDA, JOB_FILE, Job, JobError, JobResult, read_plan
from rnnspec.tool.markdown import cell, table

__all__ = [
    "BaselineCheck",
    "Release",
    "ReportError",
    "load_report",
    "register",
    "releases_from_reports",
    "render_comparison",
    "write_comparison",
]

COMPARISON_MD = "comparison.md"
COMPARISON_PNG = "comparison.png"
BASELINE_LINES = 50  # regressions listed per release against the baseline; the rest counted
NO_RESULT = "planned, but no result of this job arrived: it never ran, or stopped before uploading"
OBSERVED_CHARS = 200  # observed messages are cut to this length in table cells
PART_CHARS = 64  # each part of a change's line on the page (before, after, note)
BUG_SUMMARY_CHARS = 100  # a known bug's summary in the table by release (its report has it whole)
# The release table's count columns, known bugs last.
COLUMNS = (PASSED, FAILED, CRASHED, TIMED_OUT, SKIPPED, ERROR, NOT_RUN, KNOWN_BUG)


def _version_key(label: str) -> tuple[int, Version | str]:
    try:
        return (0, Version(label.split()[0]))
    except (InvalidVersion, IndexError):
        return (1, label)


@dataclass
class Release:
    """One column of the comparison: a torch release and its report, or why it has none."""

    label: str
    status: str
    report: Report | None = None
    source: str | None = None  # where the report came from
    error: str | None = None  # why there is no report, or what went wrong
    details: dict[str, Any] = field(default_factory=dict)  # e.g. env_seconds, suite_seconds
    build: str = CPU  # the device it ran for: releases compare with those of the same build
    release: str | None = None  # the torch release (no local tag), matched with a baseline

    @property
    def version_key(self) -> tuple[int, Version | str]:
        return _version_key(self.label)

    @property
    def order(self) -> tuple[bool, str, tuple[int, Version | str]]:
        return (self.build != CPU, self.build, self.version_key)


def result_paths(path: Path) -> list[Path]:
    """What one PATH of `rnnspec compare` names: a report file; a folder holding report.json
    or job.json (one job); else every folder below it that holds one (a gathered tree, one
    folder per job, as a CI system downloads its artifacts), in name order."""
    if not path.is_dir() or _holds_result(path):
        return [path]
    names = (REPORT_FILE, ARCHIVED_REPORT_FILE, JOB_FILE)
    return sorted({p.parent for name in names for p in path.rglob(name)})


def _holds_result(folder: Path) -> bool:
    return any((folder / name).is_file() for name in (REPORT_FILE, ARCHIVED_REPORT_FILE, JOB_FILE))


def release_from(path: Path, planned: dict[str, Job]) -> tuple[Release, str | None]:
    """One release from a report file or a job's folder, and its job's name (None for a
    report from no job). A folder without job.json takes its job from the plan by name."""
    folder = path if path.is_dir() else path.parent
    report_path = path / REPORT_FILE if path.is_dir() else path
    if path.is_dir() and not report_path.is_file() and (path / ARCHIVED_REPORT_FILE).is_file():
        report_path = path / ARCHIVED_REPORT_FILE
    try:
        own_folder = report_path.name in (REPORT_FILE, ARCHIVED_REPORT_FILE)
        result = JobResult.read(folder) if own_folder else None
    except JobError as error:
        raise ReportError(str(error)) from error
    report = load_report(report_path) if result is None or report_path.is_file() else None
    job = result.job if result is not None else planned.get(folder.name)
    if result is not None:
        status, error = result.final_status, result.error
        details = {
            "env_seconds": result.env_seconds,
            "suite_seconds": result.suite_seconds,
            "suite_fingerprint": result.suite,
        }
    else:
        found_verdict = report.verdict if report is not None else None
        status = STATUS_OF_VERDICT.get(found_verdict or "") or release_status(
            report.exitstatus if report is not None else None, report
        )
        error, details = None, {}
    if job is not None:
        label, build, release = job.label, job.device, job.release
    else:
        label = report.torch if report is not None else "unknown"
        build = CUDA if report is not None and report.cuda else CPU
        version = report.release if report is not None else None
        release = str(version) if version is not None else None
    source = str(report_path if report is not None else folder)
    found = Release(label, str(status), report, source, error, details, build, release)
    return found, job.name if job is not None else None


def releases_from_reports(
    paths: Sequence[Path], plan: Sequence[Job] | None = None
) -> list[Release]:
    """Load reports and jobs' folders (result_paths) and order them by device and torch
    version (ties keep the given order); a job of `plan` that left nothing is STATUS_NOT_RUN.

    Raises ReportError for a report or job.json that cannot be read, or a PATH that holds
    neither (unless a plan says which jobs to expect).
    """
    planned = {job.name: job for job in plan or ()}
    releases, names = [], set()
    for path in map(Path, paths):
        found = result_paths(path)
        if not found and plan is None:
            raise ReportError(f"{path}: no {REPORT_FILE} or {JOB_FILE} in it or below it")
        for item in found:
            release, name = release_from(item, planned)
            releases.append(release)
            names.add(name)
    for job in plan or ():
        if job.name not in names:
            releases.append(
                Release(
                    job.label,
                    STATUS_NOT_RUN,
                    error=NO_RESULT,
                    build=job.device,
                    release=job.release,
                )
            )
    releases.sort(key=lambda r: r.order)
    labels = [r.label for r in releases]
    for release in releases:
        if labels.count(release.label) > 1:  # two reports of one release: name their folders
            folder = Path(release.source or "").resolve()
            name = folder.parent.name if folder.is_file() or folder.suffix else folder.name
            release.label = f"{release.label} ({name})"
    return releases


def compared_releases(releases: Sequence[Release]) -> list[Release]:
    """The releases that are columns of the comparison: those with at least one fact."""
    return [r for r in releases if r.report is not None and r.report.facts]


def _inline(text: str) -> str:
    """Text for a Markdown list line: one line, no HTML (an observed `<class 'int'>`)."""
    return cell(text).replace("<", "&lt;")


def _seconds(value: Any) -> str:
    return f"{value:.0f}" if isinstance(value, int | float) else ""


def _releases_table(releases: Sequence[Release]) -> list[str]:
    rows = []
    for r in releases:
        rep = r.report
        outcomes = [f.outcome for f in rep.facts] if rep is not None else []
        counts = [str(outcomes.count(o)) if rep is not None else "" for o in COLUMNS]
        packages = rep.packages if rep is not None else {}
        rows.append(
            [
                r.label,
                r.status,
                *counts,
                (rep.torchvision if rep is not None else None) or packages.get("torchvision") or "",
                (rep.device if rep is not None else None) or "",
                _seconds(r.details.get("env_seconds")),
                _seconds(
                    r.details.get("suite_seconds", rep.duration_s if rep is not None else None)
                ),
                cell(r.error, 300),
            ]
        )
    header = ["release", "status", *COLUMNS[:-1], "known bug", "torchvision", "device"]
    return table(
        [*header, "env s", "suite s", "note"], rows, align="ll" + "r" * len(COLUMNS) + "llrrl"
    )


def _short(text: str) -> str:
    """A part of a page line, cut to PART_CHARS (rnnspec diff and the reports give it whole)."""
    return _inline(cell(text, PART_CHARS))


def _difference_line(d: Difference) -> str:
    """One line of the page: the class, the fact family or warning, before → after and the
    note, each cut short; the cited source is left to rnnspec diff and the reports."""
    fact = d.kind not in (WARNING_NEW, WARNING_GONE, ENVIRONMENT)
    shown = replace(d, source="")
    return f"- {d.kind}: " + shown.line("→", _short, f"`{d.subject}`" if fact else None)


def _pair_section(old: Release, new: Release, between: Sequence[Release] = ()) -> list[str]:
    found = differences(old.report, new.report)
    behaviour = [d for d in found if d.kind != ENVIRONMENT]
    lines = [f"### {old.label} → {new.label}", "", counts_line(behaviour, KINDS[:-1]) + "."]
    if between:
        skipped = ", ".join(f"{r.label} ({r.status})" for r in between)
        lines += ["", f"Between them, without facts to compare: {_inline(skipped)}."]
    if behaviour:
        lines += ["", *[_difference_line(family.merged()) for family in family_lines(behaviour)]]
    environment = [d for d in found if d.kind == ENVIRONMENT]
    if environment:
        changed = "; ".join(f"{d.subject} {d.before} → {d.after}" for d in environment)
        lines += ["", f"Environment (not behaviour): {_inline(changed)}."]
    return [*lines, ""]


def adjacent_pairs(
    releases: Sequence[Release],
) -> list[tuple[Release, Release, list[Release]]]:
    """Each release with facts and the previous one of its build that has facts, with the
    releases between them that have none (not installed, crashed, not run)."""
    compared = {id(r) for r in compared_releases(releases)}
    pairs: list[tuple[Release, Release, list[Release]]] = []
    previous: Release | None = None
    between: list[Release] = []
    for release in releases:
        if previous is not None and release.build != previous.build:
            previous, between = None, []
        if id(release) not in compared:
            between.append(release)
            continue
        if previous is not None:
            pairs.append((previous, release, between))
        previous, between = release, []
    return pairs


@dataclass
class BaselineCheck:
    """Each release against the report of the same release and device in a baseline."""

    source: str
    lines: list[str]
    failures: int  # regressions, plus releases the baseline has that left no report


def check_baseline(
    releases: Sequence[Release], baseline: Sequence[Release], source: str
) -> BaselineCheck:
    """rnnspec diff's classes from each baseline report to this run's report of the same
    release and device. A regression fails; so does a release with no report where the
    baseline has one (every fact of it would be missing). A release the baseline lacks is
    listed as not checked. Environment differences (another runner) are left out."""
    by_key = {(b.build, b.release): b for b in baseline if b.report is not None}
    rows, changes, failures = [], [], 0
    for r in releases:
        base = by_key.get((r.build, r.release))
        if base is None:
            rows.append([r.label, r.status, "no baseline report: not checked"])
            continue
        if r.report is None or not r.report.facts:
            failures += 1
            rows.append([r.label, r.status, "**no report**: every fact of the baseline is missing"])
            continue
        found = [d for d in differences(base.report, r.report) if d.kind != ENVIRONMENT]
        regressions = [d for d in found if d.kind == REGRESSION]
        failures += len(regressions)
        rows.append([r.label, r.status, counts_line(found, KINDS[:-1])])
        changes += [
            f"- {r.label}: " + _difference_line(d).removeprefix("- ")
            for d in regressions[:BASELINE_LINES]
        ]
        if len(regressions) > BASELINE_LINES:
            rest = len(regressions) - BASELINE_LINES
            changes.append(f"- {r.label}: {rest} more (`rnnspec diff {base.source} ...` lists all)")
    verdict = f"{failures} failing" if failures else "no regression"
    lines = [
        "## Against the baseline",
        "",
        f"Each release against its report in `{source}` (rnnspec diff's classes; the machine "
        f"is not compared): {verdict}.",
        "",
        *table(["release", "status", "against the baseline"], rows),
    ]
    if changes:
        lines += ["", *changes]
    return BaselineCheck(source, [*lines, ""], failures)


def _known_bugs_lines(compared: Sequence[Release]) -> list[str]:
    """Each known bug named by some report, and whether it holds in each release."""
    bugs: dict[str, Bug] = {}
    cells: dict[str, dict[str, str]] = {}
    for r in compared:
        if r.report is None:
            continue
        for bug in r.report.known_bugs:
            bugs.setdefault(bug.issue, bug)
            cells.setdefault(bug.issue, {})[r.label] = "holds"
        for fact in r.report.facts:
            if fact.bug is None:
                continue
            bugs.setdefault(fact.bug.issue, fact.bug)
            row = cells.setdefault(fact.bug.issue, {})
            seen = {
                KNOWN_BUG: "holds",
                PASSED: "no",
                FAILED: "fails otherwise",
                ERROR: ERROR,
            }.get(fact.outcome)
            if seen and row.get(r.label) != "holds":
                observed = fact.observed or ""
                row[r.label] = "no longer reproduces" if observed.startswith("fixed in") else seen
    lines = [
        "## Known bugs by release",
        "",
        "holds: the release has the bug; no: its fact passes there; —: no report names it.",
        "",
    ]
    if not bugs:
        return [*lines, "No report names a known bug."]
    labels = [r.label for r in compared]
    rows = [
        [
            f"[{issue_number(issue)}]({issue})",
            bug.summary,
            bug.affects,
            *[cells[issue].get(label, "—") for label in labels],
        ]
        for issue, bug in sorted(bugs.items())
    ]
    return [*lines, *table(["bug", "summary", "affects", *labels], rows, limit=BUG_SUMMARY_CHARS)]


def _benchmark_lines(compared: Sequence[Release]) -> list[str]:
    """The seed models' timings per release (`rnnspec.tool.bench`'s section: medians, noise
    bands, and only the changes between adjacent releases outside them)."""
    from rnnspec.tool.bench import cross_release_lines

    timed = []
    for r in compared:
        entries = [
            bench
            for bench in (r.report.benchmarks if r.report is not None else [])
            if isinstance(bench, dict) and "name" in bench and "median_s" in bench
        ]
        if entries:
            timed.append((r.label, entries))
    return ["", "## Benchmarks", "", *cross_release_lines(timed)] if timed else []


def render_comparison(
    releases: Sequence[Release],
    heatmap: str | None = None,
    *,
    baseline: BaselineCheck | None = None,
) -> str:
    """The comparison page in Markdown (see the module's docstring for its sections)."""
    compared = compared_releases(releases)
    facts: dict[str, dict[str, Fact]] = {}
    claims: dict[str, str] = {}
    for r in compared:
        for fact_id, fact in (r.report.by_id() if r.report is not None else {}).items():
            facts.setdefault(fact_id, {})[r.label] = fact
            claims.setdefault(fact_id, fact.claim)
    labels = [r.label for r in compared]
    lines = [
        "# rnnspec: facts across torch releases",
        "",
        f"{len(releases)} releases, {len(compared)} with facts in their report, "
        f"{len(facts)} facts.",
        "",
        *_releases_table(releases),
        *_suite_warning(compared),
    ]
    if baseline is not None:
        lines += ["", *baseline.lines]
    lines += ["", "## Changes between adjacent releases", ""]
    pairs = adjacent_pairs(releases)
    if not pairs:
        lines += ["Fewer than two releases have facts in their report: nothing to compare.", ""]
    else:
        lines += [
            "Classes: regression (passed, or a known bug, now fails or is absent; or a known "
            "bug shipped), fixed, documented change (a version-gated fact crossed its "
            "boundary), undocumented change (an observation moved beyond its tolerance), "
            "warnings new/gone, environment errors (not compared), skip changes, new and "
            "removed facts. Each release is compared with the previous one of its device.",
            "",
        ]
    for old, new, between in pairs:
        lines += _pair_section(old, new, between)
    lines += _known_bugs_lines(compared)
    if heatmap:
        lines += ["", "## Topics x releases", "", f"![topics x releases]({heatmap})"]
    lines += [
        "",
        "Every case of every fact, release by release: each release's report and "
        "`rnnspec diff OLD NEW` (one line per family and class, with the sources)."
        if compared
        else "No release produced a report with facts.",
    ]
    failing = [f for f in sorted(facts) if any(x.outcome == FAILED for x in facts[f].values())]
    lines += ["", "## Facts that fail on some release", ""]
    if not failing:
        lines.append("None.")
    for fact_id in failing:
        lines += [f"- `{fact_id}`: {_inline(claims[fact_id])}"]
        for label in labels:
            fact = facts[fact_id].get(label)
            if fact is not None and fact.outcome == FAILED:
                lines.append(f"  - {label}: {_inline(cell(fact.observed, 1000))}")
        passing = [
            label
            for label in labels
            if (fact := facts[fact_id].get(label)) is not None and fact.outcome == PASSED
        ]
        lines.append(f"  - passes on: {', '.join(passing) if passing else 'none'}")
    lines += _benchmark_lines(compared)
    return "\n".join(lines).rstrip() + "\n"


def _suite_warning(compared: Sequence[Release]) -> list[str]:
    """A warning when the releases ran different suites (their files' fingerprints differ)."""
    suites: dict[str, list[str]] = {}
    for r in compared:
        if r.details.get("suite_fingerprint"):
            suites.setdefault(r.details["suite_fingerprint"], []).append(r.label)
    if len(suites) < 2:
        return []
    which = "; ".join(f"suite {k}: {', '.join(v)}" for k, v in suites.items())
    return [
        "",
        "**Warning:** the releases ran different versions of the suite (its files changed "
        "during the run, or the runners checked out different commits): facts that appear or "
        f"disappear between releases may come from those edits, not from torch ({which}).",
    ]


# The picture: one colour per cell, the worst difference of the topic against the previous
# release. Levels in increasing severity; FIRST and NO_REPORT are not differences.
NO_REPORT, FIRST, NONE, OTHERS, WARNINGS, DOC, UNDOC, ERRORS, REGRESSIONS = range(9)
LEVEL_OF = {
    REGRESSION: REGRESSIONS,
    ENV_ERROR: ERRORS,
    UNDOCUMENTED: UNDOC,
    DOCUMENTED: DOC,
    WARNING_NEW: WARNINGS,
    WARNING_GONE: WARNINGS,
    FIXED: OTHERS,
    SKIP_CHANGE: OTHERS,
    NEW_FACT: OTHERS,
    REMOVED_FACT: OTHERS,
    OTHER: OTHERS,
}
LEVEL_STYLE = {  # level: (colour, legend)
    NO_REPORT: ("#555555", "no report (not run, not installed, crashed)"),
    FIRST: ("#e8e8e8", "first release (nothing before it)"),
    NONE: ("#ffffff", "no change"),
    OTHERS: ("#c6dbef", "fixed, skip change, new or removed fact"),
    WARNINGS: ("#ffe066", "warnings new or gone"),
    DOC: ("#6baed6", "documented change"),
    UNDOC: ("#fd8d3c", "undocumented change"),
    ERRORS: ("#9e9ac8", "environment error"),
    REGRESSIONS: ("#d62728", "regression"),
}
MAX_PIXELS = (1600, 1000)
DPI = 100


def topic_grid(releases: Sequence[Release]) -> tuple[list[str], list[list[int]], list[list[int]]]:
    """Topics (rows), and per topic and release the worst difference's level and the
    number of behaviour differences, each against the previous release of its build with
    facts (the first of a build is "first")."""
    compared = compared_releases(releases)
    topics = sorted({f.module for r in compared if r.report for f in r.report.facts})
    topics = topics or ["(no facts)"]
    levels = [[NO_REPORT] * len(releases) for _ in topics]
    counts = [[0] * len(releases) for _ in topics]
    row_of = {topic: i for i, topic in enumerate(topics)}
    previous: Release | None = None
    for column, release in enumerate(releases):
        if previous is not None and previous.build != release.build:
            previous = None
        if not any(release is r for r in compared):
            continue
        rep = release.report
        assert rep is not None  # a compared release
        for row in levels:
            row[column] = FIRST if previous is None else NONE
        found = differences(previous.report, rep) if previous is not None else []
        if previous is None:  # the first release: only its environment errors
            found = [
                Difference(ENV_ERROR, f.id, "", ERROR, facts=(f.id,))
                for f in rep.facts
                if f.outcome == ERROR
            ]
        topic_by_id = {**(facts_topics(previous) if previous else {}), **facts_topics(release)}
        for d in found:
            if d.kind not in LEVEL_OF:
                continue
            for topic in {topic_by_id[f] for f in d.facts if f in topic_by_id}:
                i = row_of[topic]
                levels[i][column] = max(levels[i][column], LEVEL_OF[d.kind])
                counts[i][column] += 1
        previous = release
    return topics, levels, counts


def facts_topics(release: Release) -> dict[str, str]:
    """Each fact id of a release's report, with its topic."""
    return {f.id: f.module for f in (release.report.facts if release.report else [])}


def plot_heatmap(releases: Sequence[Release], path: Path) -> None:
    """Topics (rows) x releases (columns), coloured by the worst difference against the
    previous release, with the number of differences written in the cell; at most
    MAX_PIXELS, whatever the number of facts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    topics, levels, counts = topic_grid(releases)
    width_px, height_px = MAX_PIXELS
    cell_w = min(0.8, (width_px / DPI - 7.0) / max(1, len(releases)))
    cell_h = min(0.4, (height_px / DPI - 2.0) / max(1, len(topics)))
    width = min(width_px / DPI, 7.0 + cell_w * len(releases))
    height = min(height_px / DPI, 2.0 + cell_h * len(topics))
    font = max(5.0, min(9.0, cell_h * 24))
    colours = [LEVEL_STYLE[level][0] for level in sorted(LEVEL_STYLE)]
    fig, ax = plt.subplots(figsize=(width, height), dpi=DPI)
    ax.imshow(
        levels,
        cmap=ListedColormap(colours),
        vmin=-0.5,
        vmax=len(colours) - 0.5,
        aspect="auto",
        interpolation="nearest",
    )
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            if count:
                dark = levels[i][j] in (REGRESSIONS, NO_REPORT, ERRORS, DOC)
                ax.text(j, i, str(count), ha="center", va="center", fontsize=font,
                        color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(len(releases)), [r.label for r in releases], rotation=30, ha="right")
    ax.set_yticks(
        range(len(topics)),
        [t.removeprefix("specs/").removesuffix(".py") for t in topics],
        fontsize=font,
    )
    ax.set_xticks([x - 0.5 for x in range(1, len(releases))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(topics))], minor=True)
    ax.grid(which="minor", color="#bbbbbb", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.set_title("rnnspec: worst difference per topic against the previous release", fontsize=10)
    ax.legend(
        handles=[
            Patch(facecolor=LEVEL_STYLE[level][0], edgecolor="black", label=LEVEL_STYLE[level][1])
            for level in sorted(LEVEL_STYLE, reverse=True)
        ],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def write_comparison(
    releases: Sequence[Release], out_dir: Path, baseline: BaselineCheck | None = None
) -> Path:
    """Write comparison.md and comparison.png into out_dir; returns the Markdown file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_heatmap(releases, out_dir / COMPARISON_PNG)
    page = out_dir / COMPARISON_MD
    page.write_text(render_comparison(releases, heatmap=COMPARISON_PNG, baseline=baseline))
    return page


def append_summary(
    releases: Sequence[Release], path: Path, baseline: BaselineCheck | None = None
) -> None:
    """Append the page without the picture to `path`: a CI job summary holds 1 MiB and shows
    no local image."""
    text = render_comparison(releases, baseline=baseline)
    note = f"\n(The picture: {COMPARISON_PNG}, beside {COMPARISON_MD}.)\n"
    with Path(path).open("a") as out:
        out.write(text + note)


def archive_reports(releases: Sequence[Release], out_dir: Path) -> list[Path]:
    """Write each release's report, slimmed to what `rnnspec diff` and this page read
    (Report.archived), as OUT/<its folder>/report.json.gz: the light copy a repository keeps
    (docs/matrix); the full report stays where the run wrote it. Returns the files written."""
    written = []
    for release in compared_releases(releases):
        assert release.report is not None  # a compared release has one
        source = Path(release.source or release.label)
        folder = out_dir / (source.parent.name if source.suffix else source.name)
        folder.mkdir(parents=True, exist_ok=True)
        data = release.report.archived().to_json(slim=True)
        path = folder / ARCHIVED_REPORT_FILE
        path.write_bytes(gzip.compress(data, mtime=0))  # no time stamp: the same bytes each time
        written.append(path)
    return written


def _no_extra(command: str, extra: Sequence[str]) -> bool:
    if extra:
        print(f"rnnspec {command}: unexpected arguments: {' '.join(extra)}", file=sys.stderr)
    return not extra


def cmd_compare(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Build comparison.md and comparison.png from reports and jobs' folders; exit 1 on a
    regression against --baseline, 2 when something cannot be read."""
    if not _no_extra("compare", extra):
        return 2
    try:
        plan = read_plan(Path(args.plan)) if args.plan else None
        releases = releases_from_reports([Path(p) for p in args.reports], plan=plan)
        baseline = None
        if args.baseline:
            trusted = releases_from_reports([Path(args.baseline)])
            baseline = check_baseline(releases, trusted, args.baseline)
    except (ReportError, JobError) as error:
        print(f"rnnspec compare: {error}", file=sys.stderr)
        return 2
    page = write_comparison(releases, Path(args.out), baseline)
    if args.archive:
        archived = archive_reports(releases, Path(args.archive))
        print(f"rnnspec compare: {len(archived)} reports archived under {args.archive}")
    if args.summary:
        append_summary(releases, Path(args.summary), baseline)
    print(f"rnnspec compare: {len(releases)} releases compared in {page}")
    if baseline is not None and baseline.failures:
        print(
            f"rnnspec compare: {baseline.failures} failing against the baseline "
            f"{args.baseline} (see 'Against the baseline' in {page})",
            file=sys.stderr,
        )
        return 1
    return 0


def register(sub: Any) -> None:
    """Add the `compare` subcommand to rnnspec's subparsers."""
    compare = sub.add_parser(
        "compare",
        help="build a comparison page (Markdown and PNG) from reports and matrix jobs' folders",
        description="Order the reports by device and torch version and write comparison.md "
        "and comparison.png: the classified changes between adjacent releases, known bugs, "
        "topics x releases, every fact per release, benchmarks. Exit status: 2 when a report, "
        "job.json or plan cannot be read, 1 on a regression against --baseline, 0 otherwise.",
    )
    compare.add_argument(
        "reports",
        nargs="+",
        metavar="PATH",
        help="report.json files, folders holding one or a job.json (rnnspec matrix), or "
        "folders of such folders (gathered from many runners)",
    )
    compare.add_argument("--out", default="reports/compare", help="output folder")
    compare.add_argument(
        "--plan",
        metavar="PLAN.json",
        help="the jobs that were expected (rnnspec matrix --plan): one that left nothing is "
        "'not run'",
    )
    compare.add_argument(
        "--baseline",
        metavar="DIR",
        help="reports of the same releases from a run you trust (e.g. docs/matrix): exit 1 "
        "on a regression against them, or when a release they hold left no report",
    )
    compare.add_argument(
        "--summary",
        metavar="FILE",
        help="also append the page, without the picture, to FILE (e.g. $GITHUB_STEP_SUMMARY)",
    )
    compare.add_argument(
        "--archive",
        metavar="DIR",
        help="also write each release's report, slimmed to what diff and compare read, as "
        "DIR/<its folder>/report.json.gz (what docs/matrix keeps)",
    )
    compare.set_defaults(func=cmd_compare)
