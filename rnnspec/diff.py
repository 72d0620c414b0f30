"""What differs between two fact reports, sorted into classes a person can act on.

A report is the `report.json` that `rnnspec check` writes (schema 2; schema-1 reports,
which record no observations, warnings, bugs or errors, are read with those fields
empty). Facts are matched by id; a trailing xdist "@group" suffix, which reports of
serial and parallel runs once disagreed on, is removed when a report is read.

The classes, in the order they are listed:

- regression: a fact that passed (or was a known bug) now fails, crashes, times out or is
  absent (the line names the signal or the limit); also passed -> known_bug (PyTorch
  shipped a known bug; the issue is named; a crash the ledger predicts is such a bug);
- fixed: failed, crashed, timed out or known_bug -> passed (a known bug's line says it no
  longer holds here: measured, not an upstream fix, whose thread may still be open); also
  known_bug -> failed where the failure is the ledger's "fixed in <release>" (narrow the
  bug's `affects`);
- documented change: a `since=` fact whose `release_side` observation changed: the
  behaviour moved at a release boundary its source documents;
- undocumented change: a fact that passes (or is a known bug) on both sides observed
  something else: a string, bool, int or list that differs, a float that moved further
  than the tolerance recorded beside it (none recorded: any change);
- warnings new / warnings gone: by category, message and module, deprecations first;
- environment error: a fact with outcome "error" or "not run" (the run was interrupted
  before it) on either side; not compared, never a regression, listed with its fix;
- skip change: skipped on one side, run on the other;
- new fact / removed fact: absent from the old report / absent from the new one (a
  removed fact that passed is a regression instead);
- other outcome change: between failed, crashed, timed out and known_bug (a bug entered
  or left the ledger, a failure became a crash);
- environment: device, CPU, CPU capability, threads, Python, torchvision and the other
  packages; kept apart from behaviour.

Observations and warnings are compared only where both fact rows record them (a
schema-1 report records neither); the `release_side` of a `since=` fact is derived from
the report's torch release where the row lacks it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from rnnspec.schema import (
    ERROR,
    FAILED,
    FAILING,
    KNOWN_BUG,
    NOT_RUN,
    PASSED,
    SKIPPED,
    VERDICT_OF_EXIT,
    specs_relative,
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
KINDS = (
    REGRESSION,
    FIXED,
    DOCUMENTED,
    UNDOCUMENTED,
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

RELEASE_SIDE = "release_side"  # the observation a `since=` fact records
# The top-level fields that describe the machine and its packages, not torch's behaviour.
ENVIRONMENT_FIELDS = ("device", "cpu", "cpu_capability", "threads", "python", "torchvision")
DEPRECATIONS = ("DeprecationWarning", "PendingDeprecationWarning", "FutureWarning")
# The plugin's message for a known bug that no longer reproduces in its affected range.
NO_LONGER_REPRODUCES = re.compile(r"^fixed in \S+ \S+:")
XDIST_GROUP = re.compile(r"@[^@\[\]/:]*$")  # "...::test_x[a]@char-rnn" -> "...::test_x[a]"
VALUE_CHARS = 120  # observed values are cut to this length in a line


class ReportError(Exception):
    """A report file that is missing, is not JSON, is not an rnnspec report, or has a schema
    this rnnspec cannot read; the message is one line."""


# report.json layouts this rnnspec reads: 1 (no observations, warnings, bugs, errors) and 2.
READABLE_SCHEMAS = (1, 2)


# `rnnspec check`'s exit codes, as report.json records them.
EXIT_STATUS = VERDICT_OF_EXIT


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


def stable_id(fact_id: str) -> str:
    """A fact id without the "@group" suffix that pytest-xdist's loadgroup once added, from
    its `specs/` folder on (rnnspec.schema.specs_relative)."""
    return specs_relative(XDIST_GROUP.sub("", fact_id))


def load_report(path: Path) -> dict[str, Any]:
    """Read a report.json (or the report.json inside a folder) and check its shape.

    Fact ids lose any xdist "@group" suffix; everything else is returned as written.
    """
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
    schema = payload.get("schema", 1)
    if schema not in READABLE_SCHEMAS:
        raise ReportError(
            f"{path}: report schema {schema!r}, this rnnspec reads schemas "
            f"{', '.join(map(str, READABLE_SCHEMAS))}: compare with the rnnspec that wrote it, "
            "or a newer one"
        )
    for fact in payload["facts"]:
        if not isinstance(fact, dict) or not {"id", "outcome"} <= fact.keys():
            raise ReportError(f"{path}: a fact without 'id' and 'outcome': {fact!r:.200}")
        fact["id"] = stable_id(str(fact["id"]))
    return payload


def facts_by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's fact rows keyed by their stable id."""
    return {stable_id(fact["id"]): fact for fact in report.get("facts") or []}


def topic_of(fact: dict[str, Any]) -> str:
    """The spec module a fact belongs to: its "topic", else the path part of its id."""
    return str(fact.get("topic") or fact["id"].split("::")[0])


def torch_version(report: dict[str, Any]) -> Version | None:
    """The report's torch release without its local tag (2.11.0+cpu -> 2.11.0)."""
    try:
        return Version(Version(str(report.get("torch"))).base_version)
    except InvalidVersion:
        return None


def release_side(fact: dict[str, Any], report: dict[str, Any]) -> str | None:
    """Which side of its `since` boundary a fact observed: recorded, else from the torch."""
    recorded = (fact.get("observations") or {}).get(RELEASE_SIDE)
    if isinstance(recorded, dict) and "value" in recorded:
        return str(recorded["value"])
    since, release = fact.get("since"), torch_version(report)
    if not since or release is None:
        return None
    try:
        return f"from {since}" if release >= Version(str(since)) else f"before {since}"
    except InvalidVersion:
        return None


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
    item, their floats with the same tolerance (an accuracy per training seed)."""
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
    return type(old) is not type(new) or old != new


def _observations(fact: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for name, entry in (fact.get("observations") or {}).items():
        if isinstance(entry, dict) and "value" in entry:
            found[name] = entry
        else:  # a bare value: no tolerance recorded
            found[name] = {"value": entry, "tolerance": None}
    return found


@dataclass(frozen=True)
class ObservationChange:
    """One observation of one fact that differs between two reports."""

    name: str
    before: str
    after: str
    tolerance: float | None = None


def changed_observations(old: dict[str, Any], new: dict[str, Any]) -> list[ObservationChange]:
    """The observations of one fact that differ, by name.

    Compared only where both rows record observations; one recorded on one side only is a
    difference (the fact took another path). `release_side` is left to `differences`.
    """
    if "observations" not in old or "observations" not in new:
        return []
    before, after = _observations(old), _observations(new)
    changed = []
    for name in sorted((before.keys() | after.keys()) - {RELEASE_SIDE}):
        was, now = before.get(name), after.get(name)
        shown_before = short(was["value"]) if was else "absent"
        shown_after = short(now["value"]) if now else "absent"
        if was is None or now is None:
            changed.append(ObservationChange(name, shown_before, shown_after))
            continue
        tolerance = now.get("tolerance")
        if tolerance is None:
            tolerance = was.get("tolerance")
        if observation_differs(was["value"], now["value"], tolerance):
            changed.append(ObservationChange(name, shown_before, shown_after, tolerance))
    return changed


def _joined(changed: Sequence[ObservationChange]) -> tuple[str, str, str]:
    """Before, after and the tolerances of several observation changes, for one line."""
    before = "; ".join(f"{c.name}={c.before}" for c in changed)
    after = "; ".join(f"{c.name}={c.after}" for c in changed)
    tolerances = [f"{c.name} tolerance {c.tolerance:g}" for c in changed if c.tolerance is not None]
    return before, after, "; ".join(tolerances)


def issue_number(issue: str) -> str:
    """A GitHub issue URL as owner/repo#N (as `KnownBug.number`); other text as it is."""
    parts = issue.rstrip("/").split("/")
    return f"{parts[-4]}/{parts[-3]}#{parts[-1]}" if len(parts) >= 4 else issue


def _bug_name(fact: dict[str, Any] | None) -> str:
    bug = (fact or {}).get("bug")
    if not isinstance(bug, dict):
        return ""
    number = issue_number(str(bug.get("issue") or ""))
    summary = bug.get("summary")
    return f"{number} ({summary})" if summary else number


def _observed(fact: dict[str, Any] | None, limit: int = 300) -> str:
    observed = (fact or {}).get("observed")
    return f"observed: {short(observed, limit)}" if observed else ""


def _outcome_difference(
    fact_id: str, was: dict[str, Any] | None, now: dict[str, Any] | None
) -> Difference | None:
    """The class of a change of outcome (None when the outcome did not change)."""
    old = was["outcome"] if was else None
    new = now["outcome"] if now else None
    if old == new:
        return None
    source = str((now or was or {}).get("source") or "")

    def make(kind: str, note: str = "") -> Difference:
        return Difference(kind, fact_id, old or "absent", new or "absent", source, note, (fact_id,))

    if ERROR in (old, new) or NOT_RUN in (old, new):
        fix = (now if new in (ERROR, NOT_RUN) else was) or {}
        note = f"fix: {fix['fix']}" if fix.get("fix") else _observed(fix)
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
        observed = str((now or {}).get("observed") or "")
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


def _warning_key(warning: dict[str, Any]) -> tuple[str, str, str]:
    message = TRIGGERED_AT.sub("", str(warning.get("message", "")))
    return (
        str(warning.get("category", "")),
        " ".join(message.split()),
        warning_module(str(warning.get("module", ""))),
    )


def _warning_order(key: tuple[str, str, str]) -> tuple[bool, tuple[str, str, str]]:
    return (key[0] not in DEPRECATIONS, key)


def warning_differences(
    pairs: Iterable[tuple[str, dict[str, Any], dict[str, Any]]],
) -> list[Difference]:
    """Warnings raised in one report and not the other, one line per distinct warning
    (category, message, module) naming the facts that raised it; deprecations first.

    `pairs` holds (fact id, old row, new row) of facts that ran on both sides and record
    their warnings on both. A warning counts as new when none of those facts raised it in
    the old report, wherever it was raised in the new one: PyTorch warns many things once
    per process (TORCH_WARN_ONCE), so which fact meets it depends on how the facts were
    shared among the xdist workers."""
    raised_before: dict[tuple[str, str, str], list[str]] = {}
    raised_after: dict[tuple[str, str, str], list[str]] = {}
    for fact_id, was, now in pairs:
        for row, table in ((was, raised_before), (now, raised_after)):
            for key in {_warning_key(w) for w in row["warnings"] if isinstance(w, dict)}:
                table.setdefault(key, []).append(fact_id)
    appeared = {k: v for k, v in raised_after.items() if k not in raised_before}
    gone = {k: v for k, v in raised_before.items() if k not in raised_after}
    found = []
    for kind, table in ((WARNING_NEW, appeared), (WARNING_GONE, gone)):
        for key in sorted(table, key=_warning_order):
            category, message, module = key
            facts = sorted(table[key])
            named = ", ".join(facts[:3]) + (f" and {len(facts) - 3} more" if len(facts) > 3 else "")
            subject = f"{category}: {short(message, 200)}" + (f" ({module})" if module else "")
            found.append(Difference(kind, subject, "", "", note=f"in {named}", facts=tuple(facts)))
    return found


def environment_differences(old: dict[str, Any], new: dict[str, Any]) -> list[Difference]:
    """The machine and package fields that differ (fields absent from a report are not
    compared: schema-1 reports record fewer)."""
    found = []
    for name in ENVIRONMENT_FIELDS:
        if name in old and name in new and old[name] != new[name]:
            found.append(Difference(ENVIRONMENT, name, short(old[name]), short(new[name])))
    if isinstance(old.get("packages"), dict) and isinstance(new.get("packages"), dict):
        for name in sorted(old["packages"].keys() | new["packages"].keys()):
            was, now = old["packages"].get(name), new["packages"].get(name)
            if was != now and name != "torchvision":
                found.append(
                    Difference(ENVIRONMENT, name, str(was or "absent"), str(now or "absent"))
                )
    return found


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[Difference]:
    """Every difference between two reports, in the order of KINDS, then by subject."""
    before, after = facts_by_id(old), facts_by_id(new)
    found: list[Difference] = []
    ran_on_both = []
    for fact_id in sorted(before.keys() | after.keys()):
        was, now = before.get(fact_id), after.get(fact_id)
        outcome = _outcome_difference(fact_id, was, now)
        if outcome is not None:
            found.append(outcome)
        if was is None or now is None:
            continue
        if (
            was["outcome"] in RAN
            and now["outcome"] in RAN
            and "warnings" in was
            and "warnings" in now
        ):
            ran_on_both.append((fact_id, was, now))
        if outcome is not None or was["outcome"] not in (PASSED, KNOWN_BUG):
            continue
        source = str(now.get("source") or "")
        side_before, side_after = release_side(was, old), release_side(now, new)
        changed = changed_observations(was, now)
        if side_before is not None and side_after is not None and side_before != side_after:
            note = f"boundary torch {now.get('since') or was.get('since')}"
            if changed:
                shown_before, shown_after, _ = _joined(changed)
                note += f"; also observed {shown_before} -> {shown_after}"
            found.append(
                Difference(DOCUMENTED, fact_id, side_before, side_after, source, note, (fact_id,))
            )
        elif changed:
            shown_before, shown_after, tolerances = _joined(changed)
            found.append(
                Difference(
                    UNDOCUMENTED, fact_id, shown_before, shown_after, source, tolerances, (fact_id,)
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
    """'3 documented changes, 0 regressions, 2 warnings new': the regressions always, the
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


def render_diff(old: dict[str, Any], new: dict[str, Any], found: Sequence[Difference]) -> str:
    """The plain-text answer of `rnnspec diff`: a counts line, then each class's lines."""
    lines = [
        f"rnnspec diff: torch {old.get('torch', '?')} (old) -> torch {new.get('torch', '?')} "
        f"(new): {counts_line(found)}"
    ]
    for kind in KINDS:
        of = of_kind(found, kind)
        if of:
            lines.append(f"{PLURAL[kind]}: {len(of)}")
            lines += [f"  {d.line()}" for d in of]
    return "\n".join(lines)
