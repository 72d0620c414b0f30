"""Known bugs of eager PyTorch's recurrent utilities that no deployment path is needed for.

Each fact states the promised behaviour and names its ledger entry (rnnspec.ledger):
on the releases the entry lists, the promise is expected to break exactly as the
issue says (outcome "known_bug"); the day it holds there, the fact fails with "fixed
in". A snippet that can kill the interpreter runs in a child process
(`sys.executable`), so a segfault is an observation of this fact, not the end of the run.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import torch
from torch.nn.utils.rnn import unpad_sequence

from rnnspec.ledger import LSTM_CELL_UNBATCHED_INPUT_SEGFAULT, UNPAD_SEQUENCE_TRANSPOSES_INPUT
from rnnspec.sources import DOCS_LSTM_CELL, DOCS_UNPAD_SEQUENCE

# pytorch/pytorch#175978's snippet: a 1-D input (one sample) with a batch of 3 states.
LSTM_CELL_MISMATCH = (
    "import torch\n"
    "torch.nn.LSTMCell(5, 3)(torch.randn(5), (torch.randn(3, 3), torch.randn(3, 3)))\n"
)
CHILD_TIMEOUT_S = 300  # importing torch in a child on a loaded 2-core machine takes seconds


def _how_it_ended(returncode: int) -> str:
    if returncode < 0:
        return f"killed by signal {signal.Signals(-returncode).name} ({-returncode})"
    return f"exit status {returncode}"


@pytest.mark.fact(DOCS_UNPAD_SEQUENCE, bug=UNPAD_SEQUENCE_TRANSPOSES_INPUT)
def test_unpad_sequence_leaves_the_padded_tensor_as_it_was(known_bug) -> None:
    """`nn.utils.rnn.unpad_sequence(padded, lengths, batch_first=False)` returns the unpadded
    sequences and leaves the caller's `padded` tensor (T, B, *) unchanged: its shape and its
    values."""
    padded = torch.arange(6.0).reshape(3, 2)  # (T=3, B=2): columns are the sequences
    before = padded.clone()
    sequences = unpad_sequence(padded, torch.tensor([3, 2]), batch_first=False)
    torch.testing.assert_close(sequences[0], before[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(sequences[1], before[:2, 1], rtol=0, atol=0)
    with known_bug.expected(match=r"shape \(2, 3\)"):
        assert tuple(padded.shape) == (3, 2), (
            f"unpad_sequence changed the caller's tensor: shape (3, 2) came back as shape "
            f"{tuple(padded.shape)}"
        )
        torch.testing.assert_close(padded, before, rtol=0, atol=0)


@pytest.mark.slow  # starts a Python process
@pytest.mark.fact(DOCS_LSTM_CELL, bug=LSTM_CELL_UNBATCHED_INPUT_SEGFAULT)
def test_lstm_cell_refuses_an_unbatched_input_with_a_batched_state(known_bug, observe) -> None:
    """`nn.LSTMCell(5, 3)` called with a 1-D input (5,) and a batched state ((3, 3), (3, 3))
    raises a Python error that names the mismatched state, and the process lives on.

    Run in a child interpreter: on the releases of pytorch/pytorch#175978 this kills the
    process with SIGSEGV; the fact then records the signal and the run goes on.
    """
    child = subprocess.run(
        [sys.executable, "-c", LSTM_CELL_MISMATCH],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    ended = _how_it_ended(child.returncode)
    observe("child", ended)
    with known_bug.expected(match="killed by signal"):
        assert child.returncode == 1, (
            f"the child was {ended}, not a Python error; stderr: {child.stderr[-500:]}"
        )
        last_line = child.stderr.strip().splitlines()[-1]
        observe("error", last_line[:300])
        assert last_line.startswith(("RuntimeError", "ValueError")), last_line
        assert "hidden" in last_line or "hx" in last_line, last_line
