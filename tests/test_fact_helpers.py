"""The tools a fact's verdict rests on: what an error or a warning carries (rnnspec.testing), the
release boundary a body may ask about (the `from_release` fixture of rnnspec.suite), and the
derandomized hypothesis examples of the property facts."""

from __future__ import annotations

import warnings

import pytest
import torch

from rnnspec.modules import LAYERS
from rnnspec.specs.pytorch import test_shapes_and_layout as shapes
from rnnspec.testing import (
    assert_carries,
    missing_from,
    raises_carrying,
    recorded_warnings,
    settings_strategy,
)

pytest_plugins = ["pytester"]


# ------------------------------------------------------------------ what a message carries


@pytest.mark.parametrize(
    ("message", "carried", "missing"),
    [
        pytest.param("Expected 4, got 5", (4, 5), [], id="numbers"),
        pytest.param("Expected 14, got 45", (4, 5), [4, 5], id="not-inside-a-number"),
        pytest.param("torch.float64 != float32 at 2.5", (64, 2, 6), [64, 2, 6], id="not-in-a-name"),
        pytest.param("got 1D, expected 2-D or 3D", (1, 2, 3), [], id="ranks"),
        pytest.param(
            "got [1, 3, 6], torch.Size([1, 2, 6])", ((1, 3, 6), (1, 2, 6)), [], id="shapes"
        ),
        pytest.param("got (1, 6, 3)", ((1, 3, 6),), [(1, 3, 6)], id="shape-in-order"),
        pytest.param(
            "input torch.float64, weights float32", (torch.float64, torch.float32), [], id="dtypes"
        ),
        pytest.param("`input_size` must be > 0", ("input_size",), [], id="name"),
        pytest.param("input_sizes: 3", ("input_size",), [], id="plural"),
        pytest.param("the inputs", ("input_size",), ["input_size"], id="absent"),
        pytest.param("my_input_size_x", ("input_size",), ["input_size"], id="not-part-of-a-name"),
        pytest.param("call input.to(torch.float32)", (".to(",), [], id="code"),
    ],
)
def test_missing_from_names_what_a_message_does_not_carry(message, carried, missing):
    """Numbers stand alone (not inside another number or a name), shapes keep their order, dtypes
    go by their name, names are whole identifiers (a plural counts)."""
    assert missing_from(message, carried) == missing


def test_raises_carrying_passes_any_wording_that_carries_the_information():
    recorded = {}
    with raises_carrying(ValueError, "hidden_size", 0, observe=recorded.__setitem__) as raised:
        raise ValueError("Reworded: 0 ~ hidden_size")
    assert raised.message == "Reworded: 0 ~ hidden_size"
    assert recorded == {"message": "Reworded: 0 ~ hidden_size"}


def test_raises_carrying_fails_naming_what_the_message_lacks():
    message = "hidden_size must be greater than zero"
    with (
        pytest.raises(AssertionError, match=r"does not carry num_layers"),
        raises_carrying(ValueError, "hidden_size", "num_layers"),
    ):
        raise ValueError(message)


def test_raises_carrying_fails_when_nothing_is_raised_and_passes_other_errors_on():
    with (
        pytest.raises(AssertionError, match=r"no ValueError or TypeError was raised"),
        raises_carrying((ValueError, TypeError)),
    ):
        pass
    with pytest.raises(KeyError), raises_carrying(ValueError):
        raise KeyError("not the expected type")


def test_assert_carries_says_which_type_it_got():
    """Inside `known_bug.expected()` the wrong type is the bug showing: an AssertionError."""
    with pytest.raises(AssertionError, match=r"^RuntimeError, not ValueError"):
        assert_carries(RuntimeError("mat1 and mat2"), ValueError, torch.float64)


def warn_two() -> None:
    warnings.warn("unrelated deprecation", FutureWarning, stacklevel=2)
    warnings.warn("dropout expects num_layers greater than 1", UserWarning, stacklevel=2)


def test_recorded_warnings_finds_the_warning_meant_among_others_and_passes_all_on():
    with warnings.catch_warnings(record=True) as outer:
        warnings.simplefilter("always")
        with recorded_warnings() as warned:
            warn_two()
    about = warned.about(UserWarning, "dropout", "num_layers")
    assert [str(w.message) for w in about] == ["dropout expects num_layers greater than 1"]
    assert warned.about(UserWarning, "dropout", "batch_first") == []
    assert warned.about((DeprecationWarning, FutureWarning), "dropout") == []
    assert [w.category for w in outer] == [FutureWarning, UserWarning]  # passed on, in order


# ------------------------------------------------------------- the boundary a body reads

BOUNDARY_SPECS = '''
import pytest
from rnnspec.releases import torch_at_least


@pytest.mark.fact("doc", since=("2.1", "2.11"))
def test_declared(from_release):
    """Reads both declared boundaries."""
    assert from_release("2.1") == torch_at_least("2.1")
    assert from_release("2.11") == torch_at_least("2.11")


@pytest.mark.fact("doc", since="2.1")
def test_undeclared(from_release):
    """Asks about a boundary its mark does not declare."""
    from_release("2.2")


@pytest.mark.fact("doc")
def test_without_since(from_release):
    """Uses the fixture without since=."""
'''


def test_from_release_reads_the_declared_boundaries_and_refuses_any_other(pytester):
    """A body may ask only about the boundaries its fact mark declares in since=; another one, or
    the fixture in a fact without since=, is an UndeclaredBoundaryError that says so."""
    pytester.makeini("[pytest]\n")
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "test_boundaries.py").write_text(BOUNDARY_SPECS)
    result = pytester.runpytest(
        "-p", "rnnspec.plugin", "-p", "rnnspec.suite", "-p", "no:cacheprovider", "-n", "0"
    )
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*UndeclaredBoundaryError*test_without_since uses from_release but its fact mark "
            "declares no since=*",
            "*UndeclaredBoundaryError*from_release('2.2') asks about a boundary its fact mark "
            "does not declare (since=2.1)*",
        ]
    )


# ------------------------------------------------------------------- the property facts


def test_the_loaded_hypothesis_profile_is_derandomized(pytestconfig):
    """rnnspec.suite loads a profile with derandomize=True (and so no example database)."""
    from hypothesis import settings

    assert settings.default.derandomize is True
    assert settings.default.database is None
    assert pytestconfig.getoption("--profile") in ("default", "deep")


def test_the_shape_property_fact_draws_the_same_examples_every_run(monkeypatch):
    """Two runs of the shape property fact draw the same settings: the loaded profile's
    derandomize is not overridden by the test itself."""
    drawn: list = []

    def recording(info, **fixed):
        return settings_strategy(info, **fixed).map(lambda s: drawn.append(s) or s)

    monkeypatch.setattr(shapes, "settings_strategy", recording)
    runs = []
    for _ in range(2):
        drawn.clear()
        with torch.random.fork_rng():
            shapes.test_output_and_state_shapes_are_as_documented(info=LAYERS[1])
        runs.append(list(drawn))
    assert runs[0], "no example was drawn"
    assert runs[0] == runs[1]


def test_the_lstm_training_is_dispatched_first_and_the_quick_facts_last() -> None:
    """rnnspec.suite.dispatch_rank: red if the float32 LSTM's group (the run's critical path) no
    longer goes out first, or a quick fact goes out before a training or a slow test."""
    from types import SimpleNamespace

    from rnnspec.suite import dispatch_rank

    def item(group: str | None = None, slow: bool = False) -> SimpleNamespace:
        marker = pytest.mark.xdist_group(group).mark if group else None
        return SimpleNamespace(
            get_closest_marker=lambda name: marker if name == "xdist_group" else None,
            keywords={"slow": True} if slow else {},
        )

    queue = {
        "quick fact": item(),
        "slow test": item(slow=True),
        "other group": item("fact-index"),
        "character RNNs": item("char-rnn"),
        "seed 000": item("mnist-rnn"),
        "bf16": item("mnist-lstm-bf16"),
        "fp32 LSTM": item("mnist-lstm"),
    }
    order = sorted(queue, key=lambda name: dispatch_rank(queue[name]))
    assert order[:4] == ["fp32 LSTM", "bf16", "seed 000", "character RNNs"]
    assert order[-1] == "quick fact"


def test_a_snippet_in_a_forked_child_ends_as_python_c_would_and_the_run_goes_on() -> None:
    """rnnspec.testing.run_in_child: a Python error is exit status 1 with the traceback's last
    line, a crash is the signal, a hang past the deadline is killed, and none of them reaches
    the calling process (red if a child's signal or exit took the test down, or a crash read
    as a Python error)."""
    import signal

    from rnnspec.testing import run_in_child

    assert run_in_child("x = 1").returncode == 0
    failed = run_in_child("raise ValueError('the state has 5 dimensions')")
    assert (failed.returncode, failed.last_line) == (1, "ValueError: the state has 5 dimensions")
    crashed = run_in_child("import os\nos.kill(os.getpid(), 11)")
    assert crashed.ended == f"killed by signal SIGSEGV ({int(signal.SIGSEGV)})"
    hung = run_in_child("import time\ntime.sleep(60)", timeout=0.5)
    assert hung.returncode == -signal.SIGKILL
