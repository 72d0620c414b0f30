"""The error and warning facts hold on a release that rewords every recurrent error message (and
the constructors' warnings) and adds an unrelated deprecation warning to the recurrent
constructors (tests/rewording.py).

A fact's verdict is the exception type and the information its message carries, or the
warning's category and subject; the words are observations. So such a release leaves every
fact green, and the report carries the new words, where `rnnspec diff` shows them as
undocumented changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rewording import PREFIX, UNRELATED, reword

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "rnnspec" / "specs"
# The facts that check an error of a recurrent module, a cell or the packing functions, or a
# warning of a recurrent constructor or call.
FACTS = [
    "pytorch/test_errors.py",
    "pytorch/test_packed_sequences.py",
    "pytorch/test_dropout.py",
    "seeds/test_000_relu_rnn_on_mnist.py::test_initial_state_of_a_batch_of_100_is_1_100_100",
    "seeds/test_001_char_rnn_if_you_want_you.py::test_char_rnn_is_nn_rnn_10_10_batch_first",
    "seeds/test_003_rnn_and_lstm_parameters_and_shapes.py::test_input_size_is_the_number_of_features",
]
GREEN = {"passed", "skipped", "known_bug"}


def test_reword_keeps_the_information_and_drops_the_words():
    """The plugin's rewording keeps numbers, shapes, dtypes, code, quoted values and names, in
    reverse order, and drops every other word: no phrase of the original survives."""
    message = "input.size(-1) must be equal to input_size. Expected 4, got 5"
    assert reword(message, set()) == f"{PREFIX} 5 ~ 4 ~ input_size ~ input.size(-1)"
    shapes = "Expected hidden[1] size (1, 2, 6), got [1, 2, 7]"
    assert reword(shapes, set()) == f"{PREFIX} [1, 2, 7] ~ (1, 2, 6) ~ hidden[1]"
    assert reword("Unknown nonlinearity: sigmoid", {"sigmoid"}).endswith("sigmoid ~ nonlinearity")


@pytest.fixture(scope="module")
def reworded_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`rnnspec check` of the error and warning facts under tests/rewording.py: its report."""
    report_dir = tmp_path_factory.mktemp("reworded")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable,
        "-m",
        "rnnspec",
        "check",
        f"--report-dir={report_dir}",
        "-n",
        "0",
        "-p",
        "tests.rewording",
        "-m",
        "not slow",
        *(str(SPECS / fact) for fact in FACTS),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    report = report_dir / "report.json"
    assert report.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return {
        "status": done.returncode,
        "output": done.stdout[-3000:],
        **json.loads(report.read_text()),
    }


@pytest.mark.slow
def test_every_error_and_warning_fact_stays_green_under_reworded_messages(reworded_report):
    """Every fact passes (or shows exactly the known bug the ledger expects here) although each
    message is reworded and each constructor warns about something unrelated."""
    rows = reworded_report["facts"]
    assert len(rows) > 100, f"only {len(rows)} facts ran"
    wrong = {
        row["id"]: f"{row['outcome']}: {row['observed']}"
        for row in rows
        if row["outcome"] not in GREEN
        or (row["outcome"] == "known_bug") != bool(row["bug"] and row["bug"]["holds"])
    }
    assert wrong == {}
    assert reworded_report["status"] == 0, reworded_report["output"]
    assert reworded_report["verdict"] == "passed"


@pytest.mark.slow
def test_the_report_carries_the_reworded_messages_as_observations(reworded_report):
    """Every error or warning message a fact observed is the reworded one, so the new words reach
    the report (and `rnnspec diff`) as observations; and the unrelated warning is in the report
    too."""
    messages = {
        (row["id"], name): observation["value"]
        for row in reworded_report["facts"]
        for name, observation in row["observations"].items()
        if name.startswith(("message", "warning"))
    }
    assert len(messages) > 50
    assert any(name == "warning" for _, name in messages), "no warning fact observed its warning"
    assert {key: value for key, value in messages.items() if not value.startswith(PREFIX)} == {}
    warned = [
        row["id"]
        for row in reworded_report["facts"]
        if any(
            w["message"] == UNRELATED and w["category"] == "FutureWarning" for w in row["warnings"]
        )
    ]
    assert any("test_two_layers_with_dropout_do_not_warn" in fact for fact in warned), warned
