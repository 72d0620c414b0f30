"""The fact report never lies: a skip is a skip, a failure shows what was seen, no run no pass.

Each case writes small spec files under `specs/` in a pytester folder and runs
pytest in-process with the report plugin (`-p rnnspec.report`) and an empty
conftest, then reads report.json and report.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# The report imports torchvision (and with it torch._dynamo and triton). Imported
# here, before any pytester run, they survive pytester's sys.modules restore: a
# second import of triton's compiled extension in one process aborts it.
import torchvision  # noqa: F401

pytest_plugins = ["pytester"]

# The report plugin, and nothing that would reorder or cache the inner runs.
PLUGINS = ("-p", "rnnspec.report", "-p", "no:cacheprovider", "-p", "no:randomly")

INI = """
[pytest]
markers =
    fact(source, erratum=None, since=None): a documented fact
"""

PASSING = '''
import pytest

@pytest.mark.fact("doc-a", since="2.6")
def test_holds():
    """LSTM outputs hold."""
'''

SKIPPED = '''
import pytest

@pytest.mark.fact("doc-b")
def test_needs_cuda():
    """A CUDA fact."""
    pytest.skip("needs a CUDA device")
'''

SKIPPED_IN_SETUP = '''
import pytest

@pytest.fixture
def data():
    pytest.skip("MNIST not found in /nowhere")

@pytest.mark.fact("doc-c")
def test_trains(data):
    """Training reaches 95%."""
'''

FAILING = '''
import pytest

@pytest.mark.fact("doc-d", erratum="the seed says 97% on any machine")
def test_shape(request):
    """h_n is [layers, batch, hidden]."""
    assert 3 == 4, "h_n had 3 dimensions, expected 4"
'''

SETUP_ERROR = '''
import pytest

@pytest.fixture
def data():
    raise RuntimeError("MNIST file is corrupted")

@pytest.mark.fact("doc-e")
def test_uses_data(data):
    """Uses MNIST."""
'''


def run_specs(
    pytester: pytest.Pytester, specs: dict[str, str], *args: str
) -> tuple[pytest.RunResult, dict, str]:
    pytester.makeini(INI)
    pytester.makeconftest("")
    (pytester.path / "specs").mkdir(exist_ok=True)
    for name, source in specs.items():
        (pytester.path / "specs" / f"{name}.py").write_text(source)
    report_dir = pytester.path / "report"
    result = pytester.runpytest(*PLUGINS, "--report-dir", str(report_dir), *args)
    payload = json.loads((report_dir / "report.json").read_text())
    return result, payload, (report_dir / "report.md").read_text()


def fact(payload: dict, name: str) -> dict:
    (row,) = [f for f in payload["facts"] if f["id"].endswith(f"::{name}")]
    return row


def md_row(markdown: str, name: str) -> str:
    """The row of `name` in the Markdown facts table (the first table that lists it)."""
    return next(
        line for line in markdown.splitlines() if line.startswith("| `specs/") and name in line
    )


def test_skipped_fact_is_reported_skipped_with_its_reason(pytester: pytest.Pytester) -> None:
    result, payload, markdown = run_specs(
        pytester, {"test_a": PASSING, "test_b": SKIPPED, "test_c": SKIPPED_IN_SETUP}
    )
    assert result.ret == 0
    assert fact(payload, "test_holds")["outcome"] == "passed"
    for name, reason in [
        ("test_needs_cuda", "needs a CUDA device"),
        ("test_trains", "MNIST not found in /nowhere"),
    ]:
        row = fact(payload, name)
        assert (row["outcome"], row["observed"]) == ("skipped", reason)
        assert f"| skipped | {reason} |" in md_row(markdown, name)
    assert payload["summary"] == {"passed": 1, "failed": 0, "skipped": 2}
    assert "— passed, 2 skipped" in markdown.splitlines()[0]


def test_failing_fact_is_reported_failed_with_the_observed_message(
    pytester: pytest.Pytester,
) -> None:
    result, payload, markdown = run_specs(pytester, {"test_a": PASSING, "test_d": FAILING})
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    row = fact(payload, "test_shape")
    assert row["outcome"] == "failed"
    assert "h_n had 3 dimensions, expected 4" in row["observed"]
    assert row["claim"] == "h_n is [layers, batch, hidden]."
    assert payload["errata"] == [
        {
            "id": row["id"],
            "source": "doc-d",
            "erratum": "the seed says 97% on any machine",
            "outcome": "failed",
        }
    ]
    assert "FAILED" in markdown.splitlines()[0]
    assert "## Failed facts" in markdown
    assert "| failed | AssertionError: h_n had 3 dimensions" in md_row(markdown, "test_shape")


def test_fixture_error_is_a_failed_fact_not_a_pass(pytester: pytest.Pytester) -> None:
    result, payload, _ = run_specs(pytester, {"test_e": SETUP_ERROR})
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    row = fact(payload, "test_uses_data")
    assert row["outcome"] == "failed"
    assert "MNIST file is corrupted" in row["observed"]


def test_run_whose_facts_all_skipped_exits_5_and_says_not_run(pytester: pytest.Pytester) -> None:
    result, payload, markdown = run_specs(pytester, {"test_b": SKIPPED, "test_c": SKIPPED_IN_SETUP})
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["*facts were collected but none was executed*"])
    assert payload["exitstatus"] == 5
    assert payload["summary"] == {"passed": 0, "failed": 0, "skipped": 2}
    assert "NOT RUN: all 2 facts skipped" in markdown.splitlines()[0]


@pytest.mark.parametrize(
    ("spec", "lacks"),
    [
        pytest.param(
            'def test_x():\n    """A claim without a source."""\n',
            "lacks @pytest.mark.fact(source, ...)",
            id="no-fact-mark",
        ),
        pytest.param(
            'import pytest\n\n@pytest.mark.fact("doc")\ndef test_x():\n    pass\n',
            "lacks a docstring claim",
            id="no-docstring",
        ),
        pytest.param(
            'import pytest\n\n@pytest.mark.fact()\ndef test_x():\n    """A claim."""\n',
            "lacks a source",
            id="fact-mark-without-source",
        ),
    ],
)
def test_uncited_spec_is_a_collection_error(
    pytester: pytest.Pytester, spec: str, lacks: str
) -> None:
    pytester.makeini(INI)
    pytester.makeconftest("")
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "test_a.py").write_text(PASSING)
    (pytester.path / "specs" / "test_bad.py").write_text(spec)
    result = pytester.runpytest(*PLUGINS)
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection errors stop the run
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR collecting specs/test_bad.py*", f"*test_x*{lacks}*"])


def test_every_uncited_spec_of_a_module_is_named_at_once(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makeconftest("")
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "test_bad.py").write_text(
        "class TestGroup:\n    def test_one(self):\n        pass\n\n    def test_two(self):\n"
        "        pass\n"
    )
    result = pytester.runpytest(*PLUGINS)
    result.stdout.fnmatch_lines(
        ["*TestGroup::test_one: every spec needs*", "*TestGroup::test_two*"]
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_a_specs_folder_above_the_rootdir_does_not_make_tests_specs(
    pytester: pytest.Pytester,
) -> None:
    """A checkout at /home/me/specs/rnnspec has tests, not specs, under tests/."""
    project = pytester.path / "specs" / "rnnspec"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text(INI)
    (project / "tests" / "test_machinery.py").write_text("def test_x():\n    pass\n")
    result = pytester.runpytest(*PLUGINS, f"--rootdir={project}", str(project))
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)


def test_tests_outside_specs_need_no_fact_and_are_counted_apart(pytester: pytest.Pytester) -> None:
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_tool.py").write_text(
        "def test_ok():\n    pass\n\ndef test_bad():\n    assert False\n"
    )
    result, payload, markdown = run_specs(pytester, {"test_a": PASSING})
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert payload["other_tests"] == {"passed": 1, "failed": 1}
    assert payload["summary"]["passed"] == 1
    assert "but pytest exited with status 1" in markdown.splitlines()[0]


def test_report_files_exist_only_where_asked(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makeini(INI)
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "test_a.py").write_text(PASSING)
    result = pytester.runpytest(*PLUGINS)
    assert result.ret == 0
    assert not list(pytester.path.rglob("report.json"))
