"""Compare fact reports across torch releases: what changed, and did anything regress.

    rnnspec compare REPORT.json ... [--out DIR]   a comparison page from existing reports
    rnnspec diff OLD.json NEW.json                the facts that changed between two reports

A report is the `report.json` that `rnnspec check --report-dir DIR` writes (a
folder holding one may be named instead). Releases are ordered by their torch
version, compared with `packaging.version` (so 2.10 comes after 2.9).

Between two reports a fact can change in five ways, each listed by both commands:

- started failing: failed in the new report, passed or was skipped in the old one;
- stopped failing: failed in the old report, passed or was skipped in the new one;
- appeared: absent from the old report (a new spec, or one selected only now);
- disappeared: absent from the new report (removed, renamed, or deselected);
- skip changed: passed in one report and was skipped in the other.

A *regression* is a fact that passed in the old report and, in the new one,
fails or is missing: the new release broke a promise the old one kept, or the
run no longer checks it. `rnnspec diff` exits 1 when there is one, 0 when there
is none (facts that were failing or skipped before are not regressions, even
when they fail now; passed -> skipped is listed but is not a regression), and 2
when a report cannot be read.

The page (`comparison.md`, `comparison.png`) has one row per fact and one
column per release, the observed message where a fact failed, every fact that
fails on some release, a section per adjacent pair of releases listing exactly
the facts that changed between them, and the benchmark medians when the
reports carry a "benchmarks" list of {name, median_s}.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

STARTED_FAILING = "started failing"
STOPPED_FAILING = "stopped failing"
APPEARED = "appeared"
DISAPPEARED = "disappeared"
SKIP_CHANGED = "skip changed"
CHANGE_KINDS = (STARTED_FAILING, STOPPED_FAILING, APPEARED, DISAPPEARED, SKIP_CHANGED)

# pytest's exit codes, as `rnnspec check` returns them and report.json records them.
EXIT_STATUS = {0: "passed", 1: "failed", 5: "no facts executed"}

COMPARISON_MD = "comparison.md"
COMPARISON_PNG = "comparison.png"
OBSERVED_CHARS = 200  # observed messages are cut to this length in table cells


class ReportError(Exception):
    """A report file that is missing, is not JSON, or is not an rnnspec report."""


def status_from_exit(code: int | None, report: dict[str, Any] | None = None) -> str:
    """The run's verdict from `rnnspec check`'s exit status (pytest's exit codes).

    A run that failed without a single fact in its report did not check anything (under
    xdist a collection error exits 1, like a failing test): it crashed, it did not fail.
    """
    if code is None:
        return "crashed"
    if code == 1 and report is not None and not report.get("facts"):
        return "crashed (no facts collected)"
    return EXIT_STATUS.get(code, f"crashed (exit {code})")


def load_report(path: Path) -> dict[str, Any]:
    """Read a report.json (or the report.json inside a folder) and check its shape."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        payload = json.loads(path.read_text())
    except OSError as error:
        raise ReportError(f"{path}: cannot read: {error.strerror or error}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: not JSON: {error}") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("facts"), list):
        raise ReportError(f"{path}: not an rnnspec report (no 'facts' list)")
    for fact in payload["facts"]:
        if not isinstance(fact, dict) or not {"id", "outcome"} <= fact.keys():
            raise ReportError(f"{path}: a fact without 'id' and 'outcome': {fact!r:.200}")
    return payload


def facts_by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's fact rows keyed by test id."""
    return {fact["id"]: fact for fact in report["facts"]}


@dataclass(frozen=True)
class Change:
    """One fact whose outcome differs between an old and a new report (None: absent)."""

    id: str
    old: str | None
    new: str | None
    claim: str | None = None
    observed: str | None = None  # the new report's message, else the old one's

    @property
    def kind(self) -> str:
        if self.old is None:
            return APPEARED
        if self.new is None:
            return DISAPPEARED
        if self.new == FAILED:
            return STARTED_FAILING
        if self.old == FAILED:
            return STOPPED_FAILING
        return SKIP_CHANGED

    @property
    def regression(self) -> bool:
        """Passed before, and now fails or is missing."""
        return self.old == PASSED and self.new in (FAILED, None)

    def transition(self) -> str:
        return f"{self.old or 'absent'} -> {self.new or 'absent'}"


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every fact whose outcome differs between the two reports, ordered by id."""
    before, after = facts_by_id(old), facts_by_id(new)
    found = []
    for fact_id in sorted(before.keys() | after.keys()):
        was, now = before.get(fact_id), after.get(fact_id)
        old_outcome = was["outcome"] if was else None
        new_outcome = now["outcome"] if now else None
        if old_outcome == new_outcome:
            continue
        row = now or was or {}
        observed = (now or {}).get("observed") or (was or {}).get("observed")
        found.append(Change(fact_id, old_outcome, new_outcome, row.get("claim"), observed))
    return found


def _version_key(label: str) -> tuple[int, Version | str]:
    try:
        return (0, Version(label))
    except InvalidVersion:
        return (1, label)


@dataclass
class Release:
    """One column of the comparison: a torch release and its report, or why it has none."""

    label: str
    status: str
    report: dict[str, Any] | None = None
    source: str | None = None  # where the report came from
    error: str | None = None  # why there is no report, or what went wrong
    details: dict[str, Any] = field(default_factory=dict)  # e.g. env_seconds, suite_seconds

    @property
    def version_key(self) -> tuple[int, Version | str]:
        return _version_key(self.label)


def releases_from_reports(paths: Sequence[Path]) -> list[Release]:
    """Load reports and order them by torch version (ties keep the given order).

    Raises ReportError for a report that cannot be read.
    """
    releases = []
    for path in paths:
        report = load_report(path)
        label = str(report.get("torch", "unknown"))
        status = status_from_exit(report.get("exitstatus"), report)
        releases.append(Release(label, status, report, source=str(path)))
    releases.sort(key=lambda r: r.version_key)
    labels = [r.label for r in releases]
    for release in releases:
        if labels.count(release.label) > 1:  # two reports of one release: name their folders
            folder = Path(release.source or "").resolve()
            name = folder.parent.name if folder.name == "report.json" else folder.name
            release.label = f"{release.label} ({name})"
    return releases


def compared_releases(releases: Sequence[Release]) -> list[Release]:
    """The releases that are columns of the comparison: those with at least one fact."""
    return [r for r in releases if r.report is not None and r.report.get("facts")]


def _cell(text: str | None, limit: int | None = None) -> str:
    text = " ".join((text or "").split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _outcome_cell(fact: dict[str, Any] | None) -> str:
    if fact is None:
        return "—"
    if fact["outcome"] == FAILED:
        return f"**fail**: {_cell(fact.get('observed'), OBSERVED_CHARS)}"
    return {PASSED: "pass", SKIPPED: "skip"}.get(fact["outcome"], _cell(fact["outcome"]))


def _summary(report: dict[str, Any]) -> str:
    s = report.get("summary") or {}
    return f"{s.get(PASSED, 0)} passed, {s.get(FAILED, 0)} failed, {s.get(SKIPPED, 0)} skipped"


def _seconds(value: Any) -> str:
    return f"{value:.0f}" if isinstance(value, int | float) else ""


def _releases_table(releases: Sequence[Release]) -> list[str]:
    lines = [
        "| release | status | torch | torchvision | Python | device | facts "
        "| env s | suite s | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in releases:
        rep = r.report or {}
        facts = _summary(rep) if r.report else ""
        suite = r.details.get("suite_seconds", rep.get("duration_s"))
        lines.append(
            f"| {_cell(r.label)} | {_cell(r.status)} | {_cell(str(rep.get('torch', '')))} "
            f"| {_cell(str(rep.get('torchvision', '')))} | {_cell(str(rep.get('python', '')))} "
            f"| {_cell(str(rep.get('device', '')))} | {facts} "
            f"| {_seconds(r.details.get('env_seconds'))} | {_seconds(suite)} "
            f"| {_cell(r.error, 300)} |"
        )
    return lines


def _change_lines(found: Sequence[Change]) -> list[str]:
    if not found:
        return ["No fact changed."]
    lines = []
    for kind in CHANGE_KINDS:
        of_kind = [c for c in found if c.kind == kind]
        if not of_kind:
            continue
        lines += [f"**{kind}** ({len(of_kind)})", ""]
        for c in of_kind:
            flag = " — regression" if c.regression else ""
            lines.append(f"- `{c.id}`: {c.transition()}{flag}")
            if c.claim and c.kind in (STARTED_FAILING, STOPPED_FAILING):
                lines.append(f"  - claim: {_cell(c.claim)}")
            if c.observed and FAILED in (c.old, c.new):
                lines.append(f"  - observed: {_cell(c.observed, 1000)}")
        lines.append("")
    return lines[:-1]


def _benchmark_lines(compared: Sequence[Release]) -> list[str]:
    medians: dict[str, dict[str, float]] = {}
    for r in compared:
        for bench in (r.report or {}).get("benchmarks") or []:
            if isinstance(bench, dict) and "name" in bench and "median_s" in bench:
                medians.setdefault(str(bench["name"]), {})[r.label] = float(bench["median_s"])
    if not medians:
        return []
    labels = [r.label for r in compared]
    lines = [
        "## Benchmarks",
        "",
        "Median seconds per call, from each report's `benchmarks`; the last column is the "
        "newest release's median over the oldest one's.",
        "",
        "| benchmark | " + " | ".join(labels) + " | newest / oldest |",
        "|---|" + "---|" * (len(labels) + 1),
    ]
    for name in sorted(medians):
        row = medians[name]
        cells = [f"{row[label] * 1e3:.3g} ms" if label in row else "—" for label in labels]
        present = [row[label] for label in labels if label in row]
        ratio = f"{present[-1] / present[0]:.2f}x" if len(present) > 1 and present[0] else ""
        lines.append(f"| `{_cell(name)}` | " + " | ".join(cells) + f" | {ratio} |")
    return ["", *lines]


def render_comparison(releases: Sequence[Release], heatmap: str | None = None) -> str:
    """The comparison page in Markdown: releases, facts x releases, failures, changes."""
    compared = compared_releases(releases)
    table: dict[str, dict[str, dict[str, Any]]] = {}
    claims: dict[str, str] = {}
    for r in compared:
        for fact_id, fact in facts_by_id(r.report or {}).items():
            table.setdefault(fact_id, {})[r.label] = fact
            claims.setdefault(fact_id, fact.get("claim") or "")
    labels = [r.label for r in compared]
    lines = [
        "# rnnspec: facts across torch releases",
        "",
        f"{len(releases)} releases, {len(compared)} with facts in their report, "
        f"{len(table)} facts. "
        "Cells: pass, skip, **fail** with the observed message, — where the fact is absent.",
        "",
        *_releases_table(releases),
    ]
    fingerprints = {r.details.get("suite_fingerprint") for r in compared} - {None}
    if len(fingerprints) > 1:
        lines += [
            "",
            "**Warning:** the releases ran different versions of the suite (its files changed "
            "during the run): facts that appear or disappear between releases may come from "
            "those edits, not from torch.",
        ]
    if heatmap:
        lines += ["", f"![facts x releases]({heatmap})"]
    lines += ["", "## Facts x releases", ""]
    if compared:
        lines += ["| fact | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for fact_id in sorted(table):
            cells = [_outcome_cell(table[fact_id].get(label)) for label in labels]
            lines.append(f"| `{_cell(fact_id)}` | " + " | ".join(cells) + " |")
    else:
        lines.append("No release produced a report with facts.")
    failing = [f for f in sorted(table) if any(x["outcome"] == FAILED for x in table[f].values())]
    lines += ["", "## Facts that fail on some release", ""]
    if not failing:
        lines.append("None.")
    for fact_id in failing:
        lines += [f"- `{fact_id}`: {_cell(claims[fact_id])}"]
        for label in labels:
            fact = table[fact_id].get(label)
            if fact is not None and fact["outcome"] == FAILED:
                lines.append(f"  - {label}: {_cell(fact.get('observed'), 1000)}")
        passing = [
            label for label in labels if table[fact_id].get(label, {}).get("outcome") == PASSED
        ]
        lines.append(f"  - passes on: {', '.join(passing) if passing else 'none'}")
    lines += ["", "## Changes between adjacent releases", ""]
    if len(compared) < 2:
        lines.append("Fewer than two releases have facts in their report: nothing to compare.")
    for old, new in itertools.pairwise(compared):
        found = changes(old.report or {}, new.report or {})
        regressions = sum(c.regression for c in found)
        lines += [
            f"### {old.label} -> {new.label}",
            "",
            f"{len(found)} facts changed, {regressions} regressions.",
            "",
            *_change_lines(found),
            "",
        ]
    lines += _benchmark_lines(compared)
    return "\n".join(lines).rstrip() + "\n"


OUTCOME_CODES = {None: 0, PASSED: 1, FAILED: 2, SKIPPED: 3}


def plot_heatmap(releases: Sequence[Release], path: Path) -> None:
    """Facts (rows) x releases (columns): green pass, red fail, grey skip, white absent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    compared = compared_releases(releases)
    outcomes = [{f["id"]: f["outcome"] for f in (r.report or {})["facts"]} for r in compared]
    fact_ids = sorted(set().union(*outcomes)) if outcomes else []
    grid = [[OUTCOME_CODES.get(col.get(fact_id), 0) for col in outcomes] for fact_id in fact_ids]
    colours = ["white", "#2ca02c", "#d62728", "#b0b0b0"]
    height = min(200.0, max(3.0, 0.16 * len(fact_ids) + 1.5))
    width = max(6.0, 1.1 * len(compared) + 7.0)
    fig, ax = plt.subplots(figsize=(width, height))
    if fact_ids:
        ax.imshow(
            grid,
            cmap=ListedColormap(colours),
            vmin=-0.5,
            vmax=3.5,
            aspect="auto",
            interpolation="nearest",
        )
    ax.set_xticks(range(len(compared)), [r.label for r in compared], rotation=30, ha="right")
    ax.set_yticks(range(len(fact_ids)), [f.removeprefix("specs/") for f in fact_ids], fontsize=6)
    ax.set_xticks([x - 0.5 for x in range(1, len(compared))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(fact_ids))], minor=True)
    ax.grid(which="minor", color="white", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(axis="x", top=True, labeltop=True)  # a tall map shows its releases on top too
    ax.set_title("rnnspec facts across torch releases")
    labels = ("absent", "pass", "fail", "skip")
    ax.legend(
        handles=[
            Patch(facecolor=c, edgecolor="black", label=t)
            for c, t in zip(colours, labels, strict=True)
        ],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_comparison(releases: Sequence[Release], out_dir: Path) -> Path:
    """Write comparison.md and comparison.png into out_dir; returns the Markdown file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_heatmap(releases, out_dir / COMPARISON_PNG)
    page = out_dir / COMPARISON_MD
    page.write_text(render_comparison(releases, heatmap=COMPARISON_PNG))
    return page


def render_diff(old: dict[str, Any], new: dict[str, Any], found: Sequence[Change]) -> str:
    """The plain-text answer of `rnnspec diff`."""
    lines = [
        f"rnnspec diff: torch {old.get('torch', '?')} (old) -> torch {new.get('torch', '?')} "
        f"(new): {len(found)} facts changed"
    ]
    for kind in CHANGE_KINDS:
        of_kind = [c for c in found if c.kind == kind]
        lines.append(f"{kind}: {len(of_kind)}")
        for c in of_kind:
            flag = "  [regression]" if c.regression else ""
            lines.append(f"  {c.id}  {c.transition()}{flag}")
            if c.observed and FAILED in (c.old, c.new):
                lines.append(f"      observed: {_cell(c.observed, 500)}")
    regressions = [c for c in found if c.regression]
    lines.append(f"regressions (passed -> failed or missing): {len(regressions)}")
    return "\n".join(lines)


def cmd_diff(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Print what changed from OLD to NEW; exit 1 on a regression, 2 on unreadable input."""
    if extra:
        print(f"rnnspec diff: unexpected arguments: {' '.join(extra)}", file=sys.stderr)
        return 2
    try:
        old, new = load_report(Path(args.old)), load_report(Path(args.new))
    except ReportError as error:
        print(f"rnnspec diff: {error}", file=sys.stderr)
        return 2
    found = changes(old, new)
    print(render_diff(old, new, found))
    return 1 if any(c.regression for c in found) else 0


def cmd_compare(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Build comparison.md and comparison.png from existing reports."""
    if extra:
        print(f"rnnspec compare: unexpected arguments: {' '.join(extra)}", file=sys.stderr)
        return 2
    try:
        releases = releases_from_reports([Path(p) for p in args.reports])
    except ReportError as error:
        print(f"rnnspec compare: {error}", file=sys.stderr)
        return 2
    page = write_comparison(releases, Path(args.out))
    print(f"rnnspec compare: {len(releases)} reports compared in {page}")
    return 0


def add_parsers(sub: Any) -> None:
    """Add the `compare` and `diff` subcommands to rnnspec's subparsers."""
    compare = sub.add_parser(
        "compare",
        help="build a facts x releases comparison page from report.json files",
        description="Order the reports by torch version and write comparison.md and "
        "comparison.png: every fact per release, and the facts that changed between "
        "adjacent releases.",
    )
    compare.add_argument("reports", nargs="+", help="report.json files (or folders holding one)")
    compare.add_argument("--out", default="reports/compare", help="output folder")
    compare.set_defaults(func=cmd_compare)
    diff = sub.add_parser(
        "diff",
        help="list the facts that changed between two reports; exit 1 on a regression",
        description="Exit status: 1 when a fact that passed in OLD fails or is missing in NEW, "
        "0 otherwise, 2 when a report cannot be read.",
    )
    diff.add_argument("old", help="the old report.json (or its folder)")
    diff.add_argument("new", help="the new report.json (or its folder)")
    diff.set_defaults(func=cmd_diff)
