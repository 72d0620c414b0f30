"""The fact report: the plugin's facts written as report.json, report.md and a PNG.

The facts (rnnspec.schema.Fact) come from `rnnspec.plugin`, one per fact, with what
pytest saw: a skip stays a skip with its reason, a fact that could not run because of
the machine is an error of the environment with its fix, a known upstream bug that held
is a known bug, a fact that killed its process crashed, one stopped at its time limit
timed out, one the run never reached not run (rnnspec.schema's outcomes). The verdict
is rnnspec.schema.verdict's. The files are written whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from rnnspec.schema import (
    CRASHED,
    ERROR,
    FAILED,
    FAILING,
    KNOWN_BUG,
    NOT_RUN,
    OUTCOMES,
    PASSED,
    REPORT_FILE,
    SCHEMA,
    SKIPPED,
    TIMED_OUT,
    Fact,
    HeldBug,
    Report,
    verdict,
)
from rnnspec.tool.markdown import cell, table


def known_bugs(facts: Sequence[Fact]) -> list[HeldBug]:
    """The known bugs that hold for the installed release, each with the facts that name it."""
    bugs: dict[str, HeldBug] = {}
    for fact in facts:
        bug = fact.bug
        if bug is None or not bug.holds:
            continue
        # Two records may cite one issue (one cause, two symptoms): keep them apart.
        entry = bugs.setdefault(
            f"{bug.issue} {bug.summary}",
            HeldBug(**msgspec.structs.asdict(bug), facts=[]),
        )
        entry.facts.append({"id": fact.id, "outcome": fact.outcome})
    return sorted(bugs.values(), key=lambda b: (b.issue, b.summary))


def build_report(
    facts: Sequence[Fact],
    *,
    curves: Sequence[dict[str, Any]],
    other_tests: dict[str, int],
    started: dt.datetime,
    exitstatus: int,
    machine: dict[str, Any] | None = None,
) -> Report:
    """report.json's content: the machine (`machine`, as a worker described it; else this
    process describes it), the verdict, the facts."""
    from rnnspec.machine import describe

    finished = dt.datetime.now(dt.UTC)
    summary = {outcome: sum(f.outcome == outcome for f in facts) for outcome in OUTCOMES}
    report = msgspec.convert(
        {
            **(machine if machine is not None else describe()),
            "facts": [],
            "schema": SCHEMA,
            "started": started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "duration_s": round((finished - started).total_seconds(), 1),
            "exitstatus": exitstatus,
            "verdict": verdict(summary),
            "summary": summary,
            "other_tests": other_tests,
            "errata": [
                {"id": f.id, "source": f.source, "erratum": f.erratum, "outcome": f.outcome}
                for f in facts
                if f.erratum
            ],
            "training": [{k: v for k, v in c.items() if k != "step_losses"} for c in curves],
        },
        Report,
    )
    return msgspec.structs.replace(report, facts=list(facts), known_bugs=known_bugs(facts))


def write_report(
    folder: Path,
    *,
    facts: Sequence[Fact],
    curves: Sequence[dict[str, Any]],
    other_tests: dict[str, int],
    started: dt.datetime,
    exitstatus: int,
    machine: dict[str, Any] | None = None,
) -> None:
    """Write report.json, report.md and (when a model was trained) training_curves.png."""
    folder.mkdir(parents=True, exist_ok=True)
    report = build_report(
        facts,
        curves=curves,
        other_tests=other_tests,
        started=started,
        exitstatus=exitstatus,
        machine=machine,
    )
    curves_png = folder / "training_curves.png"
    curves_png.unlink(missing_ok=True)
    if curves:
        plot_curves(curves, curves_png)
    write_whole(folder / "report.md", render_markdown(report, curves_png if curves else None))
    write_whole(folder / REPORT_FILE, report.to_json().decode())


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader sees the old file or the new one, never half."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def result_of(fact: Fact) -> str:
    """The result column: the outcome, or which known bug held."""
    if fact.outcome == KNOWN_BUG and fact.bug is not None:
        return f"known bug {fact.bug.number}"
    return fact.outcome


def build_of(report: Report) -> str:
    """The torch build in words: its commit and the CUDA or ROCm it targets."""
    build = report.torch_build  # empty in reports before the field
    target = (
        f"CUDA {build.cuda}" if build.cuda else f"ROCm {build.hip}" if build.hip else "CPU only"
    )
    return f"commit {build.git_version or 'not recorded'}, built for {target}"


def render_markdown(report: Report, curves_png: Path | None) -> str:
    """report.md: the run in a few lines, then the known bugs, the errors of the environment,
    the failed and not-run facts, the errata, every fact and the training runs."""
    s = report.summary
    torch = report.torch
    packages = ", ".join(
        f"{name} {version or 'not installed'}" for name, version in report.packages.items()
    )
    lines = [
        f"# rnnspec report: torch {torch} — {report.verdict}",
        "",
        f"- torch {torch}, torchvision {report.torchvision}, Python {report.python}",
        f"- torch build: {build_of(report)}",
        f"- packages: {packages}",
        f"- device: {report.device}; CPU capability {report.cpu_capability}, "
        f"{report.threads} threads",
        f"- run: {report.started} to {report.finished} ({report.duration_s} s), "
        f"pytest exit status {report.exitstatus}",
        f"- facts: {s[PASSED]} passed, {s[FAILED]} failed, {s[CRASHED]} crashed, "
        f"{s[TIMED_OUT]} timed out, {s[KNOWN_BUG]} known bugs, {s[ERROR]} errors of the "
        f"environment, {s[SKIPPED]} skipped, {s[NOT_RUN]} not run",
    ]
    other = report.other_tests
    if other:
        lines.append(
            "- other tests (tests/): " + ", ".join(f"{n} {k}" for k, n in sorted(other.items()))
        )
    if report.known_bugs:
        lines += [
            "",
            f"## Known bugs that hold for torch {torch}",
            "",
            "Each fact states PyTorch's promise; these releases break it as the upstream thread "
            "(an issue, or a pull request where no issue reports it) says.",
            "",
        ]
        lines += table(
            ("thread", "summary", "affected releases", "upstream", "fact", "result"),
            [
                (
                    f"[{b.number}]({b.issue})",
                    b.summary,
                    f"{b.package} {b.affects}",
                    b.upstream,
                    ", ".join(f"`{f['id']}`" for f in b.facts),
                    ", ".join(sorted({f["outcome"] for f in b.facts})),
                )
                for b in report.known_bugs
            ],
        )
    errors = [f for f in report.facts if f.outcome == ERROR]
    if errors:
        lines += [
            "",
            "## Errors of the environment",
            "",
            "These facts could not run on this machine; they say nothing about PyTorch.",
            "",
        ]
        lines += table(
            ("id", "problem", "fix"),
            [(f"`{f.id}`", f.observed, f.fix) for f in errors],
            limit=600,
        )
    failed = [f for f in report.facts if f.outcome in FAILING]
    if failed:
        lines += [
            "",
            "## Failed facts",
            "",
            "Crashed: the fact killed its process. Timed out: it ran past its time limit.",
            "",
        ]
        lines += table(
            ("id", "outcome", "source", "claim", "observed"),
            [(f"`{f.id}`", f.outcome, f.source, f.claim, f.observed) for f in failed],
            limit=600,
        )
    not_run = [f for f in report.facts if f.outcome == NOT_RUN]
    if not_run:
        lines += ["", f"## Not run ({len(not_run)} facts)", ""]
        lines += table(("id", "why"), [(f"`{f.id}`", f.observed) for f in not_run])
    lines += [
        "",
        "## Errata",
        "",
        "Where a seed document is wrong, the spec asserts the truth; the mistake is listed here.",
        "",
    ]
    lines += table(
        ("id", "source", "erratum", "result"),
        [(f"`{e['id']}`", e["source"], e["erratum"], e["outcome"]) for e in report.errata],
    )
    lines += ["", "## Facts", ""]
    lines += table(
        ("id", "source", "claim", "result", "observed"),
        [(f"`{f.id}`", f.source, f.claim, result_of(f), f.observed) for f in report.facts],
        limit=600,
    )
    if report.training:
        lines += ["", "## Training runs", ""]
        lines += table(
            ("run", "seed", "device", "seconds", "test accuracy per evaluation"),
            [
                (
                    t["recipe"],
                    t["seed"],
                    t["device"],
                    f"{t['seconds']:.1f}",
                    ", ".join(f"{e['iteration']}: {e['accuracy']:.2f}%" for e in t["evaluations"]),
                )
                for t in report.training
            ],
            align="llrrl",
        )
        if curves_png is not None:
            lines += ["", f"![training curves]({cell(curves_png.name)})"]
    return "\n".join(lines) + "\n"


def plot_curves(curves: Sequence[dict[str, Any]], path: Path) -> None:
    """Training loss (mean of every 50 steps) and test accuracy per evaluation, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for curve in sorted(curves, key=lambda c: (c["recipe"], c["seed"])):
        label = f"{curve['recipe']}, seed {curve['seed']}"
        losses = curve["step_losses"]
        window = 50
        xs = [min(i + window, len(losses)) for i in range(0, len(losses), window)]
        ys = [
            sum(losses[i : i + window]) / len(losses[i : i + window])
            for i in range(0, len(losses), window)
        ]
        ax_loss.plot(xs, ys, label=label)
        evals = curve["evaluations"]
        ax_acc.plot(
            [e["iteration"] for e in evals], [e["accuracy"] for e in evals], "o-", label=label
        )
    ax_loss.set(
        xlabel="iteration",
        ylabel="training loss (mean of 50 steps)",
        yscale="log",
        title="MNIST training loss",
    )
    ax_acc.set(
        xlabel="iteration", ylabel="test accuracy (%)", title="MNIST test accuracy", ylim=(0, 100)
    )
    ax_acc.axhline(95, color="grey", linestyle="--", linewidth=1, label="95% bar (seed 004)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
