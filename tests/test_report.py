"""The fact report never lies: a skip is a skip, a failure shows what was seen, no run no pass,
an environment problem is not a PyTorch failure, and a known bug is expected exactly.

Each case writes small spec files under `specs/` in a pytester folder and runs pytest
with the plugin (`-p rnnspec.plugin`) and an empty conftest, then reads report.json and
report.md. The cases that need other processes (xdist workers, a crashing child) run
pytest in a subprocess and are marked slow.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# The report imports torchvision (and with it torch._dynamo and triton). Imported
# here, before any pytester run, they survive pytester's sys.modules restore: a
# second import of triton's compiled extension in one process aborts it.
import torchvision  # noqa: F401

from rnnspec.releases import torch_release
from rnnspec.schema import EXIT_ENVIRONMENT as ENVIRONMENT_INCOMPLETE
from rnnspec.tool.plugin.captured_warnings import module_of

pytest_plugins = ["pytester"]

# The plugin, and nothing that would reorder or cache the inner runs; the facts in pytest's own
# process (-n 0: no worker to start), except where a case asks for workers (tests/test_guard.py
# checks the guard's one worker).
PLUGINS = ("-p", "rnnspec.plugin", "-p", "no:cacheprovider", "-p", "no:randomly", "-n", "0")

INI = """
[pytest]
markers =
    slow: slow
"""

PASSING = '''
import pytest

@pytest.mark.fact("doc-a", since="2.6", quote="LSTM은 출력을 낸다.")
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

ENVIRONMENT = '''
import pytest
from rnnspec.environment import NetworkUnavailable

@pytest.fixture(scope="session")
def data():
    raise NetworkUnavailable("no route to the MNIST mirrors", fix="pass --mnist-root DIR")

@pytest.mark.fact("doc-f")
def test_in_setup(data):
    """Needs MNIST."""

@pytest.mark.fact("doc-f")
def test_in_call():
    """Downloads in the test itself."""
    raise NetworkUnavailable("DNS lookup failed", fix="pass --mnist-root DIR")
'''

OBSERVING = '''
import warnings
import pytest

@pytest.mark.fact("doc-g")
def test_observes(observe):
    """Records what it saw."""
    observe("message", "Expected 13, got 2")
    observe("default", True)
    observe("accuracy", 96.86, tolerance=0.5)
    observe("shape", [3, 5, 4])
    for _ in range(3):  # one warning, raised three times: recorded once
        warnings.warn("weights_only will default to True", FutureWarning)
    warnings.warn("TorchScript is deprecated", DeprecationWarning)
'''

OBSERVE_MISUSE = '''
import pytest

@pytest.mark.fact("doc-h")
def test_float_without_tolerance(observe):
    """A float needs a tolerance."""
    observe("error", 3.1e-7)

@pytest.mark.fact("doc-h")
def test_not_json(observe):
    """Only JSON values."""
    observe("tensor", object())
'''

BUGS = '''
import pytest
from rnnspec.bugs import KnownBug

HOLDS = KnownBug("https://github.com/pytorch/pytorch/issues/98499", "unpad_sequence transposes",
                 affects=">=0")
GONE = KnownBug("https://github.com/pytorch/pytorch/issues/1", "an old bug", affects="<0.1")

@pytest.mark.fact("doc-i", bug=HOLDS)
def test_bug_holds(known_bug):
    """unpad_sequence leaves its input alone."""
    with known_bug.expected(match="came back"):
        assert (2, 3) == (3, 2), "the padded tensor came back (2, 3)"

@pytest.mark.fact("doc-i", bug=HOLDS)
def test_bug_fixed(known_bug):
    """The promise now holds where the ledger says it breaks."""
    with known_bug.expected():
        assert True

@pytest.mark.fact("doc-i", bug=HOLDS)
def test_bug_breaks_differently(known_bug):
    """A failure that is not the bug's is a failure."""
    with known_bug.expected(match="came back"):
        assert False, "something else entirely"

@pytest.mark.fact("doc-i", bug=GONE)
def test_bug_outside_its_range(known_bug):
    """Outside the affected releases the block is plain code."""
    with known_bug.expected():
        assert True
'''

CRASHING = '''
import os
import signal
import pytest
import torch

# The parent runs OpenMP threads before any child is forked, as a real session does.
torch.set_num_threads(2)
PARENT = (torch.ones(512, 512) @ torch.ones(512, 512)).sum().item()

@pytest.mark.forked
@pytest.mark.fact("doc-j")
def test_crashes():
    """Survives a hard crash."""
    os.kill(os.getpid(), signal.SIGSEGV)

@pytest.mark.forked
@pytest.mark.fact("doc-j")
def test_forked_and_fine(observe):
    """A forked fact that computes with torch completes and keeps its observations."""
    child = (torch.ones(512, 512) @ torch.ones(512, 512)).sum().item()
    observe("same_as_parent", child == PARENT)

@pytest.mark.parametrize("n", range(4))
@pytest.mark.fact("doc-j")
def test_after(n):
    """Runs after the crash."""
'''

GROUPED = '''
import pytest

@pytest.mark.xdist_group("char-rnn")
@pytest.mark.parametrize("case", ["a", "b"])
@pytest.mark.fact("doc-k")
def test_grouped(case):
    """Shares a trained model."""

@pytest.mark.fact("doc-k")
def test_alone():
    """Needs nothing."""
'''


def write_specs(pytester: pytest.Pytester, specs: dict[str, str]) -> None:
    pytester.makeini(INI)
    pytester.makeconftest("")
    (pytester.path / "specs").mkdir(exist_ok=True)
    for name, source in specs.items():
        (pytester.path / "specs" / f"{name}.py").write_text(source)


def read_report(report_dir: Path) -> tuple[dict, str]:
    return (
        json.loads((report_dir / "report.json").read_text()),
        (report_dir / "report.md").read_text(),
    )


def run_specs(
    pytester: pytest.Pytester, specs: dict[str, str], *args: str
) -> tuple[pytest.RunResult, dict, str]:
    write_specs(pytester, specs)
    report_dir = pytester.path / "report"
    result = pytester.runpytest(*PLUGINS, "--report-dir", str(report_dir), *args)
    return (result, *read_report(report_dir))


def run_specs_in_subprocess(
    pytester: pytest.Pytester, specs: dict[str, str], *args: str
) -> tuple[pytest.RunResult, dict, str]:
    write_specs(pytester, specs)
    report_dir = pytester.path / "report"
    result = pytester.runpytest_subprocess(
        *PLUGINS, f"--report-dir={report_dir}", *args, timeout=240
    )
    return (result, *read_report(report_dir))


def fact(payload: dict, name: str) -> dict:
    (row,) = [f for f in payload["facts"] if f["id"].endswith(f"::{name}")]
    return row


def md_row(markdown: str, name: str) -> str:
    """The row of `name` in the Markdown facts table (the last table that lists it)."""
    return [
        line for line in markdown.splitlines() if line.startswith("| `specs/") and name in line
    ][-1]


def test_report_json_has_every_schema_2_field(pytester: pytest.Pytester) -> None:
    """Red if a key that compare and diff read is missing or renamed."""
    _, payload, _ = run_specs(pytester, {"test_a": PASSING})
    assert payload["schema"] == 2
    for key in (
        "torch",
        "torchvision",
        "packages",
        "python",
        "platform",
        "cpu",
        "cpu_capability",
        "threads",
        "cuda",
        "device",
        "started",
        "finished",
        "duration_s",
        "exitstatus",
        "verdict",
        "summary",
        "facts",
        "errata",
        "known_bugs",
        "training",
    ):
        assert key in payload, key
    assert set(payload["packages"]) == {"numpy", "onnx", "onnxruntime", "onnxscript", "pytest"}
    assert payload["packages"]["pytest"] == pytest.__version__
    assert payload["summary"] == {
        "passed": 1,
        "failed": 0,
        "crashed": 0,
        "timed out": 0,
        "skipped": 0,
        "error": 0,
        "known_bug": 0,
        "not run": 0,
    }
    row = fact(payload, "test_holds")
    assert list(row) == [
        "id",
        "topic",
        "source",
        "quote",
        "claim",
        "erratum",
        "since",
        "bug",
        "outcome",
        "observed",
        "fix",
        "observations",
        "warnings",
        "duration_s",
    ]
    assert (row["id"], row["topic"]) == ("specs/test_a.py::test_holds", "specs/test_a.py")
    assert (row["source"], row["quote"], row["since"]) == ("doc-a", "LSTM은 출력을 낸다.", "2.6")


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
    assert (payload["summary"]["passed"], payload["summary"]["skipped"]) == (1, 2)
    assert payload["verdict"] == "passed"
    assert markdown.splitlines()[0].endswith("— passed")


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
    assert payload["verdict"] == "failed"
    assert markdown.splitlines()[0].endswith("— failed")
    assert "## Failed facts" in markdown
    assert "| failed | AssertionError: h_n had 3 dimensions" in md_row(markdown, "test_shape")


def test_fixture_error_is_a_failed_fact_not_a_pass(pytester: pytest.Pytester) -> None:
    """An ordinary exception in set-up is PyTorch's (or the spec's) failure, not the machine's."""
    result, payload, _ = run_specs(pytester, {"test_e": SETUP_ERROR})
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    row = fact(payload, "test_uses_data")
    assert (row["outcome"], row["fix"]) == ("failed", None)
    assert "MNIST file is corrupted" in row["observed"]


def test_environment_problem_is_an_error_with_its_fix_not_a_failure(
    pytester: pytest.Pytester,
) -> None:
    """Red if a network failure reads as PyTorch behaviour: outcome, verdict or exit status."""
    result, payload, markdown = run_specs(pytester, {"test_a": PASSING, "test_f": ENVIRONMENT})
    assert result.ret == ENVIRONMENT_INCOMPLETE
    for name, message in [("test_in_setup", "no route"), ("test_in_call", "DNS lookup failed")]:
        row = fact(payload, name)
        assert row["outcome"] == "error"
        assert row["observed"].startswith("NetworkUnavailable: ")
        assert message in row["observed"]
        assert row["fix"] == "pass --mnist-root DIR"
    assert payload["summary"]["failed"] == 0
    assert payload["summary"]["error"] == 2
    assert payload["verdict"] == "incomplete: environment"
    assert payload["exitstatus"] == ENVIRONMENT_INCOMPLETE
    assert markdown.splitlines()[0].endswith("— incomplete: environment")
    assert "## Errors of the environment" in markdown
    assert "## Failed facts" not in markdown
    result.stdout.fnmatch_lines(["*2 facts could not run because of the environment*"])


def test_a_real_failure_beside_an_environment_error_still_fails_the_run(
    pytester: pytest.Pytester,
) -> None:
    result, payload, _ = run_specs(pytester, {"test_d": FAILING, "test_f": ENVIRONMENT})
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert payload["verdict"] == "failed"


def test_run_whose_facts_all_skipped_exits_5_and_says_not_run(pytester: pytest.Pytester) -> None:
    result, payload, markdown = run_specs(pytester, {"test_b": SKIPPED, "test_c": SKIPPED_IN_SETUP})
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["*facts were collected but none was executed*"])
    assert payload["exitstatus"] == 5
    assert payload["summary"]["skipped"] == 2
    assert payload["verdict"] == "not run"
    assert markdown.splitlines()[0].endswith("— not run")


def test_observations_and_warnings_are_recorded_per_fact(pytester: pytest.Pytester) -> None:
    """Red if an observation or a warning is lost, a float loses its tolerance, or a warning
    raised three times is listed three times."""
    _, payload, _ = run_specs(pytester, {"test_g": OBSERVING})
    row = fact(payload, "test_observes")
    assert row["outcome"] == "passed"
    assert row["observations"] == {
        "message": {"value": "Expected 13, got 2", "tolerance": None},
        "default": {"value": True, "tolerance": None},
        "accuracy": {"value": 96.86, "tolerance": 0.5},
        "shape": {"value": [3, 5, 4], "tolerance": None},
    }
    assert row["warnings"] == [
        {
            "category": "FutureWarning",
            "message": "weights_only will default to True",
            "module": "specs.test_g",
        },
        {
            "category": "DeprecationWarning",
            "message": "TorchScript is deprecated",
            "module": "specs.test_g",
        },
    ]


def test_a_warning_raised_by_a_library_is_named_by_its_module() -> None:
    import site

    folder = Path(site.getsitepackages()[0])
    roots = [folder]
    assert module_of(str(folder / "torch" / "serialization.py"), roots) == "torch.serialization"
    assert module_of(str(folder / "torch" / "nn" / "__init__.py"), roots) == "torch.nn"
    assert module_of("/elsewhere/tool.py", roots) == "/elsewhere/tool.py"


def test_observe_refuses_a_float_without_tolerance_and_a_value_that_is_not_json(
    pytester: pytest.Pytester,
) -> None:
    _, payload, _ = run_specs(pytester, {"test_h": OBSERVE_MISUSE})
    row = fact(payload, "test_float_without_tolerance")
    assert row["outcome"] == "failed"
    assert "a float needs tolerance=" in row["observed"]
    row = fact(payload, "test_not_json")
    assert row["outcome"] == "failed"
    assert "must be plain finite JSON" in row["observed"]


def test_a_version_gated_fact_records_its_side_of_the_boundary(pytester: pytest.Pytester) -> None:
    _, payload, _ = run_specs(pytester, {"test_a": PASSING})
    side = "from 2.6" if torch_release().release >= (2, 6) else "before 2.6"
    assert fact(payload, "test_holds")["observations"]["release_side"] == {
        "value": side,
        "tolerance": None,
    }


def test_known_bugs_are_expected_exactly(pytester: pytest.Pytester) -> None:
    """Red if a bug that holds passes quietly, a fix goes unnoticed, a different failure is
    excused, or the block does not run as plain code outside the affected releases."""
    result, payload, markdown = run_specs(pytester, {"test_i": BUGS})
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    held = fact(payload, "test_bug_holds")
    assert held["outcome"] == "known_bug"
    assert "came back (2, 3)" in held["observed"]
    assert held["bug"]["holds"] is True
    assert held["bug"]["issue"] == "https://github.com/pytorch/pytorch/issues/98499"
    fixed = fact(payload, "test_bug_fixed")
    assert fixed["outcome"] == "failed"
    assert fixed["observed"].startswith(f"fixed in torch {torch_release()}: pytorch/pytorch#98499")
    assert fact(payload, "test_bug_breaks_differently")["outcome"] == "failed"
    outside = fact(payload, "test_bug_outside_its_range")
    assert (outside["outcome"], outside["bug"]["holds"]) == ("passed", False)
    assert [b["issue"] for b in payload["known_bugs"]] == [held["bug"]["issue"]]
    assert len(payload["known_bugs"][0]["facts"]) == 3
    assert payload["summary"]["known_bug"] == 1
    assert f"## Known bugs that hold for torch {payload['torch']}" in markdown
    assert "| known bug pytorch/pytorch#98499 |" in md_row(markdown, "test_bug_holds")
    # pytest counts a known bug as passed: the terminal says which bugs held.
    result.stdout.fnmatch_lines(["rnnspec: 1 fact(s) show a known bug *: pytorch/pytorch#98499"])


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
        pytest.param(
            'import pytest\n\n@pytest.mark.fact("doc")\ndef test_x(known_bug):\n    """A claim."""\n',
            "uses the known_bug fixture but its fact mark names no bug=",
            id="known-bug-without-bug",
        ),
        pytest.param(
            'import pytest\n\n@pytest.mark.fact("doc", sine="2.6")\ndef test_x():\n    """A."""\n',
            "has no option sine",
            id="misspelt-option",
        ),
    ],
)
def test_uncited_spec_is_a_collection_error(
    pytester: pytest.Pytester, spec: str, lacks: str
) -> None:
    write_specs(pytester, {"test_a": PASSING, "test_bad": spec})
    result = pytester.runpytest(*PLUGINS)
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection errors stop the run
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR collecting specs/test_bad.py*", f"*test_x*{lacks}*"])


def test_every_uncited_spec_of_a_module_is_named_at_once(pytester: pytest.Pytester) -> None:
    write_specs(
        pytester,
        {
            "test_bad": "class TestGroup:\n    def test_one(self):\n        pass\n\n"
            "    def test_two(self):\n        pass\n"
        },
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
    assert payload["verdict"] == "passed"  # the facts passed; pytest's status says the rest
    assert "pytest exit status 1" in markdown


def test_report_files_exist_only_where_asked(pytester: pytest.Pytester) -> None:
    write_specs(pytester, {"test_a": PASSING})
    result = pytester.runpytest(*PLUGINS)
    assert result.ret == 0
    assert not list(pytester.path.rglob("report.json"))


@pytest.mark.slow
@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_crashing_fact_fails_naming_its_signal_and_the_run_goes_on(
    pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    """Red if a segfault takes the run down, is reported without its signal, or as anything
    but a failed fact; serially and with xdist workers."""
    result, payload, markdown = run_specs_in_subprocess(pytester, {"test_j": CRASHING}, *workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    crashed = fact(payload, "test_crashes")
    assert crashed["outcome"] == "crashed"
    assert crashed["observed"] == f"crashed: SIGSEGV (signal {signal.SIGSEGV.value})"
    fine = fact(payload, "test_forked_and_fine")
    assert fine["outcome"] == "passed"
    assert fine["observations"] == {"same_as_parent": {"value": True, "tolerance": None}}
    after = [f for f in payload["facts"] if "::test_after[" in f["id"]]
    assert [f["outcome"] for f in after] == ["passed"] * 4
    assert "crashed: SIGSEGV" in md_row(markdown, "test_crashes")


@pytest.mark.slow
def test_fact_ids_do_not_depend_on_workers_profile_or_folder(pytester: pytest.Pytester) -> None:
    """Red if xdist's @group suffix (or the profile, or where pytest was started) leaks into the
    ids: then `rnnspec diff` of a serial and a parallel report sees regressions."""
    write_specs(pytester, {"test_k": GROUPED})
    runs = {
        "serial": (),  # PLUGINS: -n 0
        "xdist": ("-n", "2", "--dist", "loadgroup"),
        "deep": ("--profile=deep",),
    }
    ids = {}
    for name, args in runs.items():
        report_dir = pytester.path / f"report-{name}"
        result = pytester.runpytest_subprocess(*PLUGINS, f"--report-dir={report_dir}", *args)
        assert result.ret == 0, name
        ids[name] = [f["id"] for f in read_report(report_dir)[0]["facts"]]
    (pytester.path / "specs" / "sub").mkdir()
    report_dir = pytester.path / "report-subfolder"
    inner = [*PLUGINS, f"--rootdir={pytester.path}", f"--report-dir={report_dir}", ".."]
    started = subprocess.run(
        [sys.executable, "-m", "pytest", *inner], cwd=pytester.path / "specs" / "sub", check=False
    )
    assert started.returncode == 0
    ids["subfolder"] = [f["id"] for f in read_report(report_dir)[0]["facts"]]
    assert ids["serial"] == [
        "specs/test_k.py::test_alone",
        "specs/test_k.py::test_grouped[a]",
        "specs/test_k.py::test_grouped[b]",
    ]
    assert all(found == ids["serial"] for found in ids.values()), ids
    # The same torch, serially and with two workers: `rnnspec diff` sees nothing at all.
    from rnnspec.tool import cli

    serial, parallel = (pytester.path / f"report-{n}" / "report.json" for n in ("serial", "xdist"))
    assert cli.main(["diff", str(serial), str(parallel)]) == 0
    assert cli.main(["diff", "--fail-on-undocumented", str(serial), str(parallel)]) == 0


# A plugin the inner run loads: where the process is the xdist controller, it writes down which
# of torch and hypothesis it imported, as the run ends.
CONTROLLER_PROBE = """
import json, os, sys

def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        imported = {name: name in sys.modules for name in ("torch", "hypothesis", "torchvision")}
        with open(os.environ["RNNSPEC_PROBE_OUT"], "w") as out:
            json.dump(imported, out)
"""

USES_TORCH = '''
import pytest

@pytest.mark.fact("doc-t")
def test_an_lstm_runs():
    """An LSTM runs."""
    import torch

    torch.nn.LSTM(2, 3)(torch.zeros(4, 1, 2))
'''


@pytest.mark.slow
def test_the_controller_imports_neither_torch_nor_hypothesis_and_the_workers_describe_the_machine(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under xdist the controller runs no fact: red if it imports torch, torchvision or
    hypothesis again (about 3 s of CPU at every start), or if the report loses the machine that
    the workers describe (their torch, their threads, their CPU capability)."""
    write_specs(pytester, {"test_t": USES_TORCH})
    (pytester.path / "controller_probe.py").write_text(CONTROLLER_PROBE)
    probe_out = pytester.path / "imported.json"
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    monkeypatch.setenv("RNNSPEC_PROBE_OUT", str(probe_out))
    report_dir = pytester.path / "report"
    args = ("-p", "rnnspec.suite", "-p", "controller_probe", "-n", "2")
    result = pytester.runpytest_subprocess(*PLUGINS, *args, f"--report-dir={report_dir}")
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert json.loads(probe_out.read_text()) == {
        "torch": False,
        "hypothesis": False,
        "torchvision": False,
    }
    import torch

    from rnnspec.suite import threads_per_worker

    payload, _ = read_report(report_dir)
    assert payload["torch"] == torch.__version__
    assert payload["threads"] == threads_per_worker(2)
    assert payload["cpu_capability"]
