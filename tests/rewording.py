"""A pytest plugin that plays a torch release which rewords every recurrent error message and
deprecates something unrelated in the recurrent constructors (tests/test_rewording.py).

Loaded with `-p tests.rewording`, it wraps the entry points the error and warning facts call:
the constructors and `forward` of nn.RNN, nn.LSTM, nn.GRU and their cells, and
`pack_padded_sequence` / `pad_packed_sequence`. An exception raised through them keeps its
type and its traceback, but its message is rewritten: only the information is kept (numbers,
shapes, dtypes, code, quoted values, argument and class names, the string values the module
or the call was given), in reverse order, after `PREFIX`; every other word is dropped. A
warning a constructor raises is reworded the same way (its category stays). Each outermost
construction also warns `UNRELATED`, a FutureWarning about nothing a fact checks.
"""

from __future__ import annotations

import functools
import inspect
import re
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import torch.nn.utils.rnn
from torch import nn

PREFIX = "Reworded by tests/rewording.py:"
UNRELATED = "unrelated deprecation: a future release of torch.nn will change something else"
MODULES = (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell)
BASES = (nn.RNNBase, nn.RNNCellBase)
FUNCTIONS = ("pack_padded_sequence", "pad_packed_sequence")
TYPE_NAMES = {"int", "float", "bool", "str", "tuple", "list", "Tensor"}
# A shape or an interval, "(1, 2, 6)" or "[0, 1]"; a quoted value; or any other run of
# characters.
TOKEN = re.compile(r"[(\[][\d\s,]*[)\]]|'[^']*'|`[^`]*`|\S+")
CODE = re.compile(r"[\d_.()\[\]=]")

_depth = threading.local()


def _parameter_names() -> set[str]:
    """Every argument name of the wrapped constructors, forwards and functions."""
    callables = [cls.__init__ for cls in (*MODULES, *BASES)]
    callables += [cls.forward for cls in MODULES]
    callables += [getattr(torch.nn.utils.rnn, name) for name in FUNCTIONS]
    return {
        name
        for function in callables
        for name in inspect.signature(function).parameters
        if name not in ("self", "args", "kwargs")
    }


NAMES = _parameter_names()


def _strings(values: Iterable[Any]) -> set[str]:
    return {value for value in values if isinstance(value, str)}


def reword(message: str, given: set[str]) -> str:
    """The message's information in reverse order after PREFIX, every other word dropped."""
    kept = []
    for token in TOKEN.findall(message):
        word = token.strip(".,:;!?")
        if word and (
            word[0] in "'`"
            or CODE.search(word)
            or word in NAMES
            or word in TYPE_NAMES
            or word in given
            or sum(c.isupper() for c in word) >= 2
        ):
            kept.append(word)
    return f"{PREFIX} {' ~ '.join(reversed(kept))}"


def _reword_once(error: BaseException, given: set[str]) -> None:
    """Reword `error` in place (its type and traceback stay), once: the innermost wrapper's
    rewording stands."""
    if not getattr(error, "_rnnspec_reworded", False) and error.args:
        error.args = (reword(str(error), given), *error.args[1:])
        error._rnnspec_reworded = True


def _wrap(function: Callable[..., Any], *, constructor: bool) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outermost = constructor and getattr(_depth, "value", 0) == 0
        if outermost:
            warnings.warn(UNRELATED, FutureWarning, stacklevel=2)
        _depth.value = getattr(_depth, "value", 0) + constructor
        try:
            if not constructor:
                return function(*args, **kwargs)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                built = function(*args, **kwargs)
            for w in caught:
                text = str(w.message)
                if not text.startswith(PREFIX):
                    text = reword(text, _strings([*args, *kwargs.values()]))
                warnings.warn_explicit(text, w.category, w.filename, w.lineno)
            return built
        except Exception as error:
            module = args[0] if args and isinstance(args[0], nn.Module) else None
            given = _strings([*args, *kwargs.values()])
            given |= _strings(vars(module).values()) if module is not None else set()
            _reword_once(error, given)
            raise
        finally:
            _depth.value -= constructor

    return wrapper


def pytest_configure(config: pytest.Config) -> None:
    """Wrap the entry points before the facts are imported (they import the functions by
    name)."""
    for cls in (*MODULES, *BASES):
        cls.__init__ = _wrap(cls.__init__, constructor=True)
    for cls in MODULES:
        cls.forward = _wrap(cls.forward, constructor=False)
    for name in FUNCTIONS:
        setattr(
            torch.nn.utils.rnn, name, _wrap(getattr(torch.nn.utils.rnn, name), constructor=False)
        )
