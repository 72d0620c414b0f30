"""Helpers the specs share: results as flat tuples, one layer of a stack, a CUDA copy, comparisons,
and what an error or a warning must carry.

The shapes and states themselves come from the table (rnnspec.modules); the
documented equations from rnnspec.reference.

PyTorch promises what an error or a warning is about, never its words: an error fact's
verdict is the exception type and the information its message carries (`raises_carrying`:
sizes, shapes, dtypes, argument names), a warning fact's the category and what the warning
is about (`warnings_about`). The words themselves are an observation (`observe`), so that
`rnnspec diff` reports a rewording as an undocumented change, never as a failure.
"""

from __future__ import annotations

import contextlib
import copy
import faulthandler
import os
import re
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
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


def seed_cpu(seed: int) -> None:
    """Seed torch's CPU generator only, for inputs and weights built on the CPU.

    `torch.manual_seed` also queues a lazy seeding call for CUDA, XPU and MTIA, each recording
    a stack trace (about 2 ms a call here): per hypothesis example that was a tenth of the
    property facts' time. The suite's autouse `_isolated_rng` restores every generator after
    each test.
    """
    torch.default_generator.manual_seed(seed)


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


# ----------------------------------------------------------- what an error or a warning carries

# What a message must carry: an int (a size or a rank, as a number of its own: 5, not the 5 of
# "float64" or "15"), a tuple of ints (a shape, its numbers in order: "(1, 2, 6)", "[1, 2, 6]",
# "torch.Size([1, 2, 6])"), a torch.dtype (its name, "float64"), or a str (a name: an argument,
# a class, a type, "input_size", "LSTM", "float"; not part of a longer name, though a plural
# counts: "LSTMs" names LSTM).
Carried = int | tuple[int, ...] | torch.dtype | str


def _pattern(item: Carried) -> str:
    if isinstance(item, bool) or not isinstance(item, int | tuple | torch.dtype | str):
        raise TypeError(f"carries: {item!r} is not an int, a shape, a dtype or a name")
    if isinstance(item, int):
        return rf"(?<![\w.]){item}(?!\d|\.\d)"
    if isinstance(item, tuple):
        numbers = r"\s*,\s*".join(str(int(n)) for n in item)
        return rf"(?<![\w.]){numbers}(?!\d|\.\d)"
    name = str(item).removeprefix("torch.") if isinstance(item, torch.dtype) else item
    before = r"(?<!\w)" if re.match(r"\w", name) else ""
    after = r"s?(?!\w)" if re.search(r"\w$", name) else ""
    return before + re.escape(name) + after


def missing_from(message: str, carried: Sequence[Carried]) -> list[Carried]:
    """The items of `carried` that `message` does not carry."""
    return [item for item in carried if re.search(_pattern(item), message) is None]


def _names(expected: type[BaseException] | tuple[type[BaseException], ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(t.__name__ for t in types)


def assert_carries(
    error: BaseException,
    expected: type[BaseException] | tuple[type[BaseException], ...],
    *carried: Carried,
) -> str:
    """`error` is an `expected` whose message carries every item of `carried`; returns the
    message. An AssertionError otherwise (inside `known_bug.expected()`, the bug showing), which
    says "<type>, not <expected>" or "does not carry <item>"."""
    __tracebackhide__ = True
    message = str(error)
    if not isinstance(error, expected):
        raise AssertionError(f"{type(error).__name__}, not {_names(expected)}: {message[:500]!r}")
    missing = missing_from(message, carried)
    if missing:
        raise AssertionError(
            f"{type(error).__name__} {message[:500]!r} does not carry "
            + ", ".join(str(item) for item in missing)
        )
    return message


@dataclass
class Raised:
    """What `raises_carrying` caught: the error (`value`) and its message (`message`)."""

    value: BaseException | None = None

    @property
    def message(self) -> str:
        return "" if self.value is None else str(self.value)


@contextlib.contextmanager
def raises_carrying(
    expected: type[BaseException] | tuple[type[BaseException], ...],
    *carried: Carried,
    observe: Callable[..., None] | None = None,
    name: str = "message",
) -> Iterator[Raised]:
    """The block must raise `expected` with a message that carries every item of `carried`;
    with `observe` (the fixture), the message is recorded as the observation `name`.

    The verdict is the type and the information, never the words: a release that rewords the
    message passes, and `rnnspec diff` shows the new words as an undocumented change. An error
    of another type propagates, as from `pytest.raises`; no error at all is an AssertionError.
    """
    __tracebackhide__ = True
    raised = Raised()
    try:
        yield raised
    except expected as error:
        raised.value = error
    else:
        raise AssertionError(f"no {_names(expected)} was raised")
    message = assert_carries(raised.value, expected, *carried)
    if observe is not None:
        observe(name, message)


@dataclass
class Warned:
    """The warnings `recorded_warnings` caught, every one of them, in order."""

    caught: list[warnings.WarningMessage] = field(default_factory=list)

    def about(
        self, category: type[Warning] | tuple[type[Warning], ...], *carried: Carried
    ) -> list[warnings.WarningMessage]:
        """The warnings of `category` (a subclass, or one of a tuple) that carry every item of
        `carried`: the warnings a fact means, whatever else was raised beside them (every
        warning is in the report anyway, rnnspec's warning capture)."""
        return [w for w in self.caught if self._means(w, category, carried)]

    @staticmethod
    def _means(
        w: warnings.WarningMessage,
        category: type[Warning] | tuple[type[Warning], ...],
        carried: Sequence[Carried],
    ) -> bool:
        return issubclass(w.category, category) and not missing_from(str(w.message), carried)


@contextlib.contextmanager
def recorded_warnings() -> Iterator[Warned]:
    """Record every warning the block raises (each one, even a repeat), for `Warned.about`.

    The warnings are passed on when the block ends, so the report still lists them (rnnspec's
    warning capture), and pytest's own filters still apply.
    """
    warned = Warned()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield warned
        finally:
            warned.caught = list(caught)
    for w in warned.caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
