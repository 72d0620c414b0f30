"""Helpers the specs share: results as flat tuples, one layer of a stack, a CUDA copy, comparisons.

The shapes and states themselves come from the table (rnnspec.modules); the
documented equations from rnnspec.reference.
"""

from __future__ import annotations

import copy
import faulthandler
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import torch
from torch import Tensor, nn

from rnnspec.modules import ModuleInfo, Settings, record_of, settings_of

Result = tuple[Tensor, Any]  # (output, h_n) or (output, (h_n, c_n))


def final_states(state: Tensor | Sequence[Tensor]) -> tuple[Tensor, ...]:
    """A returned state as a tuple: (h_n,) for RNN and GRU, (h_n, c_n) for LSTM."""
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def flatten(result: Result) -> tuple[Tensor, ...]:
    """(output, h_n) or (output, (h_n, c_n)) as the flat tuple (output, h_n[, c_n])."""
    output, state = result
    return (output, *final_states(state))


def results(value: object) -> tuple[Tensor, ...]:
    """Every tensor a module returned, flat and in order: (output, h_n[, c_n]) for a recurrent
    layer, a packed output as its (data, batch_sizes) (TorchScript returns its own
    PackedSequence named tuple), (scores,) for a classifier."""
    if isinstance(value, Tensor):
        return (value,)
    if hasattr(value, "data") and hasattr(value, "batch_sizes"):  # any PackedSequence
        return (value.data, value.batch_sizes)
    return tuple(t for item in value if item is not None for t in results(item))


def assert_results_close(
    got: Result, expected: Result, what: str = "", **tolerances: float | None
) -> float:
    """assert_close on output and every final state, naming the one that differs; returns the
    largest absolute difference found (for `observe`)."""
    __tracebackhide__ = True
    names = ("output", "h_n", "c_n")
    largest = 0.0
    for name, a, b in zip(names, flatten(got), flatten(expected), strict=False):
        torch.testing.assert_close(a, b, msg=lambda m, n=name: f"{what} {n}: {m}", **tolerances)
        if a.numel():
            largest = max(largest, (a.double() - b.double()).abs().max().item())
    if len(flatten(got)) != len(flatten(expected)):
        raise AssertionError(
            f"{what}: {len(flatten(got))} results, expected {len(flatten(expected))}"
        )
    return largest


def cuda_copy(module: nn.Module) -> nn.Module:
    """A copy of `module` on the current CUDA device: same weights, same train/eval mode, so a
    spec can hold cuDNN's result against the CPU module's."""
    return copy.deepcopy(module).cuda()


def to_device(state: Any, device: torch.device | str) -> Any:
    """A state (tensor or tuple of tensors) moved to `device`."""
    if isinstance(state, tuple):
        return tuple(s.to(device) for s in state)
    return state.to(device)


def layer_as_module(module: nn.RNNBase, layer: int) -> nn.RNNBase:
    """A one-layer module of the same kind holding `layer`'s weights as its layer 0.

    Its input size is what that layer reads (the module's input for layer 0, the
    previous layer's D * H_out features after it); sizes, bias, nonlinearity,
    projection, direction, dtype and device follow the module; there is no
    dropout, and the layout is sequence-first.
    """
    settings = settings_of(module)
    reads = settings.input_size if layer == 0 else settings.directions * settings.h_out
    single_settings = replace(settings, num_layers=1, input_size=reads, batch_first=False)
    parameter = next(module.parameters())
    single = record_of(module).build(
        single_settings, dtype=parameter.dtype, device=parameter.device
    )
    single.load_state_dict(
        {
            name.replace(f"_l{layer}", "_l0"): tensor
            for name, tensor in module.state_dict().items()
            if name.endswith((f"_l{layer}", f"_l{layer}_reverse"))
        }
    )
    return single


def settings_strategy(info: ModuleInfo, **fixed: Any) -> Any:
    """A hypothesis strategy of small Settings for `info` (a layer of the table): sizes, layers,
    direction, layout (batch None is unbatched), bias, and a proj_size below hidden_size where
    the entry projects. The Settings fields in `fixed` are not drawn; `batched=True` or
    `batched=False` fixes only whether there is a batch axis. Sizes stay small so an example
    takes milliseconds."""
    from hypothesis import strategies as st

    batched = fixed.pop("batched", None)
    batches = {None: st.none() | st.integers(1, 3), True: st.integers(1, 3), False: st.none()}

    @st.composite
    def draw_settings(draw: st.DrawFn) -> Settings:
        projects = "proj_size" in info.options
        hidden_size = draw(st.integers(2 if projects else 1, 6))
        drawn: dict[str, Any] = {
            "input_size": draw(st.integers(1, 5)),
            "hidden_size": hidden_size,
            "num_layers": draw(st.integers(1, 3)),
            "bidirectional": draw(st.booleans()),
            "batch_first": draw(st.booleans()),
            "bias": draw(st.booleans()),
            "seq_len": draw(st.integers(1, 7)),
            "batch": draw(batches[batched]),
        }
        if projects:
            drawn["proj_size"] = draw(st.integers(1, hidden_size - 1))
        return info.settings(**{**drawn, **fixed})

    return draw_settings()


def error_raised_by(
    call: Callable[[], Any],
    expected: type[BaseException] | tuple[type[BaseException], ...],
    what: str | Callable[[Any], str],
) -> BaseException:
    """The `expected` error that `call()` raises; an AssertionError naming `what` came back
    when it raises nothing.

    For promises inside `known_bug.expected()`, which counts an AssertionError as the bug
    showing: `pytest.raises` fails with its own exception type, and would not count. `what`
    receives the value `call()` returned, e.g. `lambda out: f"an output {out[0].shape}"`.
    """
    try:
        returned = call()
    except expected as error:
        return error
    raise AssertionError(f"{what(returned) if callable(what) else what} came back, no error")


# A child that neither crashes nor finishes in two minutes is stuck (a snippet takes well
# under a second).
CHILD_TIMEOUT_S = 120


@dataclass(frozen=True)
class ChildRun:
    """How a snippet run in a child process ended: its exit status and its output."""

    returncode: int
    stderr: str

    @property
    def ended(self) -> str:
        """ "exit status N" or "killed by signal SIGSEGV (11)"."""
        if self.returncode < 0:
            return f"killed by signal {signal.Signals(-self.returncode).name} ({-self.returncode})"
        return f"exit status {self.returncode}"

    @property
    def last_line(self) -> str:
        """The last line the child wrote to stderr: a traceback's exception line."""
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def _run_forked_child(code: str, stderr_fd: int) -> NoReturn:
    """In the forked child: run `code` the way `python -c` would, then leave without
    running the parent's exit handlers (pytest's, xdist's)."""
    status = 0
    try:
        os.dup2(stderr_fd, 2)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        # The parent's handlers write into its own logs (faulthandler: the worker's crash log
        # that rnnspec.guard reads) or end its run (SIGTERM, pytest-timeout's SIGALRM): a
        # signal here must end this child only, as it ends a fresh interpreter.
        faulthandler.disable()
        for number in (
            signal.SIGSEGV,
            signal.SIGABRT,
            signal.SIGBUS,
            signal.SIGFPE,
            signal.SIGILL,
            signal.SIGTERM,
            signal.SIGALRM,
            signal.SIGINT,
        ):
            signal.signal(number, signal.SIG_DFL)
        # GNU OpenMP's pool does not survive fork(): one thread (rnnspec.plugin explains).
        torch.set_num_threads(1)
        torch.manual_seed(0)
        exec(compile(code, "<child>", "exec"), {"__name__": "__main__"})
    except BaseException:  # every error, reported as `python -c` reports it
        os.write(2, traceback.format_exc().encode(errors="replace"))
        status = 1
    os._exit(status)


def run_in_child(code: str, timeout: float = CHILD_TIMEOUT_S) -> ChildRun:
    """Run `code` in a forked child process, so that a crash it causes is an observation of the
    fact, not the end of the run; its exit status (a signal as -N) and stderr come back.

    A fork, not a fresh interpreter: the child has torch imported already, which saves the
    second or more that `python -c "import torch"` costs per snippet. It runs on one thread,
    with the default signal handlers, and from torch's seed 0.
    """
    with tempfile.TemporaryFile() as stderr:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            _run_forked_child(code, stderr.fileno())
        deadline = time.monotonic() + timeout
        while (waited := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                waited = os.waitpid(pid, 0)
                break
            time.sleep(0.005)
        stderr.seek(0)
        text = stderr.read().decode(errors="replace")
    return ChildRun(os.waitstatus_to_exitcode(waited[1]), text)


def assert_child_raised(
    child: ChildRun, types: tuple[str, ...], mentions: Callable[[str], bool], what: str
) -> None:
    """The child ended with a Python error of one of `types` (exit status 1, the traceback's
    last line naming the type) whose message satisfies `mentions`; an AssertionError that
    says how it ended otherwise (inside `known_bug.expected()`, the bug showing)."""
    __tracebackhide__ = True
    assert child.returncode == 1, (
        f"{what}: the child was {child.ended}, not a Python error; stderr: {child.stderr[-300:]}"
    )
    assert child.last_line.startswith(types), (
        f"{what}: the child raised {child.last_line[:300]!r}, not one of {', '.join(types)}"
    )
    assert mentions(child.last_line), f"{what}: the error does not say what: {child.last_line!r}"


@dataclass
class ReferenceOutputs:
    """A module's outputs and gradients on fixed inputs, held against the values recorded on
    the release a team trusts (pytest-regressions' `ndarrays_regression`, one .npz per fact
    beside the test module). Record with `rnnspec check --specs DIR -- --regen-all` on that
    release; every later run compares within the stated tolerances, and a fact that moves
    beyond them fails and names the arrays that moved."""

    regression: Any  # pytest_regressions' NDArraysRegressionFixture

    def check(
        self,
        module: nn.Module,
        *inputs: Any,
        rtol: float,
        atol: float,
        gradients: bool = True,
    ) -> dict[str, Any]:
        """Compare `module(*inputs)`'s tensors (and, with `gradients`, those of the sum of its
        outputs with respect to each parameter) with the recorded ones; return what it held."""
        module.zero_grad(set_to_none=True)
        outputs = [t for t in results(module(*inputs)) if t.is_floating_point()]
        arrays = {f"output_{i}": t.detach().double().cpu().numpy() for i, t in enumerate(outputs)}
        if gradients:
            sum(t.sum() for t in outputs).backward()
            for name, parameter in module.named_parameters():
                if parameter.grad is not None:
                    arrays[f"grad_{name}"] = parameter.grad.double().cpu().numpy()
        self.regression.check(arrays, default_tolerance={"rtol": rtol, "atol": atol})
        return arrays
