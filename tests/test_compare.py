"""`rnnspec diff` and `rnnspec compare` on report.json files built by hand in tmp_path.

Each report holds only the fields the comparison reads; each test changes one thing
between an old and a new report, so the class it must land in can be written down.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from rnnspec.schema import Report
from rnnspec.tool import compare, diff
from rnnspec.tool.compare import (
    DOC,
    FIRST,
    NO_REPORT,
    NONE,
    REGRESSIONS,
    UNDOC,
    WARNINGS,
    Release,
    releases_from_reports,
    render_comparison,
    topic_grid,
    write_comparison,
)
from rnnspec.tool.diff import (
    DOCUMENTED,
    ENV_ERROR,
    ENVIRONMENT,
    FIXED,
    NEW_FACT,
    OTHER,
    REGRESSION,
    REMOVED_FACT,
    SKIP_CHANGE,
    UNDOCUMENTED,
    WARNING_GONE,
    WARNING_NEW,
    differences,
    load_report,
    observation_differs,
)

SOURCE = "https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html"
BUG = {
    "issue": "https://github.com/pytorch/pytorch/issues/98499",
    "summary": "unpad_sequence transposes the padded tensor in place",
    "affects": ">=2.0",
    "package": "torch",
    "fixed_by": None,
    "holds": True,
}
Outcomes = dict[str, str]  # fact id -> outcome


def fact(
    fact_id: str = "specs/pytorch/test_errors.py::test_a", outcome: str = "passed", **row: Any
):
    """One schema-2 fact row; `row` overrides or adds fields (observations, warnings, ...)."""
    return {
        "id": fact_id,
        "topic": fact_id.split("::")[0],
        "source": SOURCE,
        "quote": None,
        "claim": f"claim of {fact_id}",
        "erratum": None,
        "since": None,
        "bug": None,
        "outcome": outcome,
        "observed": f"boom {fact_id}" if outcome == "failed" else None,
        "fix": None,
        "observations": {},
        "warnings": [],
        "duration_s": 0.01,
        **row,
    }


def report(torch: str, facts: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A schema-2 report of `facts` (top-level fields overridable)."""
    outcomes = [f["outcome"] for f in facts]
    summary = {k: outcomes.count(k) for k in ("passed", "failed", "skipped", "error", "known_bug")}
    return {
        "schema": 2,
        "torch": torch,
        "torchvision": "0.0.0",
        "packages": {"numpy": "2.1.0", "onnx": None, "pytest": "9.1.1"},
        "python": "3.11.7",
        "platform": "Linux",
        "cpu": "AMD EPYC",
        "cpu_capability": "AVX2",
        "threads": 2,
        "device": "cpu (AMD EPYC)",
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:00:10+00:00",
        "duration_s": 10.0,
        "exitstatus": int(bool(summary["failed"])),
        "verdict": "failed" if summary["failed"] else "passed",
        "summary": summary,
        "facts": facts,
        "errata": [],
        "known_bugs": [],
        "training": [],
        **top,
    }


def typed(torch: str, facts: list[dict[str, Any]], **top: Any) -> Report:
    """The same report, read as `rnnspec diff` reads it."""
    return Report.from_data(report(torch, facts, **top))


def write(folder: Path, payload: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.json"
    path.write_text(json.dumps(payload))
    return path


def make_report(
    folder: Path, torch: str, outcomes: Outcomes, benchmarks: list[dict] | None = None
) -> Path:
    """Write folder/report.json with one fact per outcome (failures observe 'boom <id>')."""
    extra = {"benchmarks": benchmarks} if benchmarks is not None else {}
    facts = [fact(fact_id, outcome) for fact_id, outcome in outcomes.items()]
    return write(folder, report(torch, facts, **extra))


def run(*argv: str) -> int:
    """`rnnspec diff|compare ARGS` through the parsers `compare.register` adds."""
    parser = argparse.ArgumentParser(prog="rnnspec")
    sub = parser.add_subparsers(dest="command", required=True)
    diff.register(sub)
    compare.register(sub)
    args, extra = parser.parse_known_args(list(argv))
    return args.func(args, extra)


def kinds(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """The classes of the differences between reports of 2.10.0 and 2.11.0 holding these."""
    return [d.kind for d in differences(typed("2.10.0", old), typed("2.11.0", new))]


def observed(name: str, value: Any, tolerance: float | None = None) -> dict[str, Any]:
    return {"observations": {name: {"value": value, "tolerance": tolerance}}}


SIDE_BEFORE = observed("release_side", "before 2.11")
SIDE_FROM = observed("release_side", "from 2.11")
FIXED_IN = "fixed in torch 2.11.0: pytorch/pytorch#98499 no longer reproduces"
DEPRECATION = {"category": "FutureWarning", "message": "deprecated", "module": "torch.jit"}
USER_WARNING = {"category": "UserWarning", "message": "non-contiguous", "module": "torch.nn"}

# --- classes of difference ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param([fact()], [fact()], [], id="unchanged"),
        pytest.param([fact()], [fact(outcome="failed")], [REGRESSION], id="passed-to-failed"),
        pytest.param([fact()], [], [REGRESSION], id="passed-to-absent"),
        pytest.param(
            [fact(outcome="known_bug", bug=BUG)],
            [fact(outcome="failed", bug=BUG)],
            [REGRESSION],
            id="known-bug-now-fails-otherwise",
        ),
        pytest.param(
            [fact(outcome="known_bug", bug=BUG)], [], [REGRESSION], id="known-bug-to-absent"
        ),
        pytest.param(
            [fact()], [fact(outcome="known_bug", bug=BUG)], [REGRESSION], id="bug-shipped"
        ),
        pytest.param([fact(outcome="failed")], [fact()], [FIXED], id="failed-to-passed"),
        pytest.param(
            [fact(outcome="known_bug", bug=BUG)], [fact(bug=BUG)], [FIXED], id="known-bug-fixed"
        ),
        pytest.param(
            [fact(outcome="known_bug", bug=BUG)],
            [fact(outcome="failed", bug=BUG, observed=FIXED_IN)],
            [FIXED],
            id="known-bug-no-longer-reproduces",
        ),
        pytest.param(
            [fact(since="2.11", **SIDE_BEFORE)],
            [fact(since="2.11", **SIDE_FROM)],
            [DOCUMENTED],
            id="documented-boundary-crossed",
        ),
        pytest.param(
            [fact(since="2.11", observations={**SIDE_BEFORE["observations"], "m": {"value": 1}})],
            [fact(since="2.11", observations={**SIDE_FROM["observations"], "m": {"value": 2}})],
            [DOCUMENTED],
            id="documented-change-explains-its-observations",
        ),
        pytest.param(
            [fact(**observed("message", "Expected 13, got 2"))],
            [fact(**observed("message", "expected 13 got 2"))],
            [UNDOCUMENTED],
            id="wording",
        ),
        pytest.param(
            [fact(**observed("default", True))],
            [fact(**observed("default", False))],
            [UNDOCUMENTED],
            id="default",
        ),
        pytest.param(
            [fact(**observed("message", "a"))], [fact()], [UNDOCUMENTED], id="observation-gone"
        ),
        pytest.param(
            [fact(outcome="known_bug", bug=BUG, **observed("shape", [3, 2]))],
            [fact(outcome="known_bug", bug=BUG, **observed("shape", [2, 3]))],
            [UNDOCUMENTED],
            id="known-bug-on-both-sides-observes-another-value",
        ),
        pytest.param(
            [fact(**observed("accuracy", 96.86, 0.5))],
            [fact(**observed("accuracy", 96.5, 0.5))],
            [],
            id="float-within-tolerance",
        ),
        pytest.param(
            [fact(**observed("accuracy", 96.86, 0.5))],
            [fact(**observed("accuracy", 95.9, 0.5))],
            [UNDOCUMENTED],
            id="float-beyond-tolerance",
        ),
        pytest.param(
            [fact(outcome="failed", **observed("message", "a"))],
            [fact(outcome="failed", **observed("message", "b"))],
            [],
            id="failing-on-both-sides-not-compared",
        ),
        pytest.param(
            [fact(warnings=[USER_WARNING])],
            [fact(warnings=[USER_WARNING, DEPRECATION])],
            [WARNING_NEW],
            id="warning-new",
        ),
        pytest.param([fact(warnings=[DEPRECATION])], [fact()], [WARNING_GONE], id="warning-gone"),
        pytest.param(
            [fact()],
            [fact(outcome="error", fix="pass --mnist-root DIR")],
            [ENV_ERROR],
            id="error-is-not-a-regression",
        ),
        pytest.param(
            [fact(outcome="error", fix="install onnx")],
            [fact(outcome="failed")],
            [ENV_ERROR],
            id="error-before-is-not-compared",
        ),
        pytest.param([fact()], [fact(outcome="skipped")], [SKIP_CHANGE], id="passed-to-skipped"),
        pytest.param([fact(outcome="skipped")], [fact()], [SKIP_CHANGE], id="skipped-to-passed"),
        pytest.param([], [fact(outcome="failed")], [NEW_FACT], id="new-fact"),
        pytest.param([fact(outcome="failed")], [], [REMOVED_FACT], id="removed-failing-fact"),
        pytest.param([fact(outcome="skipped")], [], [REMOVED_FACT], id="removed-skipped-fact"),
        pytest.param(
            [fact(outcome="failed")],
            [fact(outcome="known_bug", bug=BUG)],
            [OTHER],
            id="failure-becomes-known-bug",
        ),
    ],
)
def test_each_difference_lands_in_its_class(
    old: list[dict[str, Any]], new: list[dict[str, Any]], expected: list[str]
) -> None:
    """Each change of outcome, observation or warning is sorted into exactly one class."""
    assert kinds(old, new) == expected


@pytest.mark.parametrize(
    ("before", "after", "tolerance", "changed"),
    [
        pytest.param(96.86, 96.5, 0.5, False, id="float-within-tolerance"),
        pytest.param(96.86, 96.36, 0.5, False, id="float-at-tolerance"),
        pytest.param(96.86, 96.3, 0.5, True, id="float-beyond-tolerance"),
        pytest.param(3.1e-7, 3.2e-7, None, True, id="float-without-tolerance-is-exact"),
        pytest.param(3.1e-7, 3.1e-7, None, False, id="equal-floats"),
        pytest.param(float("nan"), float("nan"), None, False, id="nan-is-nan"),
        pytest.param(float("nan"), 1.0, 10.0, True, id="nan-to-number"),
        pytest.param(1, 1.0, None, False, id="int-equal-to-float"),
        pytest.param(821770, 821771, None, True, id="int"),
        pytest.param(True, 1, None, True, id="bool-is-not-int"),
        pytest.param("Expected 13, got 2", "Expected 13, got 2", None, False, id="same-string"),
        pytest.param("Expected 13, got 2", "Expected 13, but got 2", None, True, id="reworded"),
        pytest.param(
            "slow. (Triggered internally at /pytorch/torch/csrc/utils/tensor_new.cpp:253.)",
            "slow. (Triggered internally at /__w/pytorch/torch/csrc/utils/tensor_new.cpp:249.)",
            None,
            False,
            id="a-warning-s-cpp-source-line-moved",
        ),
        pytest.param([3, 5, 4], [3, 5, 4], None, False, id="same-list"),
        pytest.param([3, 5, 4], [3, 4, 5], None, True, id="list"),
    ],
)
def test_observation_differs_beyond_its_tolerance_only_for_floats(
    before: object, after: object, tolerance: float | None, changed: bool
) -> None:
    """Floats count as changed only beyond the tolerance beside them; everything else exactly."""
    assert observation_differs(before, after, tolerance) is changed


def test_lines_name_the_fact_the_transition_the_source_and_the_explanation() -> None:
    """Regressions carry the observed message, shipped bugs and fixes the issue, documented
    changes their boundary, undocumented changes the values and tolerance."""
    old = [
        fact("t.py::test_broke"),
        fact("t.py::test_bug_shipped"),
        fact("t.py::test_bug_fixed", outcome="known_bug", bug=BUG),
        fact("t.py::test_boundary", since="2.11", **SIDE_BEFORE),
        fact("t.py::test_accuracy", **observed("accuracy", 96.86, 0.5)),
    ]
    new = [
        fact("t.py::test_broke", outcome="failed"),
        fact("t.py::test_bug_shipped", outcome="known_bug", bug=BUG),
        fact("t.py::test_bug_fixed", bug=BUG),
        fact("t.py::test_boundary", since="2.11", **SIDE_FROM),
        fact("t.py::test_accuracy", **observed("accuracy", 95.0, 0.5)),
    ]
    lines = {d.subject: d.line() for d in differences(typed("2.10", old), typed("2.11", new))}
    assert lines == {
        "t.py::test_broke": f"t.py::test_broke: passed -> failed ({SOURCE}); "
        "observed: boom t.py::test_broke",
        "t.py::test_bug_shipped": f"t.py::test_bug_shipped: passed -> known_bug ({SOURCE}); "
        f"known bug shipped: pytorch/pytorch#98499 ({BUG['summary']})",
        "t.py::test_bug_fixed": f"t.py::test_bug_fixed: known_bug -> passed ({SOURCE}); "
        f"the known bug no longer holds here: pytorch/pytorch#98499 ({BUG['summary']})",
        "t.py::test_boundary": f"t.py::test_boundary: before 2.11 -> from 2.11 ({SOURCE}); "
        "boundary torch 2.11",
        "t.py::test_accuracy": f"t.py::test_accuracy: accuracy=96.86 -> accuracy=95.0 ({SOURCE}); "
        "accuracy tolerance 0.5",
    }


def test_schema_1_reports_derive_the_release_side_of_a_since_fact(tmp_path: Path) -> None:
    """A schema-1 report records no observations: the side of a `since=` fact's boundary
    follows from its torch release, so 2.5.1 -> 2.6.0 shows the documented change."""
    row = {"id": "specs/test_serialization.py::test_load_default", "outcome": "passed"}
    old = {"schema": 1, "torch": "2.5.1+cu124", "facts": [{**row, "since": "2.6"}]}
    new = {"schema": 1, "torch": "2.6.0+cu124", "facts": [{**row, "since": "2.6"}]}
    found = differences(
        load_report(write(tmp_path / "a", old)), load_report(write(tmp_path / "b", new))
    )
    assert [(d.kind, d.before, d.after) for d in found] == [(DOCUMENTED, "before 2.6", "from 2.6")]


def test_warnings_are_listed_once_per_warning_with_deprecations_first() -> None:
    """A warning raised by several facts is one line naming them; deprecations come first."""
    old = [fact("t.py::test_a"), fact("t.py::test_b")]
    new = [
        fact("t.py::test_a", warnings=[USER_WARNING, DEPRECATION]),
        fact("t.py::test_b", warnings=[DEPRECATION]),
    ]
    found = differences(typed("2.10", old), typed("2.11", new))
    assert [(d.kind, d.subject, d.facts) for d in found] == [
        (WARNING_NEW, "FutureWarning: deprecated (torch.jit)", ("t.py::test_a", "t.py::test_b")),
        (WARNING_NEW, "UserWarning: non-contiguous (torch.nn)", ("t.py::test_a",)),
    ]


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        ({"0": 97.75}, {"0": 97.94}, False),  # an accuracy per seed, within its tolerance of 1
        ({"0": 97.75}, {"0": 95.5}, True),
        ({"0": 97.75}, {"0": 97.75, "1": 97.2}, True),  # another set of seeds
        ([1.0, 2.0], [1.5, 2.5], False),
        ([1.0, 2.0], [1.0, 4.0], True),
        (["a", 1], ["a", 2], True),
    ],
)
def test_containers_compare_item_by_item_with_the_facts_tolerance(old, new, changed) -> None:
    assert observation_differs(old, new, 1.0) is changed


def test_a_warning_raised_once_per_process_is_not_new_when_another_fact_meets_it() -> None:
    """Red if a TORCH_WARN_ONCE warning, met by whichever fact ran first on a worker, counted
    as gone and new between two runs that shared the facts differently."""
    old = [fact("t.py::test_a", warnings=[USER_WARNING]), fact("t.py::test_b")]
    new = [fact("t.py::test_a"), fact("t.py::test_b", warnings=[USER_WARNING])]
    assert differences(typed("2.10", old), typed("2.11", new)) == []


def test_a_warning_is_the_same_whatever_the_environments_folder_or_the_cpp_source_line() -> None:
    """Red if one warning counted as gone and new between two releases because its file lay in
    another environment's folder or its "(Triggered internally at ...:LINE.)" moved."""
    site = "/root/.cache/uv/archive-v0/{}/lib/python3.11/site-packages/torch/nn/modules/rnn.py"
    message = "LSTM with projections is not supported with oneDNN. (Triggered internally at {}.)"
    old = [
        fact(
            "t.py::test_a",
            warnings=[
                {
                    "category": "UserWarning",
                    "message": message.format("../aten/src/ATen/native/RNN.cpp:1479"),
                    "module": site.format("i_PnprF"),
                }
            ],
        )
    ]
    new = [
        fact(
            "t.py::test_a",
            warnings=[
                {
                    "category": "UserWarning",
                    "message": message.format("/__w/pytorch/aten/src/ATen/native/RNN.cpp:1492"),
                    "module": "torch.nn.modules.rnn",
                }
            ],
        )
    ]
    assert differences(typed("2.1.2", old), typed("2.2.2", new)) == []


def test_environment_differences_are_kept_apart_from_behaviour(tmp_path: Path) -> None:
    """Another machine and other packages are listed, not counted as behaviour: exit 0."""
    old = report("2.10.0", [fact()])
    new = report(
        "2.11.0",
        [fact()],
        threads=16,
        cpu_capability="AVX512",
        packages={"numpy": "1.26.4", "onnx": "1.17.0", "pytest": "9.1.1"},
    )
    found = differences(Report.from_data(old), Report.from_data(new))
    assert [(d.kind, d.subject, d.before, d.after) for d in found] == [
        (ENVIRONMENT, "cpu_capability", "AVX2", "AVX512"),
        (ENVIRONMENT, "threads", "2", "16"),
        (ENVIRONMENT, "numpy", "2.1.0", "1.26.4"),
        (ENVIRONMENT, "onnx", "absent", "1.17.0"),
    ]
    assert run("diff", str(write(tmp_path / "a", old)), str(write(tmp_path / "b", new))) == 0


def test_serial_and_parallel_reports_of_one_torch_diff_to_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Facts in another order, ids with xdist's '@group' suffix: no difference, exit 0."""
    ids = ["s/t.py::test_a[x@y]", "s/t.py::test_b", "s/u.py::test_c[1-2]"]
    serial = report("2.15.0", [fact(i, warnings=[DEPRECATION]) for i in ids])
    parallel = report(
        "2.15.0", [fact(f"{i}@char-rnn", warnings=[DEPRECATION]) for i in reversed(ids)]
    )
    assert differences(Report.from_data(serial), Report.from_data(parallel)) == []
    old, new = write(tmp_path / "serial", serial), write(tmp_path / "parallel", parallel)
    assert run("diff", str(old), str(new)) == 0
    assert capsys.readouterr().out.strip().endswith("(new): no change")
    assert [f.id for f in load_report(new).facts] == list(reversed(ids))


# --- rnnspec diff: output and exit status ---------------------------------------------------

UNDOCUMENTED_PAIR = (
    [fact(**observed("message", "Expected 13, got 2"))],
    [fact(**observed("message", "expected 13 got 2"))],
)


@pytest.mark.parametrize(
    ("old", "new", "options", "expected"),
    [
        pytest.param([fact()], [fact()], [], 0, id="no-change"),
        pytest.param([fact()], [fact(outcome="failed")], [], 1, id="regression"),
        pytest.param([fact(outcome="failed")], [fact()], [], 0, id="fixed"),
        pytest.param([fact()], [fact(outcome="error", fix="x")], [], 0, id="error"),
        pytest.param(*UNDOCUMENTED_PAIR, [], 0, id="undocumented"),
        pytest.param(
            *UNDOCUMENTED_PAIR, ["--fail-on-undocumented"], 1, id="undocumented-fails-on-request"
        ),
        pytest.param(
            [fact(since="2.11", **SIDE_BEFORE)],
            [fact(since="2.11", **SIDE_FROM)],
            ["--fail-on-undocumented"],
            0,
            id="documented-never-fails",
        ),
    ],
)
def test_diff_exit_status(
    tmp_path: Path,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
    options: list[str],
    expected: int,
) -> None:
    """1 on a regression (and on an undocumented change when asked), otherwise 0."""
    old_path = write(tmp_path / "old", report("2.10.0", old))
    new_path = write(tmp_path / "new", report("2.11.0", new))
    assert run("diff", str(old_path), str(new_path), *options) == expected


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(None, id="missing-file"),
        pytest.param("{not json", id="not-json"),
        pytest.param('{"torch": "2.6.0"}', id="no-facts"),
        pytest.param('{"facts": [{"claim": "no id"}]}', id="fact-without-id"),
    ],
)
def test_diff_and_compare_exit_2_on_an_unreadable_report(
    tmp_path: Path, content: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    good = make_report(tmp_path / "good", "2.6.0", {"a": "passed"})
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert run("diff", str(bad), str(good)) == 2
    assert run("diff", str(good), str(bad)) == 2
    assert run("compare", str(good), str(bad), "--out", str(tmp_path / "page")) == 2
    assert "bad.json" in capsys.readouterr().err


def test_diff_prints_each_class_with_one_line_per_fact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = [
        fact("t.py::test_kept"),
        fact("t.py::test_broke"),
        fact("t.py::test_fixed", outcome="failed"),
        fact("t.py::test_env"),
        fact("t.py::test_side", since="2.11", **SIDE_BEFORE),
    ]
    new = [
        fact("t.py::test_kept"),
        fact("t.py::test_broke", outcome="failed"),
        fact("t.py::test_fixed"),
        fact("t.py::test_env", outcome="error", fix="pass --mnist-root DIR"),
        fact("t.py::test_side", since="2.11", **SIDE_FROM),
        fact("t.py::test_new"),
    ]
    old_path = write(tmp_path / "old", report("2.10.0", old))
    new_path = write(tmp_path / "new", report("2.11.0", new))
    assert run("diff", str(old_path.parent), str(new_path.parent)) == 1  # folders name reports
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "rnnspec diff: torch 2.10.0 (old) -> torch 2.11.0 (new): 1 regression, 1 fixed, "
        "1 documented change, 1 environment error, 1 new fact"
    )
    sections = dict(re.findall(r"^(\S[^:\n]*): \d+\n((?:  .*\n?)+)", out, flags=re.MULTILINE))
    listed = {
        k: [line.split(": ")[0].strip() for line in v.splitlines()] for k, v in sections.items()
    }
    assert listed == {
        "regressions": ["t.py::test_broke"],
        "fixed": ["t.py::test_fixed"],
        "documented changes": ["t.py::test_side"],
        "environment errors": ["t.py::test_env"],
        "new facts": ["t.py::test_new"],
    }
    assert "t.py::test_env: passed -> error" in out
    assert "fix: pass --mnist-root DIR" in out


# --- the comparison page --------------------------------------------------------------------

BOUNDARY = "specs/pytorch/test_serialization.py::test_load_defaults_to_weights_only"


@pytest.fixture
def three_releases(tmp_path: Path) -> list[Path]:
    """2.5.1 -> 2.6.0: a documented change; 2.6.0 -> 2.10.0: none (given out of order)."""

    def facts(side: str, outcome_b: str = "passed") -> list[dict[str, Any]]:
        return [
            fact(BOUNDARY, since="2.6", **observed("release_side", side)),
            fact("specs/pytorch/test_errors.py::test_b", outcome_b),
        ]

    return [
        write(tmp_path / "c", report("2.10.0", facts("from 2.6", "failed"))),
        write(tmp_path / "a", report("2.5.1", facts("before 2.6", "failed"))),
        write(tmp_path / "b", report("2.6.0", facts("from 2.6", "failed"))),
    ]


def pair_sections(page: str) -> dict[str, str]:
    """Each '### OLD → NEW' section of the page: its title and its text."""
    section = page.split("## Changes between adjacent releases")[1].split("\n## ")[0]
    parts = re.split(r"^### (.*)$", section, flags=re.MULTILINE)[1:]
    return {title: body.strip() for title, body in zip(parts[::2], parts[1::2], strict=True)}


def test_page_lists_a_documented_change_at_its_pair_and_no_change_for_a_quiet_pair(
    three_releases: list[Path],
) -> None:
    releases = releases_from_reports(three_releases)
    assert [r.label for r in releases] == ["2.5.1", "2.6.0", "2.10.0"]
    sections = pair_sections(render_comparison(releases))
    assert sections == {
        "2.5.1 → 2.6.0": "0 regressions, 1 documented change.\n\n"
        f"- documented change: `{BOUNDARY}`: before 2.6 → from 2.6; "
        "boundary torch 2.6",
        "2.6.0 → 2.10.0": "no change.",
    }


def test_page_tables_show_releases_outcomes_and_known_bugs(tmp_path: Path) -> None:
    old = report("2.9.1", [fact("s/t.py::test_a", "known_bug", bug=BUG), fact("s/t.py::test_b")])
    new = report(
        "2.15.0",
        [fact("s/t.py::test_a", bug=BUG), fact("s/t.py::test_b", "error", fix="install onnx")],
        known_bugs=[],
        verdict="incomplete: environment",
    )
    releases = releases_from_reports([write(tmp_path / "a", old), write(tmp_path / "b", new)])
    page = render_comparison(releases)
    assert (
        "| release | status | passed | failed | crashed | timed out | skipped | error | not run "
        "| known bug |" in page
    )
    assert "| 2.15.0 | incomplete (environment) | 1 | 0 | 0 | 0 | 0 | 1 | 0 | 0 |" in page
    bugs = page.split("## Known bugs by release")[1].split("\n## ")[0]
    assert (
        f"| [pytorch/pytorch#98499]({BUG['issue']}) | {BUG['summary']} | >=2.0 | holds | no |"
        in bugs
    )
    assert "- fixed: `s/t.py::test_a`: known_bug → passed" in page
    assert "- environment error: `s/t.py::test_b`: passed → error" in page


def test_topic_cells_take_the_worst_difference_against_the_previous_release() -> None:
    """Regression beats undocumented beats documented beats warnings; a release without a
    report is 'not run' and the next one is compared with the last that ran."""

    def facts(side: str, outcome: str, message: str, warned: bool) -> list[dict[str, Any]]:
        return [
            fact("specs/a.py::test_regress", outcome, **observed("message", message)),
            fact("specs/a.py::test_doc", since="2.6", **observed("release_side", side)),
            fact("specs/b.py::test_undoc", **observed("message", message)),
            fact("specs/b.py::test_doc", since="2.6", **observed("release_side", side)),
            fact("specs/c.py::test_warn", warnings=[DEPRECATION] if warned else []),
            fact("specs/d.py::test_quiet"),
        ]

    releases = [
        Release("2.5.1", "passed", typed("2.5.1", facts("before 2.6", "passed", "a", False))),
        Release("2.6.0", "not installed", error="no wheel"),
        Release("2.7.0", "failed", typed("2.7.0", facts("from 2.6", "failed", "b", True))),
    ]
    topics, levels, counts = topic_grid(releases)
    assert topics == ["specs/a.py", "specs/b.py", "specs/c.py", "specs/d.py"]
    assert levels == [
        [FIRST, NO_REPORT, REGRESSIONS],
        [FIRST, NO_REPORT, UNDOC],
        [FIRST, NO_REPORT, WARNINGS],
        [FIRST, NO_REPORT, NONE],
    ]
    assert [row[2] for row in counts] == [2, 2, 1, 0]
    assert DOC < UNDOC


def test_picture_fits_a_screen_whatever_the_number_of_facts(tmp_path: Path) -> None:
    """40 topics x 16 releases, 800 facts: comparison.png stays within 1600 x 1000 pixels."""
    facts = [
        fact(f"specs/pytorch/test_topic_{t:02}.py::test_{i}") for t in range(40) for i in range(20)
    ]
    releases = [
        Release(f"2.{minor}.0", "passed", typed(f"2.{minor}.0", facts)) for minor in range(16)
    ]
    page = write_comparison(releases, tmp_path)
    width, height = Image.open(tmp_path / "comparison.png").size
    assert width <= 1600, width
    assert height <= 1000, height
    assert "![topics x releases](comparison.png)" in page.read_text()


def test_compare_command_writes_the_page_and_the_picture(
    three_releases: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "page"
    assert run("compare", *map(str, three_releases), "--out", str(out)) == 0
    assert pair_sections((out / "comparison.md").read_text())["2.6.0 → 2.10.0"] == "no change."
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_page_without_reports_says_so(tmp_path: Path) -> None:
    page = write_comparison([Release("2.5.1", "not installed", error="no wheel")], tmp_path)
    text = page.read_text()
    assert "| 2.5.1 | not installed |" in text
    assert "no wheel" in text
    assert "No release produced a report with facts." in text


# --- benchmarks -----------------------------------------------------------------------------


def bench(name: str, median_s: float, band: float | None = None) -> dict[str, Any]:
    return {"name": name, "median_s": median_s} | ({"noise_band": band} if band else {})


def benchmark_changes(page: str) -> list[str]:
    """The benchmark changes the page lists: the lines of its section naming a benchmark."""
    return re.findall(r"^- `.*$", page.split("## Benchmarks")[1], flags=re.MULTILINE)


def test_benchmarks_show_only_changes_outside_the_noise_band(tmp_path: Path) -> None:
    """lstm: +50% against a 12% band is a change; gru: +5% is noise and is not listed."""
    runs = {
        "2.7.0": [bench("lstm", 0.003, 0.12), bench("gru", 0.0105, 0.12)],
        "2.6.0": [bench("lstm", 0.002, 0.12), bench("gru", 0.010, 0.12)],
    }
    paths = [make_report(tmp_path / v, v, {"a": "passed"}, benchmarks=b) for v, b in runs.items()]
    page = render_comparison(releases_from_reports(paths))
    assert "| benchmark | 2.6.0 | 2.7.0 |" in page
    (change,) = benchmark_changes(page)
    assert change.startswith("- `lstm`: 2.6.0 → 2.7.0: 1.50x")


def test_benchmarks_without_a_noise_band_claim_no_change(tmp_path: Path) -> None:
    """One round per release gives no band: a 1.5x difference is shown, not claimed."""
    old = make_report(tmp_path / "a", "2.6.0", {"a": "passed"}, [bench("lstm", 0.002)])
    new = make_report(tmp_path / "b", "2.11.0", {"a": "passed"}, [bench("lstm", 0.003)])
    page = render_comparison(releases_from_reports([new, old]))
    assert "| benchmark | 2.6.0 | 2.11.0 |" in page
    assert benchmark_changes(page) == []


def test_page_without_benchmarks_has_no_benchmark_section(three_releases: list[Path]) -> None:
    assert "## Benchmarks" not in render_comparison(releases_from_reports(three_releases))


# --- the committed page ---------------------------------------------------------------------

MATRIX = Path(__file__).resolve().parents[1] / "docs" / "matrix"
# The 16 reports the page was folded on (the matrix of 2026-12-06, archived), kept so that
# the folding stays checked against the page it replaced after docs/matrix is run again.
FOLDED_ON = Path(__file__).resolve().parent / "data" / "matrix-2026-12-06"
PAGE_LIMIT = 35_000  # bytes: a page read in a minute
# Each pair's counts line on the page as committed before the page showed one line per fact
# family and before the reports were archived (FOLDED_ON's 16 releases): the page keeps
# every class and every count, whatever the order of the classes.
COUNTS_BEFORE_FOLDING = {
    "2.0.1+cu117 → 2.1.2+cu121": "9 regressions, 5 fixed, 26 documented changes, 7 undocumented changes, 1 warning new, 51 skip changes",
    "2.1.2+cu121 → 2.2.2+cu121": "0 regressions, 3 documented changes, 1 warning gone, 2 skip changes",
    "2.2.2+cu121 → 2.3.1+cu121": "3 regressions, 4 fixed, 2 undocumented changes, 1 skip change",
    "2.3.1+cu121 → 2.4.1+cu121": "0 regressions, 4 fixed, 1 documented change, 1 warning gone",
    "2.4.1+cu121 → 2.5.1+cu124": "0 regressions, 8 skip changes",
    "2.5.1+cu124 → 2.6.0+cu124": "0 regressions, 1 fixed, 1 documented change, 1 warning new",
    "2.6.0+cu124 → 2.7.1+cu126": "0 regressions, 1 warning new, 1 warning gone",
    "2.7.1+cu126 → 2.8.0+cu128": "15 regressions, 1 documented change, 3 undocumented changes, 4 warnings new",
    "2.8.0+cu128 → 2.9.1+cu128": "0 regressions, 5 warnings new, 5 warnings gone",
    "2.9.1+cu128 → 2.10.0+cu128": "0 regressions, 15 fixed, 2 documented changes, 13 warnings new, 1 warning gone",
    "2.10.0+cu128 → 2.11.0+cu130": "0 regressions, 15 documented changes, 1 warning gone",
    "2.11.0+cu130 → 2.12.1+cu130": "no change",
    "2.12.1+cu130 → 2.13.0+cu130": "0 regressions, 2 warnings new",
    "2.13.0+cu130 → 2.14.1+cu130": "0 regressions, 2 undocumented changes, 3 warnings new, 5 warnings gone",
    "2.14.1+cu130 → 2.15.0+cu132": "0 regressions, 6 fixed, 4 undocumented changes",
}


def test_the_folded_page_keeps_every_class_and_count_and_is_short() -> None:
    """The page rendered from the 16 reports it was folded on is at most PAGE_LIMIT bytes,
    with the classes and counts of each pair that the unfolded page had."""
    page = render_comparison(releases_from_reports([FOLDED_ON]), heatmap="comparison.png")
    assert len(page.encode()) <= PAGE_LIMIT
    counts = {k: v.split("\n")[0].removesuffix(".") for k, v in pair_sections(page).items()}
    assert {k: sorted(v.split(", ")) for k, v in counts.items()} == {
        k: sorted(v.split(", ")) for k, v in COUNTS_BEFORE_FOLDING.items()
    }


def test_the_committed_page_is_what_compare_writes_and_is_short() -> None:
    """docs/matrix/comparison.md is the page `rnnspec compare` renders from docs/matrix's
    archived reports, and at most PAGE_LIMIT bytes."""
    page = render_comparison(releases_from_reports([MATRIX]), heatmap="comparison.png")
    assert page == (MATRIX / "comparison.md").read_text(), (
        "regenerate: rnnspec compare docs/matrix --out docs/matrix"
    )
    assert len(page.encode()) <= PAGE_LIMIT
