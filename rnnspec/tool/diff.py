"""What differs between two fact reports, sorted into classes a person can act on.

    rnnspec diff OLD NEW [--fail-on-undocumented]   classified differences; exit 1 on a regression

A report is the `report.json` that `rnnspec check` writes (or a folder holding it, or the
archived `report.json.gz` of docs/matrix), read through `rnnspec.schema.Report.from_json`,
which also reads the older layouts. Facts are matched by their stable id.

The classes, in the order they are listed (what needs action first):

- regression: a fact that passed (or was a known bug) now fails, crashes, times out or is
  absent (the line names the signal or the limit); also passed -> known_bug (PyTorch
  shipped a known bug; the issue is named; a crash the ledger predicts is such a bug);
- undocumented change: a fact that passes (or is a known bug) on both sides observed
  something else: a string, bool, int or list that differs, a float that moved further
  than the tolerance recorded beside it (none recorded: any change);
- fixed: failed, crashed, timed out or known_bug -> passed (a known bug's line says it no
  longer holds here: measured, not an upstream fix, whose thread may still be open); also
  known_bug -> failed where the failure is the ledger's "fixed in <release>" (narrow the
  bug's `affects`);
- documented change: a `since=` fact whose `release_side` observation changed: the
  behaviour moved at a release boundary its source documents;
- warnings new / warnings gone: by category, message and module, deprecations first;
- environment error: a fact that the environment stopped, or that an interrupted run
  never reached, on either side; not compared, never a regression, listed with its fix;
- skip change: skipped on one side, run on the other;
- new fact / removed fact: absent from the old report / absent from the new one (a
  removed fact that passed is a regression instead);
- other outcome change: between failed, crashed, timed out and known_bug (a bug entered
  or left the ledger, a failure became a crash);
- environment: device, CPU, CPU capability, threads, Python, torchvision and the other
  packages; kept apart from behaviour.

Observations and warnings are compared only where both reports record them (a
schema-1 report records neither); the `release_side` of a `since=` fact is derived from
the report's torch release where the row lacks it.

The output lists one line per fact family (a parametrized test function: its id without
the `[...]` parameters) and class: its cases folded, how many, and the range of what they
observed; the counts line counts every case.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from rnnspec.schema import (
    ERROR,
    FAILED,
    FAILING,
    KNOWN_BUG,
    NOT_RUN,
    PASSED,
    RELEASE_SIDE,
    SKIPPED,
    Fact,
    RaisedWarning,
    Report,
    ReportError,
    case_of,
    family_of,
    release_side,
)

RAN = (PASSED, FAILED, KNOWN_BUG)  # outcomes of a fact whose body ran to its end

REGRESSION = "regression"
FIXED = "fixed"
DOCUMENTED = "documented change"
UNDOCUMENTED = "undocumented change"
WARNING_NEW = "warnings new"
WARNING_GONE = "warnings gone"
ENV_ERROR = "environment error"
SKIP_CHANGE = "skip change"
NEW_FACT = "new fact"
REMOVED_FACT = "removed fact"
OTHER = "other outcome change"
ENVIRONMENT = "environment"
KINDS = (  # what needs action first: regressions, then undocumented changes
    REGRESSION,
    UNDOCUMENTED,
    FIXED,
    DOCUMENTED,
    WARNING_NEW,
    WARNING_GONE,
    ENV_ERROR,
    SKIP_CHANGE,
    NEW_FACT,
    REMOVED_FACT,
    OTHER,
    ENVIRONMENT,
)
BEHAVIOUR_KINDS = tuple(k for k in KINDS if k not in (ENV_ERROR, ENVIRONMENT))
FACT_KINDS = tuple(k for k in KINDS if k not in (WARNING_NEW, WARNING_GONE, ENVIRONMENT))
SINGULAR = {
    WARNING_NEW: "warning new",
    WARNING_GONE: "warning gone",
    ENVIRONMENT: "environment difference",
}
PLURAL = {
    REGRESSION: "regressions",
    FIXED: "fixed",
    DOCUMENTED: "documented changes",
    UNDOCUMENTED: "undocumented changes",
    WARNING_NEW: "warnings new",
    WARNING_GONE: "warnings gone",
    ENV_ERROR: "environment errors",
    SKIP_CHANGE: "skip changes",
    NEW_FACT: "new facts",
    REMOVED_FACT: "removed facts",
    OTHER: "other outcome changes",
    ENVIRONMENT: "environment differences",
}

# The top-level fields that describe the machine and its packages, not torch's behaviour.
ENVIRONMENT_FIELDS = ("device", "cpu", "cpu_capability", "threads", "python", "torchvision")
DEPRECATIONS = ("DeprecationWarning", "PendingDeprecationWarning", "FutureWarning")
# The plugin's message for a known bug that no longer reproduces in its affected range.
NO_LONGER_REPRODUCES = re.compile(r"^fixed in \S+ \S+:")
VALUE_CHARS = 120  # observed values are cut to this length in a line
CASES_SHOWN = 3  # a family's cases named in its line; more are folded


def load_report(path: Path) -> Report:
    """Read a report.json, report.json.gz or the folder holding one (Report.read)."""
    return Report.read(Path(path))


def fact_release_side(fact: Fact, report: Report) -> str | None:
    """Which side of its `since` boundaries a fact observed: recorded, else from the
    report's torch release (a schema-1 report records none)."""
    recorded = fact.observations.get(RELEASE_SIDE)
    if recorded is not None:
        return str(recorded.value)
    release = report.release
    if not fact.since or release is None:
        return None
    return release_side(fact.since, lambda boundary: release >= Version(boundary))


@dataclass(frozen=True)
class Difference:
    """One difference between two reports: a fact's (or the machine's) before and after."""

    kind: str  # one of KINDS
    subject: str  # the fact id, a warning, or an environment field
    before: str
    after: str
    source: str = ""  # the document the fact cites
    note: str = ""  # the issue, boundary, fix or observed message that explains it
    facts: tuple[str, ...] = ()  # the facts it concerns (those that raised a warning)

    def line(
        self, arrow: str = "->", part: Callable[[str], str] = str, subject: str | None = None
    ) -> str:
        """One line: subject, before -> after (where the difference has them), source, note;
        each part passed through `part` (the page escapes them for Markdown)."""
        text = part(self.subject) if subject is None else subject
        if self.before or self.after:
            text += f": {part(self.before)} {arrow} {part(self.after)}"
        if self.source:
            text += f" ({part(self.source)})"
        if self.note:
            text += f"; {part(self.note)}"
        return " ".join(text.split())


def short(value: object, limit: int = VALUE_CHARS) -> str:
    """A value in one short line: JSON for data, the text itself for a string."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def observation_differs(old: object, new: object, tolerance: float | None) -> bool:
    """Whether an observed value changed: floats beyond `tolerance` (None: exactly),
    everything else (strings, bools, ints) on any difference; lists and mappings item by
    item, their floats with the same tolerance (an accuracy per training seed). A string's
    "(Triggered internally at <file>:<line>.)", the C++ source line of a warning observed as
    a fact's value, is not part of what it says."""
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() != new.keys() or any(
            observation_differs(old[k], new[k], tolerance) for k in old
        )
    if isinstance(old, list) and isinstance(new, list):
        return len(old) != len(new) or any(
            observation_differs(a, b, tolerance) for a, b in zip(old, new, strict=True)
        )
    if _number(old) and _number(new) and (isinstance(old, float) or isinstance(new, float)):
        a, b = float(old), float(new)  # type: ignore[arg-type]
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) != math.isnan(b)
        if a == b:  # also equal infinities
            return False
        return tolerance is None or not abs(a - b) <= tolerance
    if isinstance(old, str) and isinstance(new, str):  # a message: not its C++ source line
        return TRIGGERED_AT.sub("", old) != TRIGGERED_AT.sub("", new)
    return type(old) is not type(new) or old != new


@dataclass(frozen=True)
class ObservationChange:
    """One observation of one fact that differs between two reports."""

    name: str
    before: str
    after: str
    tolerance: float | None = None


def changed_observations(old: Fact, new: Fact) -> list[ObservationChange]:
    """The observations of one fact that differ, by name; one recorded on one side only is a
    difference (the fact took another path). `release_side` is left to `differences`."""
    before, after = old.observations, new.observations
    changed = []
    for name in sorted((before.keys() | after.keys()) - {RELEASE_SIDE}):
        was, now = before.get(name), after.get(name)
        shown_before = short(was.value) if was else "absent"
        shown_after = short(now.value) if now else "absent"
        if was is None or now is None:
            changed.append(ObservationChange(name, shown_before, shown_after))
            continue
        tolerance = now.tolerance if now.tolerance is not None else was.tolerance
        if observation_differs(was.value, now.value, tolerance):
            changed.append(ObservationChange(name, shown_before, shown_after, tolerance))
    return changed


def _joined(changed: Sequence[ObservationChange]) -> tuple[str, str, str]:
    """Before, after and the tolerances of several observation changes, for one line."""
    before = "; ".join(f"{c.name}={c.before}" for c in changed)
    after = "; ".join(f"{c.name}={c.after}" for c in changed)
    tolerances = [f"{c.name} tolerance {c.tolerance:g}" for c in changed if c.tolerance is not None]
    return before, after, "; ".join(tolerances)


def _bug_name(fact: Fact | None) -> str:
    return fact.bug.name if fact is not None and fact.bug is not None else ""


def _observed(fact: Fact | None, limit: int = 300) -> str:
    observed = fact.observed if fact is not None else None
    return f"observed: {short(observed, limit)}" if observed else ""


def _outcome_difference(fact_id: str, was: Fact | None, now: Fact | None) -> Difference | None:
    """The class of a change of outcome (None when the outcome did not change)."""
    old = was.outcome if was else None
    new = now.outcome if now else None
    if old == new:
        return None
    source = (now or was).source if (now or was) else ""

    def make(kind: str, note: str = "") -> Difference:
        return Difference(kind, fact_id, old or "absent", new or "absent", source, note, (fact_id,))

    if ERROR in (old, new) or NOT_RUN in (old, new):
        stopped = now if new in (ERROR, NOT_RUN) else was
        note = f"fix: {stopped.fix}" if stopped and stopped.fix else _observed(stopped)
        return make(ENV_ERROR, note)
    if old is None:
        return make(NEW_FACT, _observed(now))
    if old in (PASSED, KNOWN_BUG) and new is None:
        return make(REGRESSION, "absent from the new report")
    if new is None:
        return make(REMOVED_FACT)
    if old == PASSED and new == KNOWN_BUG:
        return make(REGRESSION, f"known bug shipped: {_bug_name(now)}")
    if old == KNOWN_BUG and new in FAILING:
        observed = (now.observed if now else None) or ""
        if NO_LONGER_REPRODUCES.match(observed):
            return make(FIXED, f"{short(observed, 300)}; narrow the bug's affected releases")
        return make(REGRESSION, _observed(now))
    if old == PASSED and new in FAILING:
        return make(REGRESSION, _observed(now))
    if new == PASSED and old in (*FAILING, KNOWN_BUG):
        bug = _bug_name(was)
        # What was measured, not an upstream fix: the thread may still be open.
        return make(FIXED, f"the known bug no longer holds here: {bug}" if bug else "")
    if SKIPPED in (old, new):
        skipped = was if old == SKIPPED else now
        return make(SKIP_CHANGE, _observed(now) or _observed(skipped))
    return make(OTHER, _bug_name(now) or _bug_name(was) or _observed(now))


# "(Triggered internally at ../aten/src/ATen/native/RNN.cpp:1479.)": the source line of a C++
# warning moves with every release; the warning does not.
TRIGGERED_AT = re.compile(r"\s*\(Triggered internally at [^)]*\)\.?")
SITE_PACKAGES = re.compile(r"^.*[/\\](?:site|dist)-packages[/\\]")


def warning_module(module: str) -> str:
    """A module as a dotted name, also where a report kept a file path under site-packages
    (`.../site-packages/torch/onnx/utils.py` -> `torch.onnx.utils`): the folder of an
    environment differs from one release's to the next."""
    if not SITE_PACKAGES.match(module):
        return module
    parts = SITE_PACKAGES.sub("", module).removesuffix(".py").replace("\\", "/").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _warning_key(warning: RaisedWarning) -> tuple[str, str, str]:
    message = TRIGGERED_AT.sub("", warning.message)
    return (warning.category, " ".join(message.split()), warning_module(warning.module))


def _warning_order(key: tuple[str, str, str]) -> tuple[bool, tuple[str, str, str]]:
    return (key[0] not in DEPRECATIONS, key)


def warning_differences(pairs: Iterable[tuple[str, Fact, Fact]]) -> list[Difference]:
    """Warnings raised in one report and not the other, one line per distinct warning
    (category, message, module) naming the facts that raised it; deprecations first.

    `pairs` holds (fact id, old fact, new fact) of facts that ran on both sides of reports
    that record warnings. A warning counts as new when none of those facts raised it in
    the old report, wherever it was raised in the new one: PyTorch warns many things once
    per process (TORCH_WARN_ONCE), so which fact meets it depends on how the facts were
    shared among the xdist workers."""
    raised_before: dict[tuple[str, str, str], list[str]] = {}
    raised_after: dict[tuple[str, str, str], list[str]] = {}
    for fact_id, was, now in pairs:
        for fact, table in ((was, raised_before), (now, raised_after)):
            for key in {_warning_key(w) for w in fact.warnings}:
                table.setdefault(key, []).append(fact_id)
    appeared = {k: v for k, v in raised_after.items() if k not in raised_before}
    gone = {k: v for k, v in raised_before.items() if k not in raised_after}
    found = []
    for kind, table in ((WARNING_NEW, appeared), (WARNING_GONE, gone)):
        for key in sorted(table, key=_warning_order):
            category, message, module = key
            facts = sorted(table[key])
            subject = f"{category}: {short(message, 200)}" + (f" ({module})" if module else "")
            note = f"in {folded_ids(facts)}"
            found.append(Difference(kind, subject, "", "", note=note, facts=tuple(facts)))
    return found


def environment_differences(old: Report, new: Report) -> list[Difference]:
    """The machine and package fields that differ (fields a report lacks are not compared:
    schema-1 reports record fewer)."""
    found = []
    for name in ENVIRONMENT_FIELDS:
        was, now = getattr(old, name), getattr(new, name)
        if was is not None and now is not None and was != now:
            found.append(Difference(ENVIRONMENT, name, short(was), short(now)))
    if old.packages and new.packages:
        for name in sorted(old.packages.keys() | new.packages.keys()):
            was, now = old.packages.get(name), new.packages.get(name)
            if was != now and name != "torchvision":
                found.append(
                    Difference(ENVIRONMENT, name, str(was or "absent"), str(now or "absent"))
                )
    return found


def differences(old: Report, new: Report) -> list[Difference]:
    """Every difference between two reports, in the order of KINDS, then by subject."""
    before, after = old.by_id(), new.by_id()
    observations = old.records_observations and new.records_observations
    found: list[Difference] = []
    ran_on_both = []
    for fact_id in sorted(before.keys() | after.keys()):
        was, now = before.get(fact_id), after.get(fact_id)
        outcome = _outcome_difference(fact_id, was, now)
        if outcome is not None:
            found.append(outcome)
        if was is None or now is None:
            continue
        if observations and was.outcome in RAN and now.outcome in RAN:
            ran_on_both.append((fact_id, was, now))
        if outcome is not None or was.outcome not in (PASSED, KNOWN_BUG):
            continue
        side_before, side_after = fact_release_side(was, old), fact_release_side(now, new)
        changed = changed_observations(was, now) if observations else []
        if side_before is not None and side_after is not None and side_before != side_after:
            note = f"boundary torch {now.since or was.since}"
            if changed:
                shown_before, shown_after, _ = _joined(changed)
                note += f"; also observed {shown_before} -> {shown_after}"
            found.append(
                Difference(
                    DOCUMENTED, fact_id, side_before, side_after, now.source, note, (fact_id,)
                )
            )
        elif changed:
            shown_before, shown_after, tolerances = _joined(changed)
            found.append(
                Difference(
                    UNDOCUMENTED,
                    fact_id,
                    shown_before,
                    shown_after,
                    now.source,
                    tolerances,
                    (fact_id,),
                )
            )
    found += warning_differences(ran_on_both)
    found += environment_differences(old, new)
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(found, key=lambda d: order[d.kind])  # stable: subjects stay sorted


def of_kind(found: Sequence[Difference], kind: str) -> list[Difference]:
    """The differences of one class."""
    return [d for d in found if d.kind == kind]


def counts_line(found: Sequence[Difference], kinds: Sequence[str] = KINDS) -> str:
    """'0 regressions, 3 documented changes, 2 warnings new': the regressions always, the
    other classes where they occur; "no change" when nothing differs."""
    counts = {kind: len(of_kind(found, kind)) for kind in kinds}
    if not any(counts.values()):
        return "no change"
    parts = [counted(counts[REGRESSION], REGRESSION)] if REGRESSION in counts else []
    parts += [counted(n, k) for k, n in counts.items() if n and k != REGRESSION]
    return ", ".join(parts)


def counted(number: int, kind: str) -> str:
    """'1 regression', '2 regressions', '1 warning new'."""
    return f"{number} {SINGULAR.get(kind, kind) if number == 1 else PLURAL[kind]}"


def exit_status(found: Sequence[Difference], fail_on_undocumented: bool = False) -> int:
    """1 when a fact regressed (or, with fail_on_undocumented, changed undocumented), else 0."""
    failing = {REGRESSION, UNDOCUMENTED} if fail_on_undocumented else {REGRESSION}
    return int(any(d.kind in failing for d in found))


# ------------------------------------------------------------------ one line per family


def folded_cases(cases: Sequence[str]) -> str:
    """A family's case parameters in a few characters: all of them when there are few
    ("[GRU, LSTM, RNN]"), else what they share ("[LSTM-…] 12 cases") or their first
    parameters ("[GRU|LSTM|RNN-…] 20 cases")."""
    if len(cases) <= CASES_SHOWN:
        return "[" + ", ".join(cases) + "]"
    shared = cases[0]
    for case in cases[1:]:
        while not case.startswith(shared):
            shared = shared[:-1]
    shared = shared[: shared.rfind("-") + 1] if "-" in shared else ""
    if shared:
        return f"[{shared}…] {len(cases)} cases"
    firsts = list(dict.fromkeys(case.split("-")[0] for case in cases))
    shown = "|".join(firsts[:CASES_SHOWN]) + ("|…" if len(firsts) > CASES_SHOWN else "")
    more = "-…" if any("-" in case for case in cases) else ""
    return f"[{shown}{more}] {len(cases)} cases"


def folded_ids(fact_ids: Sequence[str]) -> str:
    """Fact ids with each family's cases folded: "specs/a.py::test_x[LSTM-…] 12 cases, ..."."""
    families: dict[str, list[str]] = {}
    for fact_id in fact_ids:
        families.setdefault(family_of(fact_id), []).append(case_of(fact_id))
    named = [
        family + (folded_cases([c for c in cases if c]) if any(cases) else "")
        for family, cases in families.items()
    ]
    shown = ", ".join(named[:CASES_SHOWN])
    return shown + (f" and {len(named) - CASES_SHOWN} more" if len(named) > CASES_SHOWN else "")


def value_range(values: Sequence[str]) -> str:
    """What several cases observed, in one short part: the one value they share, the lowest
    and highest of numbers, or the first value and how many others."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return distinct[0]
    try:
        numbers = sorted(float(v) for v in distinct)
    except ValueError:
        if len(distinct) <= 2:
            return " | ".join(distinct)
        return f"{distinct[0]} (and {len(distinct) - 1} other values)"
    return f"{numbers[0]:g} … {numbers[-1]:g}"


@dataclass(frozen=True)
class FamilyLine:
    """The differences of one class within one fact family, as one line."""

    kind: str
    family: str
    cases: tuple[Difference, ...]

    @property
    def subject(self) -> str:
        if len(self.cases) == 1:
            return self.cases[0].subject
        return self.family + folded_cases([case_of(d.subject) for d in self.cases])

    def merged(self) -> Difference:
        """The family as one Difference, for its `line`: before, after and note ranged."""
        first = self.cases[0]
        if len(self.cases) == 1:
            return first
        return Difference(
            self.kind,
            self.subject,
            value_range([d.before for d in self.cases]),
            value_range([d.after for d in self.cases]),
            first.source,
            value_range([d.note for d in self.cases]),
            tuple(f for d in self.cases for f in d.facts),
        )


def family_lines(found: Sequence[Difference]) -> list[FamilyLine]:
    """Fact differences grouped by class and fact family, in the order of `found`;
    warnings and the environment stay one line each."""
    groups: dict[tuple[str, str], list[Difference]] = {}
    for d in found:
        key = (d.kind, family_of(d.subject) if d.kind in FACT_KINDS else d.subject)
        groups.setdefault(key, []).append(d)
    return [FamilyLine(kind, family, tuple(ds)) for (kind, family), ds in groups.items()]


def render_diff(old: Report, new: Report, found: Sequence[Difference]) -> str:
    """The plain-text answer of `rnnspec diff`: a counts line, then each class's lines, one
    per fact family."""
    lines = [
        f"rnnspec diff: torch {old.torch} (old) -> torch {new.torch} (new): {counts_line(found)}"
    ]
    for kind in KINDS:
        of = of_kind(found, kind)
        if of:
            families = family_lines(of)
            shown = f" ({len(families)} families)" if len(families) < len(of) else ""
            lines.append(f"{PLURAL[kind]}: {len(of)}{shown}")
            lines += [f"  {family.merged().line()}" for family in families]
    return "\n".join(lines)


# ------------------------------------------------------------------------- the command


def cmd_diff(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Print the classified differences from OLD to NEW; exit 1 on a regression (or an
    undocumented change with --fail-on-undocumented), 2 on an unreadable report."""
    if extra:
        print(f"rnnspec diff: unexpected arguments: {' '.join(extra)}", file=sys.stderr)
        return 2
    try:
        old, new = load_report(Path(args.old)), load_report(Path(args.new))
    except ReportError as error:
        print(f"rnnspec diff: {error}", file=sys.stderr)
        return 2
    found = differences(old, new)
    print(render_diff(old, new, found))
    return exit_status(found, fail_on_undocumented=args.fail_on_undocumented)


def register(sub: Any) -> None:
    """Add the `diff` subcommand to rnnspec's subparsers."""
    diff = sub.add_parser(
        "diff",
        help="classify the differences between two reports; exit 1 on a regression",
        description="Sort every difference between OLD and NEW into regressions, undocumented "
        "changes, fixes, documented changes, warnings new or gone, environment errors, skip "
        "changes, new and removed facts, and environment differences, one line per fact "
        "family. Exit status: 1 on a regression (and, with --fail-on-undocumented, on an "
        "undocumented change), 0 otherwise, 2 when a report cannot be read.",
    )
    diff.add_argument("old", help="the old report.json (or its folder)")
    diff.add_argument("new", help="the new report.json (or its folder)")
    diff.add_argument(
        "--fail-on-undocumented",
        action="store_true",
        help="exit 1 also when an observation changed beyond its tolerance without a "
        "documented release boundary",
    )
    diff.set_defaults(func=cmd_diff)
