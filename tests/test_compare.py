"""`rnnspec diff` and `rnnspec compare` on report.json files built in tmp_path.

Each report is a minimal report.json with the fields the comparison reads (torch,
exitstatus, summary, facts); the facts' outcomes are chosen so that every kind
of change (started/stopped failing, appeared, disappeared, skip changed) occurs
and the expected lists can be written down by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rnnspec import cli
from rnnspec.compare import (
    APPEARED,
    DISAPPEARED,
    SKIP_CHANGED,
    STARTED_FAILING,
    STOPPED_FAILING,
    Change,
    changes,
    load_report,
    releases_from_reports,
    render_comparison,
    write_comparison,
)

Outcomes = dict[str, str]  # fact id -> passed / failed / skipped


def make_report(
    folder: Path, torch: str, outcomes: Outcomes, benchmarks: list[dict] | None = None
) -> Path:
    """Write folder/report.json with one fact row per outcome; failures observe 'boom <id>'."""
    facts = [
        {
            "id": fact_id,
            "source": "003_cfbfe3c3d6751891.txt",
            "claim": f"claim of {fact_id}",
            "erratum": None,
            "since": None,
            "outcome": outcome,
            "observed": f"boom {fact_id}" if outcome == "failed" else None,
            "duration_s": 0.01,
        }
        for fact_id, outcome in outcomes.items()
    ]
    summary = {k: sum(o == k for o in outcomes.values()) for k in ("passed", "failed", "skipped")}
    payload = {
        "schema": 1,
        "torch": torch,
        "torchvision": "0.0.0",
        "python": "3.11.7",
        "device": "cpu (test)",
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:00:10+00:00",
        "duration_s": 10.0,
        "exitstatus": 1 if summary["failed"] else 0,
        "summary": summary,
        "facts": facts,
        "errata": [],
        "training": [],
    }
    if benchmarks is not None:
        payload["benchmarks"] = benchmarks
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.json"
    path.write_text(json.dumps(payload))
    return path


def run_cli(*argv: str) -> int:
    return cli.main(list(argv))


# --- rnnspec diff --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "kind", "regression"),
    [
        pytest.param("passed", "failed", STARTED_FAILING, True, id="passed-to-failed-regresses"),
        pytest.param("passed", None, DISAPPEARED, True, id="passed-to-missing-regresses"),
        pytest.param("skipped", "failed", STARTED_FAILING, False, id="skipped-to-failed"),
        pytest.param("failed", "passed", STOPPED_FAILING, False, id="failed-to-passed"),
        pytest.param("failed", "skipped", STOPPED_FAILING, False, id="failed-to-skipped"),
        pytest.param("failed", None, DISAPPEARED, False, id="failed-to-missing"),
        pytest.param(None, "failed", APPEARED, False, id="new-fact-failing"),
        pytest.param("passed", "skipped", SKIP_CHANGED, False, id="passed-to-skipped"),
        pytest.param("skipped", "passed", SKIP_CHANGED, False, id="skipped-to-passed"),
    ],
)
def test_change_kind_and_regression(
    old: str | None, new: str | None, kind: str, regression: bool
) -> None:
    change = Change("specs/test_x.py::test_x", old, new)
    assert (change.kind, change.regression) == (kind, regression)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param({"a": "passed"}, {"a": "failed"}, 1, id="passed-to-failed"),
        pytest.param({"a": "passed", "b": "passed"}, {"b": "passed"}, 1, id="passed-to-missing"),
        pytest.param({"a": "passed"}, {"a": "passed"}, 0, id="unchanged"),
        pytest.param(
            {"a": "failed", "b": "skipped", "c": "passed"},
            {"a": "passed", "b": "failed", "c": "skipped", "d": "failed"},
            0,
            id="fixes-new-failures-and-skips-only",
        ),
    ],
)
def test_diff_exit_status(tmp_path: Path, old: Outcomes, new: Outcomes, expected: int) -> None:
    """1 exactly when a fact that passed in the old report fails or is missing in the new one."""
    old_path = make_report(tmp_path / "old", "2.6.0", old)
    new_path = make_report(tmp_path / "new", "2.11.0", new)
    assert run_cli("diff", str(old_path), str(new_path)) == expected


def test_diff_lists_each_change_under_its_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = make_report(
        tmp_path / "old",
        "2.6.0",
        {
            "kept": "passed",
            "broke": "passed",
            "fixed": "failed",
            "gone": "passed",
            "skip": "passed",
        },
    )
    new = make_report(
        tmp_path / "new",
        "2.11.0",
        {
            "kept": "passed",
            "broke": "failed",
            "fixed": "passed",
            "new": "passed",
            "skip": "skipped",
        },
    )
    assert run_cli("diff", str(old.parent), str(new.parent)) == 1  # a folder names its report
    out = capsys.readouterr().out
    assert "torch 2.6.0 (old) -> torch 2.11.0 (new): 5 facts changed" in out
    listed = dict(re.findall(r"^  (\S+)  (.*)$", out, flags=re.MULTILINE))
    assert listed == {
        "broke": "passed -> failed  [regression]",
        "fixed": "failed -> passed",
        "new": "absent -> passed",
        "gone": "passed -> absent  [regression]",
        "skip": "passed -> skipped",
    }
    assert "observed: boom broke" in out
    assert "regressions (passed -> failed or missing): 2" in out


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(None, id="missing-file"),
        pytest.param("{not json", id="not-json"),
        pytest.param('{"torch": "2.6.0"}', id="no-facts"),
        pytest.param('{"facts": [{"claim": "no id"}]}', id="fact-without-id"),
    ],
)
def test_diff_exits_2_on_unreadable_report(
    tmp_path: Path, content: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    good = make_report(tmp_path / "good", "2.6.0", {"a": "passed"})
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert run_cli("diff", str(bad), str(good)) == 2
    assert run_cli("diff", str(good), str(bad)) == 2
    assert "bad.json" in capsys.readouterr().err


# --- the comparison page -------------------------------------------------------------------

RELEASES: dict[str, Outcomes] = {  # given out of order: 2.10.0 must sort after 2.9.0
    "2.10.0": {"a": "failed", "b": "passed", "c": "skipped", "d": "passed", "e": "failed"},
    "2.5.1": {"a": "passed", "b": "passed", "c": "passed", "e": "failed"},
    "2.9.0": {"a": "passed", "b": "failed", "c": "passed", "d": "passed", "e": "failed"},
}
EXPECTED_CHANGES = {  # per adjacent pair: the changed facts and their transitions
    "2.5.1 -> 2.9.0": {"b": "passed -> failed", "d": "absent -> passed"},
    "2.9.0 -> 2.10.0": {"a": "passed -> failed", "b": "failed -> passed", "c": "passed -> skipped"},
}


@pytest.fixture
def reports(tmp_path: Path) -> list[Path]:
    return [make_report(tmp_path / f"torch-{v}", v, o) for v, o in RELEASES.items()]


def pair_sections(page: str) -> dict[str, dict[str, str]]:
    """For each '### OLD -> NEW' section of the page, the listed fact ids and transitions."""
    sections = re.split(r"^### ", page, flags=re.MULTILINE)[1:]
    found = {}
    for section in sections:
        title, _, body = section.partition("\n")
        body = body.split("\n## ")[0]  # stop at the next top-level section
        found[title] = dict(re.findall(r"^- `([^`]+)`: (\S+ -> \S+)", body, flags=re.MULTILINE))
    return found


def test_page_lists_exactly_the_changed_facts_per_adjacent_pair(reports: list[Path]) -> None:
    releases = releases_from_reports(reports)
    assert [r.label for r in releases] == ["2.5.1", "2.9.0", "2.10.0"]
    page = render_comparison(releases)
    assert pair_sections(page) == EXPECTED_CHANGES


def test_changes_match_the_page(reports: list[Path]) -> None:
    old, new = load_report(reports[2]), load_report(reports[0])  # 2.9.0 -> 2.10.0
    assert {c.id: c.transition() for c in changes(old, new)} == EXPECTED_CHANGES["2.9.0 -> 2.10.0"]


def test_page_table_shows_outcomes_and_observed_failures(reports: list[Path]) -> None:
    page = render_comparison(releases_from_reports(reports))
    rows = {m[0]: m[1] for m in re.findall(r"^\| `(\w)` \| (.*) \|$", page, flags=re.MULTILINE)}
    assert rows["a"] == "pass | pass | **fail**: boom a"
    assert rows["d"] == "— | pass | pass"
    assert rows["c"] == "pass | pass | skip"
    failing = page.split("## Facts that fail on some release")[1].split("\n## ")[0]
    assert re.findall(r"^- `(\w)`", failing, flags=re.MULTILINE) == ["a", "b", "e"]
    assert "  - passes on: none" in failing  # e fails everywhere
    assert "## Benchmarks" not in page


def test_benchmarks_section_when_reports_carry_benchmarks(tmp_path: Path) -> None:
    old = make_report(
        tmp_path / "a", "2.6.0", {"a": "passed"}, [{"name": "lstm", "median_s": 0.002}]
    )
    new = make_report(
        tmp_path / "b",
        "2.11.0",
        {"a": "passed"},
        [{"name": "lstm", "median_s": 0.003}, {"name": "gru", "median_s": 0.01}],
    )
    page = render_comparison(releases_from_reports([new, old]))
    bench = page.split("## Benchmarks")[1]
    assert "| benchmark | 2.6.0 | 2.11.0 | newest / oldest |" in bench
    assert "| `gru` | — | 10 ms |  |" in bench
    assert "| `lstm` | 2 ms | 3 ms | 1.50x |" in bench


def test_compare_command_writes_page_and_heatmap(reports: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "page"
    assert run_cli("compare", *map(str, reports), "--out", str(out)) == 0
    assert pair_sections((out / "comparison.md").read_text()) == EXPECTED_CHANGES
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_page_without_reports_says_so(tmp_path: Path) -> None:
    from rnnspec.compare import Release

    page = write_comparison([Release("2.5.1", "not installed", error="no wheel")], tmp_path)
    text = page.read_text()
    assert "| 2.5.1 | not installed |" in text
    assert "no wheel" in text
    assert "No release produced a report with facts." in text
