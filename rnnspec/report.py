"""The fact report: every spec test as a row, written as Markdown, JSON and a PNG.

A spec is a test under `specs/` with a `@pytest.mark.fact(source, erratum=...,
since=...)` mark; its docstring's first paragraph is the claim. Collection
fails for a spec without a source or a claim, so no fact goes uncited.

The rows are gathered from the test reports (on the xdist controller, when
tests run in workers), so the report sees exactly what pytest saw: a skip
stays a skip, with its reason. A run in which facts were collected but none
executed exits non-zero.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

FACT_KEY = "fact"
CURVE_KEY = "training_curve"
SPECS_DIR = "specs"
OUTCOME_ORDER = {"passed": 0, "skipped": 1, "failed": 2}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("rnnspec").addoption(
        "--report-dir", default=None, help="write the fact report (report.md, report.json, PNG)"
    )


def claim_of(item: pytest.Item) -> str:
    doc = inspect.getdoc(getattr(item, "obj", None)) or ""
    return " ".join(doc.split("\n\n")[0].split())


class SpecWithoutFactError(pytest.UsageError):
    """A test under specs/ without a fact mark (with a source) or without a docstring claim."""


def is_spec(item: pytest.Item) -> bool:
    """Whether `item` is in a `specs/` folder below the rootdir (folders above it don't count)."""
    path = Path(str(item.path))
    try:
        parts = path.relative_to(item.config.rootpath).parts
    except ValueError:  # outside the rootdir
        parts = path.parts
    return SPECS_DIR in parts[:-1]


def fact_problem(item: pytest.Item) -> str | None:
    """Why a spec item is not a citable fact (no fact mark, no source, no claim); None if it is."""
    mark = item.get_closest_marker("fact")
    if mark is None:
        lacks = "@pytest.mark.fact(source, ...)"
    elif not (mark.args or mark.kwargs.get("source")):
        lacks = "a source in @pytest.mark.fact(source, ...)"
    elif not claim_of(item):
        lacks = "a docstring claim"
    else:
        return None
    return (
        f"{item.nodeid}: every spec needs @pytest.mark.fact(source, ...) and a docstring "
        f"claim; this one lacks {lacks}"
    )


def fact_metadata(item: pytest.Item) -> dict[str, Any] | None:
    """The source, claim, erratum and release boundary of a spec item; None outside specs/."""
    if not is_spec(item):
        return None
    problem = fact_problem(item)
    if problem is not None:
        raise SpecWithoutFactError(problem)
    mark = item.get_closest_marker("fact")
    return {
        "source": mark.kwargs.get("source", mark.args[0] if mark.args else None),
        "claim": claim_of(item),
        "erratum": mark.kwargs.get("erratum"),
        "since": mark.kwargs.get("since"),
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
            report.outcome = "failed"
            report.longrepr = "\n".join(problems)
            report.result = []
    return report


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        meta = fact_metadata(item)  # raises for a spec item no collector checked
        if meta is not None:
            item.user_properties.append((FACT_KEY, meta))


@dataclass
class FactRow:
    id: str
    source: str
    claim: str
    erratum: str | None
    since: str | None
    outcome: str = "passed"
    observed: str | None = None
    duration_s: float = 0.0


@dataclass
class Collected:
    rows: dict[str, FactRow] = field(default_factory=dict)
    curves: list[dict[str, Any]] = field(default_factory=list)
    other: dict[str, int] = field(default_factory=dict)  # outcomes of non-spec tests


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    return text.strip()[:2000]


class FactCollector:
    """Turns test reports into fact rows and writes the report at the end of the session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.data = Collected()
        self.started = dt.datetime.now(dt.UTC)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        for key, value in report.user_properties:
            if key == CURVE_KEY and report.when == "call":
                self.data.curves.append(value)
        meta = props.get(FACT_KEY)
        if meta is None:
            if report.when == "call" or (report.when == "setup" and not report.passed):
                self.data.other[report.outcome] = self.data.other.get(report.outcome, 0) + 1
            return
        row = self.data.rows.setdefault(report.nodeid, FactRow(report.nodeid, **meta))
        row.duration_s += report.duration
        outcome = "failed" if report.failed else report.outcome
        if report.when == "call" and hasattr(report, "wasxfail"):
            outcome = "failed" if report.passed else "passed"  # strict xfail semantics
        if OUTCOME_ORDER[outcome] > OUTCOME_ORDER[row.outcome] or (
            outcome == "skipped" and row.outcome == "passed"
        ):
            row.outcome = outcome
            row.observed = _message(report) if outcome != "passed" else None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        rows = list(self.data.rows.values())
        executed = [r for r in rows if r.outcome != "skipped"]
        if rows and not executed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
        report_dir = self.config.getoption("--report-dir")
        if report_dir:
            write_report(Path(report_dir), self.data, self.started, int(session.exitstatus))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        rows = list(self.data.rows.values())
        if rows and not any(r.outcome != "skipped" for r in rows):
            terminalreporter.write_line(
                "rnnspec: facts were collected but none was executed: exit status 5", red=True
            )
        report_dir = self.config.getoption("--report-dir")
        if report_dir:
            terminalreporter.write_line(f"rnnspec: fact report written to {report_dir}/report.md")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        config.pluginmanager.register(FactCollector(config), "rnnspec-facts")


def environment() -> dict[str, Any]:
    """Versions and the machine: what a report must say to be compared with another."""
    import torch
    import torchvision

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cuda = torch.cuda.is_available()
    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name() if cuda else None,
        "device": torch.cuda.get_device_name() if cuda else f"cpu ({cpu})",
    }


def write_report(folder: Path, data: Collected, started: dt.datetime, exitstatus: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    finished = dt.datetime.now(dt.UTC)
    rows = sorted(data.rows.values(), key=lambda r: r.id)
    summary = {k: sum(r.outcome == k for r in rows) for k in ("passed", "failed", "skipped")}
    payload = {
        "schema": 1,
        **environment(),
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 1),
        "exitstatus": exitstatus,
        "summary": summary,
        "other_tests": data.other,
        "facts": [asdict(r) for r in rows],
        "errata": [
            {"id": r.id, "source": r.source, "erratum": r.erratum, "outcome": r.outcome}
            for r in rows
            if r.erratum
        ],
        "training": [{k: v for k, v in c.items() if k != "step_losses"} for c in data.curves],
    }
    (folder / "report.json").write_text(json.dumps(payload, indent=1) + "\n")
    curves_png = folder / "training_curves.png"
    if data.curves:
        plot_curves(data.curves, curves_png)
    (folder / "report.md").write_text(render_markdown(payload, curves_png if data.curves else None))


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def verdict(summary: dict[str, int], exitstatus: int) -> str:
    """The report's headline: "FAILED" when a fact failed, never a bare "passed" when no fact ran
    or pytest exited non-zero (it then says which status)."""
    total = sum(summary.values())
    if summary["failed"]:
        return "FAILED"
    if total == 0:
        return f"NO FACTS RUN (pytest exit status {exitstatus})"
    if summary["passed"] == 0:
        return f"NOT RUN: all {total} facts skipped"
    words = "passed" if not summary["skipped"] else f"passed, {summary['skipped']} skipped"
    if exitstatus != 0:
        words += f", but pytest exited with status {exitstatus}"
    return words


def render_markdown(payload: dict[str, Any], curves_png: Path | None) -> str:
    s = payload["summary"]
    verdict_text = verdict(s, payload["exitstatus"])
    lines = [
        f"# rnnspec report: torch {payload['torch']} — {verdict_text}",
        "",
        f"- torch {payload['torch']}, torchvision {payload['torchvision']}, "
        f"Python {payload['python']}",
        f"- device: {payload['device']}; CPU capability {payload['cpu_capability']}, "
        f"{payload['threads']} threads",
        f"- run: {payload['started']} to {payload['finished']} ({payload['duration_s']} s)",
        f"- facts: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped",
        "",
    ]
    failed = [f for f in payload["facts"] if f["outcome"] == "failed"]
    if failed:
        lines += ["## Failed facts", ""]
        lines += [
            f"- `{f['id']}` ({f['source']}): {f['claim']}\n  - observed: {_cell(f['observed'])}"
            for f in failed
        ]
        lines.append("")
    lines += [
        "## Facts",
        "",
        "| id | source | claim | result | observed |",
        "|---|---|---|---|---|",
    ]
    for f in payload["facts"]:
        lines.append(
            f"| `{f['id']}` | {_cell(f['source'])} | {_cell(f['claim'])} | {f['outcome']} "
            f"| {_cell(f['observed'])} |"
        )
    lines += [
        "",
        "## Errata",
        "",
        "Where a seed document is wrong, the spec asserts the truth; the mistake is listed here.",
        "",
        "| id | source | erratum | result |",
        "|---|---|---|---|",
    ]
    for e in payload["errata"]:
        lines.append(f"| `{e['id']}` | {e['source']} | {_cell(e['erratum'])} | {e['outcome']} |")
    if payload["training"]:
        lines += [
            "",
            "## Training runs",
            "",
            "| run | seed | device | seconds | test accuracy per evaluation |",
            "|---|---|---|---|---|",
        ]
        for t in payload["training"]:
            evals = ", ".join(f"{e['iteration']}: {e['accuracy']:.2f}%" for e in t["evaluations"])
            lines.append(
                f"| {t['recipe']} | {t['seed']} | {t['device']} | {t['seconds']:.1f} | {evals} |"
            )
        if curves_png is not None:
            lines += ["", f"![training curves]({curves_png.name})"]
    return "\n".join(lines) + "\n"


def plot_curves(curves: list[dict[str, Any]], path: Path) -> None:
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
