"""The documents rnnspec cites, one `Source` record each: the five seed notes, PyTorch's
documentation, and the upstream issues and pull requests.

Every source is recorded once, in `REGISTRY`, with its kind and its title; the module-level
names the specs and the ledger import are its URL (or a seed's file name) as a plain string.
A GitHub thread's kind follows its URL (`/issues/N` an issue, `/pull/N` a pull request) and its
title is the thread's exact title as read upstream (the issue 16 sweep of the cited threads);
where no copy of the thread was read the title says so (`TITLE_NOT_SEEN`), never a guess. A
documentation page's title is the qualified name it documents for a generated API page
("torch.nn.LSTM", the page's file name) and the page's heading for the others, where it was
read (`HEADING_NOT_READ` where not).
tests/test_sources.py holds every URL cited in the specs, the package, README.md and
docs/facts.md to this registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnspec.schema import GITHUB_THREAD, issue_number

ISSUE = "issue"
PULL_REQUEST = "pull request"
DOCUMENTATION = "documentation page"
RELEASE_NOTE = "release note"
SEED = "seed"
KINDS = (ISSUE, PULL_REQUEST, DOCUMENTATION, RELEASE_NOTE, SEED)

# The title of a thread no copy of which was read (known from the threads that name it).
TITLE_NOT_SEEN = "(title not seen)"
# The title of a documentation page whose heading was not read.
HEADING_NOT_READ = "(heading not read)"


@dataclass(frozen=True)
class Source:
    """One cited document: where it is, what kind of document it is, and its title."""

    url: str  # a URL, or a seed document's file name
    kind: str  # one of KINDS
    title: str  # the exact upstream title (a thread), heading (a page) or subject (a seed)

    @property
    def reference(self) -> str:
        """owner/repo#N for a GitHub thread; the URL itself otherwise."""
        return issue_number(self.url)


REGISTRY: dict[str, Source] = {}


def _cite(url: str, kind: str, title: str) -> str:
    """Record a source once and return its URL, the name the specs import."""
    if url in REGISTRY:
        raise ValueError(f"{url} is recorded twice in rnnspec.sources")
    REGISTRY[url] = Source(url, kind, title)
    return url


def _api_page(site: str, name: str) -> str:
    """Record a generated API page of `site`, titled by the qualified name it documents."""
    return _cite(f"{site}/generated/{name}.html", DOCUMENTATION, name)


def github_kind(url: str) -> str | None:
    """The kind a GitHub URL names: ISSUE for /issues/N, PULL_REQUEST for /pull/N, else None."""
    match = GITHUB_THREAD.match(url)
    if match is None:
        return None
    return PULL_REQUEST if match.group(3) == "pull" else ISSUE


def source(url: str) -> Source:
    """The record of a cited URL (or seed file name); KeyError names what is missing."""
    try:
        return REGISTRY[url]
    except KeyError:
        raise KeyError(
            f"{url} is not recorded in rnnspec.sources (add it with its kind and title)"
        ) from None


# ----------------------------------------------------------------- the seed documents

SEED_000 = _cite(
    "000_fb4a1237d44f2e01.txt",  # DL Wizard RNN on MNIST, Korean notes (ReLU RNN classifier)
    SEED,
    "DL Wizard's many-to-one ReLU RNN reads MNIST as 28 rows (Korean notes)",
)
SEED_001 = _cite(
    "001_e5f0500a70a97343.txt",  # 모두를 위한 딥러닝 2 Lab 11: character RNN "if you want you"
    SEED,
    '모두를 위한 딥러닝 2, Lab 11: a character RNN learns "if you want you"',
)
SEED_002 = _cite(
    "002_697fcf824471d8a8.txt",  # LSTM classifier on MNIST, Korean notes (xdim/hdim/ydim)
    SEED,
    "An LSTM classifier over MNIST rows: xdim, hdim, ydim and what nn.LSTM returns (Korean notes)",
)
SEED_003 = _cite(
    "003_cfbfe3c3d6751891.txt",  # nn.RNN / nn.LSTM parameters and shapes, Korean notes
    SEED,
    "nn.RNN and nn.LSTM: parameters, input and output shapes, one or three layers (Korean notes)",
)
SEED_004 = _cite(
    "004_57c8edae8e30b84a.txt",  # yunjey's LSTM on MNIST, Chinese notes (97.47%)
    SEED,
    "yunjey's LSTM reads MNIST row by row and reaches 97.47% after two epochs (Chinese notes)",
)

# ----------------------------------------------------------------- PyTorch's documentation

_DOCS = "https://docs.pytorch.org/docs/stable"
_VISION = "https://docs.pytorch.org/vision/stable"
DOCS_RNN = _api_page(_DOCS, "torch.nn.RNN")
DOCS_LSTM = _api_page(_DOCS, "torch.nn.LSTM")
DOCS_GRU = _api_page(_DOCS, "torch.nn.GRU")
DOCS_RNN_CELL = _api_page(_DOCS, "torch.nn.RNNCell")
DOCS_LSTM_CELL = _api_page(_DOCS, "torch.nn.LSTMCell")
DOCS_GRU_CELL = _api_page(_DOCS, "torch.nn.GRUCell")
DOCS_DROPOUT = _api_page(_DOCS, "torch.nn.Dropout")
DOCS_PACK = _api_page(_DOCS, "torch.nn.utils.rnn.pack_padded_sequence")
DOCS_PAD_PACKED = _api_page(_DOCS, "torch.nn.utils.rnn.pad_packed_sequence")
DOCS_UNPAD_SEQUENCE = _api_page(_DOCS, "torch.nn.utils.rnn.unpad_sequence")
DOCS_LOAD = _api_page(_DOCS, "torch.load")
DOCS_SAVE_LOAD = _cite(
    f"{_DOCS}/notes/serialization.html", DOCUMENTATION, "Serialization semantics"
)
DOCS_AUTOCAST = _cite(
    f"{_DOCS}/amp.html", DOCUMENTATION, "Automatic Mixed Precision package - torch.amp"
)
DOCS_AUTOGRAD = _cite(f"{_DOCS}/autograd.html", DOCUMENTATION, HEADING_NOT_READ)
DOCS_VMAP = _api_page(_DOCS, "torch.func.vmap")
DOCS_PARAMETRIZE = _api_page(_DOCS, "torch.nn.utils.parametrize.register_parametrization")
DOCS_RANDOMNESS = _cite(f"{_DOCS}/notes/randomness.html", DOCUMENTATION, "Reproducibility")
DOCS_CROSS_ENTROPY = _api_page(_DOCS, "torch.nn.CrossEntropyLoss")
DOCS_ZERO_GRAD = _api_page(_DOCS, "torch.optim.Optimizer.zero_grad")
DOCS_CUDA_SET_DEVICE = _api_page(_DOCS, "torch.cuda.set_device")
DOCS_MNIST = _api_page(_VISION, "torchvision.datasets.MNIST")
DOCS_TO_TENSOR = _api_page(_VISION, "torchvision.transforms.ToTensor")
# Deployment paths (engineer C): the documentation of each path.
DOCS_COMPILE = _api_page(_DOCS, "torch.compile")
DOCS_COMPILER_TROUBLESHOOTING = _cite(
    f"{_DOCS}/torch.compiler_troubleshooting.html", DOCUMENTATION, HEADING_NOT_READ
)
DOCS_EXPORT = _cite(f"{_DOCS}/export.html", DOCUMENTATION, HEADING_NOT_READ)
DOCS_ONNX = _cite(f"{_DOCS}/onnx.html", DOCUMENTATION, "torch.onnx")
DOCS_ONNX_EXPORT = _cite(f"{_DOCS}/onnx_export.html", DOCUMENTATION, HEADING_NOT_READ)
DOCS_QUANTIZATION = _cite(f"{_DOCS}/quantization.html", DOCUMENTATION, HEADING_NOT_READ)
DOCS_QUANTIZE_DYNAMIC = _api_page(_DOCS, "torch.ao.quantization.quantize_dynamic")
DOCS_JIT = _cite(f"{_DOCS}/jit.html", DOCUMENTATION, HEADING_NOT_READ)
DOCS_JIT_SCRIPT = _api_page(_DOCS, "torch.jit.script")
DOCS_JIT_TRACE = _api_page(_DOCS, "torch.jit.trace")

# ----------------------------------------------------------------- upstream threads
# Titles as the issue 16 sweep read them (its Part A table); states change upstream and are
# kept with the ledger's records (rnnspec.ledger), not here.

_PYTORCH = "https://github.com/pytorch/pytorch"

# Release boundaries of nn.RNN/LSTM/GRU's argument and input checks, found by running the
# releases on both sides of each (issue 11).
PR_RNN_INPUT_DTYPE_CHECK = _cite(  # ValueError for an input dtype mismatch, 2.1
    f"{_PYTORCH}/pull/100100", PULL_REQUEST, "Added Typechecking to input tensor in RNN"
)
PR_RNN_RANK_VALUE_ERROR = _cite(  # ValueError, not AssertionError, for rank, 2.1
    f"{_PYTORCH}/pull/105127",
    PULL_REQUEST,
    "[BE] Use ValueError for input.dim check in torch.nn.modules",
)
PR_RNN_HIDDEN_SIZE_CHECK = _cite(  # hidden_size must be an int > 0, 2.1
    f"{_PYTORCH}/pull/105659", PULL_REQUEST, "Rnn base hidden size type check"
)
PR_RNN_NUM_LAYERS_CHECK = _cite(  # num_layers must be > 0, 2.2
    f"{_PYTORCH}/pull/108853", PULL_REQUEST, "Add checks to `num_layers` for `RNN`, `LSTM`, `GRU`"
)
PR_RNN_DTYPE_MESSAGE = _cite(  # "RNN input dtype (...) does not match", 2.11
    f"{_PYTORCH}/pull/166946", PULL_REQUEST, "Improve RNN dtype mismatch error message"
)
PR_RNN_INPUT_SIZE_CHECK = _cite(  # input_size must be an int > 0, 2.11
    f"{_PYTORCH}/pull/166302",
    PULL_REQUEST,
    "Add input_size validation for RNN modules with clear error messages",
)
PR_RNN_ARGUMENT_TYPES = _cite(  # bias and batch_first must be bool, 2.11
    f"{_PYTORCH}/pull/166980", PULL_REQUEST, "Add type validation for RNN module parameters"
)
PR_LOAD_WEIGHTS_ONLY_WARNING = _cite(  # torch.load's FutureWarning, 2.4
    f"{_PYTORCH}/pull/129239", PULL_REQUEST, "Add warning for weights_only"
)
PR_CPU_CAPABILITY = _cite(  # torch.backends.cpu.get_cpu_capability(), 2.1 (rnnspec.machine)
    f"{_PYTORCH}/pull/100164",
    PULL_REQUEST,
    "Publicly exposing `torch.backends.cpu.get_cpu_capability()`",
)
# hidden_size=True passes the int check (bool is an int): nn.RNN fails inside torch.empty().
# #136937 (open) reports exactly that; the earlier #105631 (closed by #105659) reported the
# same bool for nn.LSTM.
ISSUE_RNN_BOOL_SIZES = _cite(
    f"{_PYTORCH}/issues/136937",
    ISSUE,
    "Setting the boolean value `True` to `hidden_size` argument of `nn.RNN()` gets a wrong "
    "error message",
)
ISSUE_RNN_MISSING_VALIDATION = _cite(
    f"{_PYTORCH}/issues/105631",
    ISSUE,
    "torch.nn.RNNBase (and its subclasses) lacks parameter validation check",
)
ISSUE_DYNAMO_RNN_GRAPH_BREAK = _cite(  # fullgraph=True refuses RNN/GRU/LSTM
    f"{_PYTORCH}/issues/171853", ISSUE, 'torch.compile fails on LSTM with "Unsupported" error'
)
PR_QUANTIZATION_DEPRECATED = _cite(  # torch.ao.quantization warns it is deprecated, 2.8
    f"{_PYTORCH}/pull/153892", PULL_REQUEST, "Add deprecation warning for `torch.ao.quantization`"
)
ISSUE_CPU_LATENCY_2_7 = _cite(  # BENCHMARKS.md
    f"{_PYTORCH}/issues/151037",
    ISSUE,
    "[release] CPU perf benchmark latency increase for 2.6->2.7 on c5.24xlarge and A100 instances",
)

# The threads of the known-bug ledger (rnnspec.ledger), in its order.
# Only the pull requests that say they fix #98499 were read, not the issue.
ISSUE_UNPAD_SEQUENCE_IN_PLACE = _cite(f"{_PYTORCH}/issues/98499", ISSUE, TITLE_NOT_SEEN)
PR_UNPAD_SEQUENCE_IN_PLACE_2024 = _cite(
    f"{_PYTORCH}/pull/121096",
    PULL_REQUEST,
    "Fix `torch.nn.utils.rnn.unpad_sequence` modifies `padded_sequences` in-place",
)
PR_UNPAD_SEQUENCE_IN_PLACE_2026 = _cite(
    f"{_PYTORCH}/pull/190397",
    PULL_REQUEST,
    "Don't mutate the input in unpad_sequence (fixes #98499)",
)
PR_UNPAD_SEQUENCE_TRANSPOSE = _cite(
    f"{_PYTORCH}/pull/195852",
    PULL_REQUEST,
    "fix: unpad_sequence mutates input tensor via in-place transpose_()",
)
ISSUE_LSTM_CELL_SEGFAULT = _cite(
    f"{_PYTORCH}/issues/175978",
    ISSUE,
    "The following code snippet causes a segmentation fault when running torch.nn.lstm_cell:",
)
ISSUE_MISSING_SHAPE_CHECKS = _cite(  # the umbrella issue #175978 was closed as a duplicate of
    f"{_PYTORCH}/issues/195547",
    ISSUE,
    "☂️ Missing shape checks result in out-of-bounds access of Tensor data",
)
PR_LSTM_CELL_SEGFAULT_CHECK = _cite(
    f"{_PYTORCH}/pull/176070",
    PULL_REQUEST,
    "[rnn] Prevent LSTMCell segfault on input/hidden shape mismatch",
)
PR_RNN_CELL_DIMENSION_CHECK = _cite(
    f"{_PYTORCH}/pull/191232",
    PULL_REQUEST,
    "Validate input/hidden dimension consistency in RNN cells",
)
PR_EXPORT_ATTRIBUTE_ASSIGNMENT_WARNING = _cite(
    f"{_PYTORCH}/pull/163809",
    PULL_REQUEST,
    "[export] _detect_attribute_assignment gives warning instead of raising ValueError",
)
PR_MAKE_LSTM_EXPORTABLE_DRAFT = _cite(
    f"{_PYTORCH}/pull/163207", PULL_REQUEST, "[DO NOT LAND] Make LSTM exportable"
)
ISSUE_EXPORT_CONTAINER_OF_PARAMS = _cite(
    f"{_PYTORCH}/issues/163303",
    ISSUE,
    "[export] non-strict export creates extra tensor constants when forward runs with a "
    "container of params",
)
ISSUE_EXPORT_GRU_CUDA = _cite(  # not the 2.8-2.9 ValueError: a 2024 CUDA failure
    f"{_PYTORCH}/issues/120626",
    ISSUE,
    "[export] `nn.GRU` fails to `torch.export` due to unimplemented operator",
)
ISSUE_EXPORT_LSTM_STATE_SHAPE = _cite(
    f"{_PYTORCH}/issues/151200",
    ISSUE,
    "[torch.export] Exported model with LSTM has outputs c_n and h_n with wrong dimensions",
)
PR_EXPORT_LSTM_STATE_METADATA = _cite(
    f"{_PYTORCH}/pull/185716", PULL_REQUEST, "Fix LSTM export hidden state metadata"
)
ISSUE_COMPILE_LSTM_EXTRA_DIMENSION = _cite(
    f"{_PYTORCH}/issues/130791",
    ISSUE,
    "An additional dimension appears in the return when using torch.compile on torch.nn.LSTM "
    "models",
)
ISSUE_ONNXSCRIPT_GRU_LINEAR_BEFORE_RESET = _cite(
    "https://github.com/microsoft/onnxscript/issues/2852",
    ISSUE,
    "GRU translation missing linear_before_reset=1 (produces incorrect results for PyTorch GRU)",
)
ISSUE_ONNX_GRU_LINEAR_BEFORE_RESET = _cite(
    f"{_PYTORCH}/issues/189225",
    ISSUE,
    "torch.onnx.export(dynamo=True) exports nn.GRU with wrong linear_before_reset=0",
)
ISSUE_DYNAMO_RNN_NOT_RESUMED = _cite(
    f"{_PYTORCH}/issues/141184",
    ISSUE,
    "Dynamo graph break on RNN/LSTM doesn't resume the function correctly.",
)
PR_DYNAMO_DELAY_RNN_GRAPH_BREAK = _cite(
    f"{_PYTORCH}/pull/186614", PULL_REQUEST, "Delay RNN graph break until module call"
)
ISSUE_LSTM_WITHOUT_STATE_UNCHECKED = _cite(
    f"{_PYTORCH}/issues/114874",
    ISSUE,
    "nn.LSTM tolerates wrong input shape when hidden state isn't provided.",
)
PR_LSTM_WITHOUT_STATE_CHECKED = _cite(
    f"{_PYTORCH}/pull/115542",
    PULL_REQUEST,
    "[BugFix] Prevent LSTM to run with wrong input shape",
)
PR_ONEDNN_LSTM = _cite(
    f"{_PYTORCH}/pull/91158", PULL_REQUEST, "Enable oneDNN implementation in LSTM op"
)
ISSUE_RNN_ZERO_LENGTH = _cite(
    f"{_PYTORCH}/issues/50192", ISSUE, "GRU and LSTM fail for seq_len = 0"
)
ISSUE_RNN_ARGUMENT_ORDER = _cite(f"{_PYTORCH}/issues/114617", ISSUE, "RNN argument order")
PR_RNN_NONLINEARITY_ARGUMENT = _cite(
    f"{_PYTORCH}/pull/120234", PULL_REQUEST, "Fix `nonlinearity` arg issue in RNN"
)
ISSUE_LSTM_PACKED_UNCHECKED = _cite(
    f"{_PYTORCH}/issues/195803",
    ISSUE,
    "LSTM PackedSequence inputs produce inconsistent argument-validation errors",
)
PR_LSTM_PACKED_CHECKED = _cite(
    f"{_PYTORCH}/pull/195805",
    PULL_REQUEST,
    "Align LSTM PackedSequence argument validation with dense inputs",
)

# The issue 16 sweep's reproduced bugs (docs/sweep/), in the ledger's order. Titles as read.
PR_ONEDNN_LSTM_DOUBLE_BACKWARD = _cite(  # says it fixes #99413, which was not read
    f"{_PYTORCH}/pull/100627",
    PULL_REQUEST,
    "Add differentiable mkldnn_rnn_layer_backward to support double backward of LSTM",
)
ISSUE_ONEDNN_LSTM_DOUBLE_BACKWARD = _cite(f"{_PYTORCH}/issues/99413", ISSUE, TITLE_NOT_SEEN)
ISSUE_GRU_CELL_STATE_RANK = _cite(
    f"{_PYTORCH}/issues/106769", ISSUE, "`torch.nn.GRUCell`: Segfault by heap buffer overflow"
)
PR_CELL_STATE_RANK_CHECK = _cite(  # GRUCell and RNNCell; "Fixes #106769"
    f"{_PYTORCH}/pull/107223", PULL_REQUEST, "Add Some Checks about dim"
)
PR_LSTM_CELL_STATE_RANK_CHECK = _cite(
    f"{_PYTORCH}/pull/107380", PULL_REQUEST, "add more check on LSTMCell"
)
ISSUE_LSTM_CELL_BARE_STATE = _cite(
    f"{_PYTORCH}/issues/193823",
    ISSUE,
    "torch.nn.LSTMCell segfaults when given malformed hidden state input",
)
PR_LSTM_CELL_STATE_FORMAT = _cite(
    f"{_PYTORCH}/pull/193883", PULL_REQUEST, "[NN] Validate LSTMCell hidden state format"
)
PR_CELL_STATE_VALIDATION = _cite(
    f"{_PYTORCH}/pull/194064",
    PULL_REQUEST,
    "[NN] Validate hidden state inputs in RNNCell, LSTMCell, and GRUCell to prevent segfault",
)
ISSUE_LSTM_DATA_STATE_LAYERS = _cite(
    f"{_PYTORCH}/issues/173946",
    ISSUE,
    "Segmentation fault in aten.lstm.data results if hx shapes are invalid (when running on CPU)",
)
PR_LSTM_STATE_LAYERS_CHECK = _cite(
    f"{_PYTORCH}/pull/193911",
    PULL_REQUEST,
    "Validate that LSTM hidden and cell states have the same number of layers",
)
ISSUE_VMAP_GRU = _cite(
    f"{_PYTORCH}/issues/134606",
    ISSUE,
    "VMAP over GRU: Batching rule not implemented for aten::gru.input",
)
ISSUE_VMAP_RNN = _cite(f"{_PYTORCH}/issues/105982", ISSUE, "vmap and rnn/lstm")
ISSUE_QUANTIZED_LSTM_PROJECTION = _cite(
    f"{_PYTORCH}/issues/74953", ISSUE, "LSTM quantization fails if proj_size > 0"
)
ISSUE_QUANTIZABLE_LSTM_BIDIRECTIONAL = _cite(
    f"{_PYTORCH}/issues/89357",
    ISSUE,
    "Quantizable LSTM has different behavior than LSTM in bidirectional setting",
)
ISSUE_PARAMETRIZED_RNN_NOT_TRAINED = _cite(
    f"{_PYTORCH}/issues/65688", ISSUE, "Parametrization silently disables RNN weight updates"
)
ISSUE_EXPORT_DYNAMIC_LSTM = _cite(
    f"{_PYTORCH}/issues/115092", ISSUE, "[pt2] Unable to trace LSTM with dynamic shapes"
)
ISSUE_EXPORT_DYNAMIC_RNN = _cite(
    f"{_PYTORCH}/issues/126339", ISSUE, "RNN/GRU/LSTM fail to export()/dynamo_export"
)

# pytest-xdist, which runs the suite (rnnspec.tool.plugin.guard, conftest.py, README.md). #1386's title is
# the sweep's; #1327, #1328, #1371 and #1378 were read when this registry was written.
_XDIST = "https://github.com/pytest-dev/pytest-xdist"
ISSUE_XDIST_LOADGROUP_NODE_IDS = _cite(
    f"{_XDIST}/issues/1386",
    ISSUE,
    "`--dist=loadgroup` silently stops grouping on pytest main: the nodeid mutation no longer "
    "takes effect",
)
ISSUE_XDIST_REPLACEMENT_HANGS = _cite(
    f"{_XDIST}/issues/1327",
    ISSUE,
    "`pytest --dist=loadgroup` hangs if a crashed worker is restarted - variant 2",
)
PR_XDIST_REPLACEMENT_HANGS = _cite(
    f"{_XDIST}/pull/1328",
    PULL_REQUEST,
    "Fix hang with `--dist=loadgroup` if a crashed worker is replaced and there is still work "
    "to be done",
)
PR_XDIST_CRASHED_TEST_RERUN = _cite(
    f"{_XDIST}/pull/1371",
    PULL_REQUEST,
    "Do not re-run the test a worker crashed on under loadscope/loadfile/loadgroup",
)
ISSUE_XDIST_COMPLETED_SCOPES_REQUEUED = _cite(
    f"{_XDIST}/issues/1378",
    ISSUE,
    "loadscope/loadgroup: a crashed worker's COMPLETED scopes are re-queued as empty work "
    "units and can deadlock the session at the end of the run",
)
