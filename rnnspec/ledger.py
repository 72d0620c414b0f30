"""The ledger of known upstream bugs that touch recurrent networks: one `KnownBug` each.

A fact names one of these with `@pytest.mark.fact(source, bug=...)` and states the
promised behaviour inside `with known_bug.expected(match=...):` (see rnnspec.tool.plugin.recording):
where the installed release is in `affects` the promise must break exactly as the bug
says, and the day a release in that range keeps it the fact fails with "fixed in".

`affects` covers the releases where the bug was reproduced here (`measured`) or where
the issue or its fix says it holds; an open-ended range (">=2.0") means no release
measured here is free of it. `upstream` records what the threads say (their state when the
issue 16 sweep read them), apart from what rnnspec measured: the end of an affected range is
a measurement, not a fix any thread announced, unless `fixed_by` names one. Every URL is a
record of rnnspec.sources, with its kind and title. Each record's fact:

    UNPAD_SEQUENCE_TRANSPOSES_INPUT      specs/pytorch/test_known_bugs.py
    LSTM_CELL_UNBATCHED_INPUT_SEGFAULT   specs/pytorch/test_known_bugs.py
    EXPORT_RNN_ATTRIBUTE_ASSIGNMENT      specs/deployment/test_export.py
    EXPORT_LSTM_PROJECTION_STATE_SHAPE   specs/deployment/test_export.py
    EXPORT_LSTM_STATE_SHAPE              specs/deployment/test_export.py
    ONNXSCRIPT_GRU_LINEAR_BEFORE_RESET   specs/deployment/test_onnx.py
    DYNAMO_RNN_GRAPH_BREAK_NOT_RESUMED   specs/deployment/test_compile.py
    LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS       specs/pytorch/test_errors.py, specs/seeds/test_003_...
    ONEDNN_LSTM_ACCEPTS_A_ZERO_LENGTH_SEQUENCE  specs/pytorch/test_errors.py
    RNN_FOURTH_POSITIONAL_ARGUMENT_IS_BIAS      specs/pytorch/test_errors.py
    LSTM_PACKED_INPUT_SKIPS_INPUT_CHECKS        specs/pytorch/test_packed_sequences.py
    ONNX_DYNAMO_LSTM_STATE_SQUEEZE              specs/deployment/test_onnx.py
    ONEDNN_LSTM_DOUBLE_BACKWARD                 specs/pytorch/test_gradients.py
    CELL_STATE_RANK_UNCHECKED                   specs/pytorch/test_known_bugs.py
    LSTM_CELL_BARE_TENSOR_STATE_SEGFAULT        specs/pytorch/test_known_bugs.py
    PACKED_LSTM_CELL_STATE_LAYERS_UNCHECKED     specs/pytorch/test_known_bugs.py
    VMAP_RNN_NO_BATCHING_RULE                   specs/pytorch/test_func.py
    QUANTIZED_LSTM_PROJECTION_FAILS             specs/deployment/test_quantization.py
    QUANTIZABLE_LSTM_BIDIRECTIONAL_LAYERS       specs/deployment/test_quantization.py
    EXPORT_LSTM_DYNAMIC_TIME, EXPORT_GRU_DYNAMIC_TIME   specs/deployment/test_export.py

How the ledger is kept current: the upstream sweep
--------------------------------------------------
The entries from ONEDNN_LSTM_DOUBLE_BACKWARD on come from a sweep of the upstream tracker in
December 2026 (issue 16); its notes, with every query, every thread read and its state, are
docs/sweep/2026-12-upstream-sweep.md.

- Searched: pytorch/pytorch issues and pull requests, open and closed, 2023 (the 2.0 cycle)
  to 2026-12, plus microsoft/onnxscript and pytorch/executorch threads they link; 75 queries
  in the stored thread corpus, one per area and symptom: nn.RNN/LSTM/GRU and the three
  cells (bad-input crashes, shape and dtype checks, argument validation), torch.nn.utils.rnn
  (pack_padded_sequence, pad_packed_sequence, pad_sequence, unpad_sequence, unpack_sequence,
  PackedSequence) and the aten/_VF entry points, autograd (double backward), bfloat16 and
  autocast on the CPU, torch.compile (allow_rnn, graph breaks, Inductor), torch.export
  (static and dynamic shapes, packed input), both ONNX exporters, dynamic and static
  quantization, TorchScript, torch.func (vmap, jacrev), parametrizations, state_dict and
  serialization. Each query named the module and the symptom ("segmentation fault",
  "wrong result", "not implemented", "Constraints violated"), not a release.
- Reproduced: every CPU candidate runs in docs/sweep/reproduce.py, one child interpreter
  each, on all 16 releases (`uv run --isolated --no-project --with torch==VER ...`, the
  command is in its docstring); a candidate became a fact where the documentation promises
  the behaviour it breaks, and a ledger entry with the releases it was measured on.
- Rejected, with the reason (the notes' table has each thread): CUDA- or XPU-only reports
  (pytorch/pytorch#120626, #123089, #116925, #175830, #158131, #173944, #171284); performance
  (#140845, #151037, #111082); feature requests or intentional graph breaks already facts
  (#116858, #167275, #158007, #149909, #91439); fuzzer calls of private ops with nonsense
  arguments (#94122, #94668, #94808, #143484, #143485, and the private aten.lstm.data of
  #173946, kept only through the public path); threads before 2.0 (TorchScript, the legacy
  ONNX exporter, dynamic quantization of 2019-2022); a retracted report (#145073); and what
  reproduced as correct on every release: a PackedSequence with increasing batch_sizes
  raises RuntimeError (#169213 reports a bad free under ASan), double backward on 2.1+,
  a parametrized weight trains (#65688 is still open but no release shows it), bfloat16
  LSTM on this AVX-512 CPU (#88136), torch.compile(allow_rnn) state shapes (#130791), and
  pad_sequence(padding_side="left") under torch.compile (pull requests #179300/#179359).
  pack_padded_sequence accepting lengths longer than the time axis (#146744) is not refused
  by any release, but no page promises the refusal; it is not a fact.

To repeat it for a new release: run the same queries restricted to threads opened or
updated since the last sweep's date (docs/sweep/ records it), add each new CPU candidate to
docs/sweep/reproduce.py, run it on the new release and its predecessor, and turn each
reproduced candidate into a fact and an entry here; `rnnspec matrix --torch NEW` then shows
which older entries no longer hold ("fixed in").
"""

from __future__ import annotations

from rnnspec.bugs import KnownBug
from rnnspec.sources import (
    ISSUE_DYNAMO_RNN_NOT_RESUMED,
    ISSUE_EXPORT_DYNAMIC_LSTM,
    ISSUE_EXPORT_DYNAMIC_RNN,
    ISSUE_EXPORT_LSTM_STATE_SHAPE,
    ISSUE_GRU_CELL_STATE_RANK,
    ISSUE_LSTM_CELL_BARE_STATE,
    ISSUE_LSTM_CELL_SEGFAULT,
    ISSUE_LSTM_DATA_STATE_LAYERS,
    ISSUE_LSTM_PACKED_UNCHECKED,
    ISSUE_LSTM_WITHOUT_STATE_UNCHECKED,
    ISSUE_ONNXSCRIPT_GRU_LINEAR_BEFORE_RESET,
    ISSUE_QUANTIZABLE_LSTM_BIDIRECTIONAL,
    ISSUE_QUANTIZED_LSTM_PROJECTION,
    ISSUE_RNN_ARGUMENT_ORDER,
    ISSUE_UNPAD_SEQUENCE_IN_PLACE,
    ISSUE_VMAP_GRU,
    PR_CELL_STATE_RANK_CHECK,
    PR_EXPORT_ATTRIBUTE_ASSIGNMENT_WARNING,
    PR_LSTM_WITHOUT_STATE_CHECKED,
    PR_ONEDNN_LSTM,
    PR_ONEDNN_LSTM_DOUBLE_BACKWARD,
    PR_RNN_NONLINEARITY_ARGUMENT,
)

UNPAD_SEQUENCE_TRANSPOSES_INPUT = KnownBug(
    issue=ISSUE_UNPAD_SEQUENCE_IN_PLACE,
    summary=(
        "nn.utils.rnn.unpad_sequence(padded, lengths, batch_first=False) transposes the "
        "caller's padded tensor in place: a (T, B) tensor comes back (B, T)"
    ),
    affects=">=2.0",
    measured="2.2.2, 2.9.1, 2.11.0, 2.14.1 and 2.15.0: a (3, 2) tensor comes back (2, 3)",
    upstream=(
        "no copy of the issue read; pull requests that say they fix it: "
        "pytorch/pytorch#121096 and pytorch/pytorch#190397 (closed), pytorch/pytorch#195852 "
        "(open)"
    ),
)

LSTM_CELL_UNBATCHED_INPUT_SEGFAULT = KnownBug(
    issue=ISSUE_LSTM_CELL_SEGFAULT,
    summary=(
        "nn.LSTMCell given a 1-D (unbatched) input with a batched (h, c) state reads out of "
        "bounds and kills the interpreter (SIGSEGV) instead of raising"
    ),
    affects="<2.15",
    measured=(
        "signal 11 (exit -11) on 2.2.2, 2.9.1, 2.11.0 and 2.14.1; 2.15.0 raises RuntimeError "
        "'Expected 2D hidden0 (batch x hidden_size), but got 3D tensor' (correct on 2.15.0, "
        "measured here)"
    ),
    upstream=(
        "closed as a duplicate of the umbrella issue pytorch/pytorch#195547 (open); fix pull "
        "requests pytorch/pytorch#176070 (closed, stale) and pytorch/pytorch#191232 (open); no "
        "thread names a fix"
    ),
)

# No issue reports the 2.8-2.9 ValueError: pull request #163809, which turns it into a warning,
# describes it ("LSTM was not exportable with non-strict export as it failed at
# `_detect_attribute_assignment`"), as does its unlanded draft #163207; the same author's issue
# pytorch/pytorch#163303 reports the cause on a toy module with `self._flat_weights = [...]`.
# Not pytorch/pytorch#120626, a 2024 CUDA failure (unimplemented operator) of a GRU held as a
# child module.

EXPORT_RNN_ATTRIBUTE_ASSIGNMENT = KnownBug(
    issue=PR_EXPORT_ATTRIBUTE_ASSIGNMENT_WARNING,
    summary=(
        "torch.export.export of a bare nn.RNN, nn.LSTM or nn.GRU (the layer itself as the "
        "exported module) raises ValueError: its _flat_weights 'were assigned during export' "
        "(non-strict export's attribute check); a model holding the layer as a child exports"
    ),
    affects=">=2.8,<2.10",
    fixed_by=PR_EXPORT_ATTRIBUTE_ASSIGNMENT_WARNING,
    measured=(
        "ValueError on 2.8.0 and 2.9.1; exports on 2.2.2, 2.6.0, 2.7.1, 2.10.0, 2.11.0, 2.14.1 "
        "and 2.15.0"
    ),
    upstream=(
        "described by pull request pytorch/pytorch#163809, the fix (a warning instead of the "
        "ValueError), and by its unlanded draft pytorch/pytorch#163207; no issue reports it; "
        "issue pytorch/pytorch#163303 (open) reports the cause"
    ),
)

# Before 2.4, torch.export.export decomposes aten.lstm; where the decomposition does not take
# the oneDNN path (measured: with proj_size on 2.1-2.3, every LSTM on 2.3) it runs the Python
# one_layer_lstm of torch/_decomp, which squeezes dimension 1 of the final states instead of 0,
# so the program returns h_n and c_n as [D * layers, 1, N, size]. #151200 reports that cause as
# wrong shape metadata on later releases (fixed by #185716); from 2.4 export keeps aten.lstm and
# the program returns the eager shapes. No upstream issue reports the 2.1-2.3 exported outputs;
# pytorch/pytorch#130791 (closed) reports the same extra dimension of h_n and c_n under
# torch.compile (Dynamo tracing the same decomposition), not under torch.export.

EXPORT_LSTM_PROJECTION_STATE_SHAPE = KnownBug(
    issue=ISSUE_EXPORT_LSTM_STATE_SHAPE,
    summary=(
        "the program torch.export.export makes of a batched nn.LSTM with proj_size > 0 returns "
        "h_n and c_n with an extra dimension, [D * num_layers, 1, N, size] instead of "
        "[D * num_layers, N, size] (the Python LSTM decomposition squeezes the wrong "
        "dimension; no upstream issue reports these outputs, #151200 reports the cause, "
        "#130791 the same extra dimension under torch.compile)"
    ),
    affects=">=2.1,<2.4",
    measured=(
        "nn.LSTM(4, 3, proj_size=2) on a (5, 3, 4) input: the exported program returns h_n "
        "(1, 1, 3, 2) and c_n (1, 1, 3, 3) on 2.1.2, 2.2.2 and 2.3.1 (eager: (1, 3, 2) and "
        "(1, 3, 3)), likewise batch_first and 2 layers bidirectional; unbatched input "
        "unaffected; the eager shapes on 2.4.1, 2.6.0 and 2.11.0"
    ),
    upstream=(
        "pytorch/pytorch#151200 open in its last read copy; pull request "
        "pytorch/pytorch#185716 (merge command seen), written against #151200, corrects the "
        "export metadata of later releases"
    ),
)

EXPORT_LSTM_STATE_SHAPE = KnownBug(
    issue=ISSUE_EXPORT_LSTM_STATE_SHAPE,
    summary=(
        "on 2.3 the program torch.export.export makes of any batched nn.LSTM (without "
        "proj_size too) returns h_n and c_n with an extra dimension, [D * num_layers, 1, N, "
        "hidden_size]: export no longer takes the oneDNN decomposition, and the Python one "
        "squeezes the wrong dimension (as EXPORT_LSTM_PROJECTION_STATE_SHAPE)"
    ),
    affects=">=2.3,<2.4",
    measured=(
        "nn.LSTM(4, 3) on a (5, 3, 4) input: h_n and c_n (1, 1, 3, 3) from the exported "
        "program on 2.3.1, likewise batch_first and 2 layers bidirectional; unbatched input "
        "unaffected; the eager (1, 3, 3) on 2.1.2, 2.2.2 and 2.4.1"
    ),
    upstream=EXPORT_LSTM_PROJECTION_STATE_SHAPE.upstream,
)

# onnxscript#2852 is the report of the package whose releases `affects` covers, and its
# reproducer, nn.GRU(1, 32, batch_first=True), is the one measured here; pytorch/pytorch#189225
# reports the same exporter output with nn.GRU(4, 8).

ONNXSCRIPT_GRU_LINEAR_BEFORE_RESET = KnownBug(
    issue=ISSUE_ONNXSCRIPT_GRU_LINEAR_BEFORE_RESET,
    summary=(
        "the dynamo ONNX exporter (torch.onnx.export(..., dynamo=True)) writes nn.GRU as an "
        "ONNX GRU with linear_before_reset=0, so onnxruntime computes another function "
        "(also reported as pytorch/pytorch#189225)"
    ),
    affects=">=0.6,<0.7.1",
    package="onnxscript",
    measured=(
        "torch 2.15.0, onnxruntime 1.32.0: nn.GRU(1, 32, batch_first=True) (onnxscript#2852's "
        "reproducer) differs from eager "
        "by 0.093-0.096 with onnxscript 0.6.0, 0.6.1, 0.6.2 and 0.7.0; agrees to 3e-8 with "
        "0.7.1 and 0.7.2 (0.5.7 cannot export with torch 2.15: no torch_2_11 API module)"
    ),
    upstream=(
        "microsoft/onnxscript#2852 open in its last read copy (no fix pull request seen); "
        "pytorch/pytorch#189225 closed"
    ),
)

DYNAMO_RNN_GRAPH_BREAK_NOT_RESUMED = KnownBug(
    issue=ISSUE_DYNAMO_RNN_NOT_RESUMED,
    summary=(
        "torch.compile of a model with code before and after nn.RNN/LSTM/GRU compiles no "
        "graph at all: Dynamo cannot resume after the graph break at the recurrent layer and "
        "runs the whole model eagerly"
    ),
    affects="<2.15",
    measured=(
        "0 compiled graphs for Linear -> 2-layer RNN/LSTM/GRU -> Linear on 2.2.2, 2.6.0, 2.8.0, "
        "2.9.1, 2.10.0, 2.11.0 and 2.14.1 (torch._dynamo.explain: 0 graphs, -1 graph breaks); "
        "2 graphs (before and after the layer) on 2.15.0 (correct on 2.15.0, measured here)"
    ),
    upstream=(
        "open; its fix, pull request pytorch/pytorch#186614, is open: no thread shows a fix landing"
    ),
)


# Regressions of nn.LSTM and nn.RNN that shipped in 2.0-2.2 and were fixed later, found by running
# torch 2.0.1, 2.1.2, 2.2.2, 2.3.1 and 2.4.1. Their facts are in specs/pytorch/test_errors.py
# (LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS also in specs/seeds/test_003_...py).

LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS = KnownBug(
    issue=ISSUE_LSTM_WITHOUT_STATE_UNCHECKED,
    summary=(
        "nn.LSTM called without (h_0, c_0) skips its input checks: input with the wrong number "
        "of features returns an output shaped as if it were valid, and float64 input to a "
        "float32 LSTM fails in the matrix product (RuntimeError) instead of the dtype ValueError"
    ),
    affects=">=2.1,<2.3",
    fixed_by=PR_LSTM_WITHOUT_STATE_CHECKED,
    measured=(
        "2.1.2 and 2.2.2: nn.LSTM(4, 6)(torch.randn(3, 2, 5)) returns a (3, 2, 6) output and "
        "float64 input raises 'mat1 and mat2 must have the same dtype, but got Double and "
        "Float'; with an explicit state both checks run; 2.0.1 and 2.3.1 and later check both"
    ),
    upstream="closed; pull request pytorch/pytorch#115542 fixes it (merge command January 2024)",
)

# No issue or pull request reports the zero-length LSTM of 2.0 or the change that ended it in 2.1:
# the record names its cause, pull request #91158, which routed the CPU LSTM through oneDNN in
# 2.0 and says nothing of zero-length sequences. Related, open since 2021: pytorch/pytorch#50192
# ("GRU and LSTM fail for seq_len = 0").

ONEDNN_LSTM_ACCEPTS_A_ZERO_LENGTH_SEQUENCE = KnownBug(
    issue=PR_ONEDNN_LSTM,
    summary=(
        "nn.LSTM on CPU in float32 (the oneDNN path) returns an empty output for a sequence "
        "of length 0 instead of raising 'Expected sequence length to be larger than 0'"
    ),
    affects="<2.1",
    measured=(
        "2.0.1: nn.LSTM(4, 6)(torch.randn(0, 2, 4)) returns a (0, 2, 6) output; with "
        "torch._C._set_mkldnn_enabled(False) it raises; nn.RNN and nn.GRU raise; 2.1.2 and "
        "later raise for the LSTM too"
    ),
    upstream=(
        "no thread reports it; pull request pytorch/pytorch#91158 is its cause, and no thread "
        "names the change that ended it"
    ),
)

RNN_FOURTH_POSITIONAL_ARGUMENT_IS_BIAS = KnownBug(
    issue=ISSUE_RNN_ARGUMENT_ORDER,
    summary=(
        "nn.RNN's 4th positional argument goes to bias, not to nonlinearity as documented: "
        "nn.RNN(4, 6, 1, 'sigmoid') builds a tanh RNN with bias='sigmoid' that fails only "
        "at its first forward"
    ),
    affects="<2.3",
    fixed_by=PR_RNN_NONLINEARITY_ARGUMENT,
    measured=(
        "2.0.1, 2.1.2 and 2.2.2 build it (nonlinearity 'tanh', bias 'sigmoid'); 2.3.1 and "
        "later raise ValueError \"Unknown nonlinearity 'sigmoid'\""
    ),
    upstream=(
        "open in its last read copy, although pull request pytorch/pytorch#120234 (merge "
        "command February 2024) says it fixes it"
    ),
)


# nn.LSTM given a PackedSequence skips its input checks on every release from 2.1, found by
# running torch 2.0.1 to 2.15.0. Its facts are in specs/pytorch/test_packed_sequences.py.

LSTM_PACKED_INPUT_SKIPS_INPUT_CHECKS = KnownBug(
    issue=ISSUE_LSTM_PACKED_UNCHECKED,
    summary=(
        "nn.LSTM given a PackedSequence skips check_forward_args: packed input with the wrong "
        "number of features fails inside the matrix product ('mat1 and mat2 shapes cannot be "
        "multiplied') instead of 'input.size(-1) must be equal to input_size. Expected 4, "
        "got 5', and float64 input to a float32 LSTM raises RuntimeError instead of the "
        "dtype ValueError (open fix: pytorch/pytorch#195805)"
    ),
    affects=">=2.1",
    measured=(
        "nn.LSTM(4, 6), with and without proj_size, on pack_padded_sequence(randn(3, 2, 5), "
        "[3, 2]): 'mat1 and mat2 shapes cannot be multiplied (5x5 and 4x24)' on 2.1.2, 2.2.2, "
        "2.3.1, 2.4.1, 2.6.0, 2.10.0, 2.11.0 and 2.15.0; 2.0.1 raises 'input.size(-1) must be "
        "equal to input_size. Expected 4, got 5', as nn.RNN and nn.GRU do on every release"
    ),
    upstream="open (labelled enhancement); its fix, pull request pytorch/pytorch#195805, is open",
)


# The torch.export-based ONNX exporter of torch 2.5 and nn.LSTM, found by running 2.5.1 and
# 2.6.0. Its fact is in specs/deployment/test_onnx.py.

ONNX_DYNAMO_LSTM_STATE_SQUEEZE = KnownBug(
    issue=ISSUE_EXPORT_LSTM_STATE_SHAPE,
    summary=(
        "torch.onnx.export(..., dynamo=True) of nn.LSTM writes a model onnxruntime refuses to "
        "load ('[ShapeInferenceError] Dimension of input 1 must be 1' on a Squeeze): the "
        "exporter decomposes aten.lstm with the Python one_layer_lstm, whose h_n.squeeze(1) "
        "is a no-op in eager but a strict ONNX Squeeze on an axis of size batch"
    ),
    affects=">=2.5,<2.6",
    measured=(
        "2.5.1 with onnxscript 0.7.2 and 0.1.0, onnxruntime 1.32.0: every nn.LSTM without "
        "(h_0, c_0) (1 or 2 layers, bidirectional or not, batch_first or not) is refused; "
        "nn.RNN and nn.GRU, and an LSTM given (h_0, c_0), agree with eager to 2e-7; 2.6.0 "
        "and later export the LSTM correctly (2.4 has no torch.export-based ONNX exporter)"
    ),
    upstream=(
        "no ONNX thread found; pytorch/pytorch#151200 (open in its last read copy) reports "
        "the cause, the Python one_layer_lstm's squeeze"
    ),
)

# ---------------------------------------------------------------------------------------------
# Found by the issue 16 sweep (docs/sweep/2026-12-upstream-sweep.md) and reproduced on every
# release from 2.0.1 to 2.15.0 with docs/sweep/reproduce.py.

ONEDNN_LSTM_DOUBLE_BACKWARD = KnownBug(
    issue=PR_ONEDNN_LSTM_DOUBLE_BACKWARD,
    summary=(
        "a second derivative (create_graph=True) through nn.LSTM in float32 on the CPU, the "
        "oneDNN path new in 2.0, raises RuntimeError 'derivative for "
        "mkldnn_rnn_layer_backward is not implemented'"
    ),
    affects="<2.1",
    fixed_by=PR_ONEDNN_LSTM_DOUBLE_BACKWARD,
    measured=(
        "nn.LSTM(4, 6) in float32 on the CPU, input (5, 3, 4): 2.0.1 raises 'derivative for "
        "mkldnn_rnn_layer_backward is not implemented' at the second torch.autograd.grad; "
        "2.1.2 to 2.15.0 compute it (every release run)"
    ),
    upstream=(
        "the pull request says it fixes pytorch/pytorch#99413 (not read here) by making "
        "mkldnn_rnn_layer_backward differentiable; closed 2023-05, in the 2.1 cycle"
    ),
)

CELL_STATE_RANK_UNCHECKED = KnownBug(
    issue=ISSUE_GRU_CELL_STATE_RANK,
    summary=(
        "nn.RNNCell, nn.GRUCell and nn.LSTMCell accept a hidden state of more than two "
        "dimensions: nn.RNNCell returns a 5-D 'state', nn.GRUCell corrupts memory (a "
        "NotImplementedError for 'TESTING_ONLY_GenericWrapper', or SIGSEGV), nn.LSTMCell "
        "reads out of bounds and kills the process (SIGSEGV)"
    ),
    affects="<2.1",
    fixed_by=PR_CELL_STATE_RANK_CHECK,
    measured=(
        "input (1, 1) with a state (1, 1, 5, 127, 1): on 2.0.1 nn.RNNCell returns a state of "
        "that shape, nn.GRUCell raises NotImplementedError ('Could not run aten::add_.Tensor "
        "with arguments from the TESTING_ONLY_GenericWrapper backend', docs/sweep/reproduce.py) "
        "or is killed by SIGSEGV (the matrix's run), and nn.LSTMCell is killed by SIGSEGV; 2.1.2 to 2.15.0 raise ValueError 'Expected hidden to be 1D or 2D, "
        "got 5D instead' (hx[0] for nn.LSTMCell)"
    ),
    upstream=(
        "closed; pull request pytorch/pytorch#107223 says 'Fixes #106769' (nn.GRUCell, "
        "nn.RNNCell) and pytorch/pytorch#107380 adds the nn.LSTMCell check, both merged in "
        "2023-08, in the 2.1 cycle"
    ),
)

LSTM_CELL_BARE_TENSOR_STATE_SEGFAULT = KnownBug(
    issue=ISSUE_LSTM_CELL_BARE_STATE,
    summary=(
        "nn.LSTMCell given one 3-D tensor where the pair (h_0, c_0) belongs unpacks its first "
        "dimension as the pair, hands the native cell a 3-D state and kills the process "
        "(SIGSEGV) instead of raising"
    ),
    affects="<2.15",
    measured=(
        "nn.LSTMCell(3, 3) with input (3,) and state zeros(2, 3, 3): SIGSEGV on every release "
        "from 2.0.1 to 2.14.1; 2.15.0 raises RuntimeError 'Expected 2D hidden0 (batch x "
        "hidden_size), but got 3D tensor', the native check that also ends "
        "LSTM_CELL_UNBATCHED_INPUT_SEGFAULT (correct on 2.15.0, measured here)"
    ),
    upstream=(
        "open; fix pull requests pytorch/pytorch#193883 and pytorch/pytorch#194064 open when read"
    ),
)

PACKED_LSTM_CELL_STATE_LAYERS_UNCHECKED = KnownBug(
    issue=ISSUE_LSTM_DATA_STATE_LAYERS,
    summary=(
        "nn.LSTM given a PackedSequence does not check c_0 against num_layers: a c_0 one layer "
        "short is read past its end (a result with no error, or SIGSEGV) and one layer over is "
        "silently cut"
    ),
    affects=">=2.1",
    measured=(
        "nn.LSTM(8, 8) on pack_padded_sequence(randn(5, 2, 8), [5, 3]): with 3 layers and a "
        "2-layer c_0, on 2.1.2 and 2.2.2 (h_n, c_n) of 3 layers and no error "
        "(docs/sweep/reproduce.py) or SIGABRT 'corrupted double-linked list' (the matrix's "
        "run), SIGSEGV from 2.3.1 to 2.15.0; with 2 layers and a 3-layer c_0, no error on 2.1.2 to 2.15.0; "
        "2.0.1 raises 'Expected hidden[1] size (3, 2, 8), got [2, 2, 8]' for both"
    ),
    upstream=(
        "the issue (open) reports the missing layer check of aten.lstm.data on the CPU, which "
        "nn.LSTM reaches with packed input because it skips check_forward_args there "
        "(pytorch/pytorch#195803); fix pull request pytorch/pytorch#193911 open when read"
    ),
)

VMAP_RNN_NO_BATCHING_RULE = KnownBug(
    issue=ISSUE_VMAP_GRU,
    summary=(
        "torch.func.vmap over nn.RNN, nn.LSTM or nn.GRU raises RuntimeError 'Batching rule "
        "not implemented for aten::gru.input. We could not generate a fallback.'"
    ),
    affects=">=2.0",
    measured=(
        "vmap over 4 unbatched (5, 10) sequences of nn.GRU(10, 2) and nn.LSTM(10, 2): the "
        "RuntimeError on every release from 2.0.1 to 2.15.0 (aten::gru.input, aten::lstm.input)"
    ),
    upstream="open, as is pytorch/pytorch#105982 (vmap over stacked LSTM ensembles)",
)

QUANTIZED_LSTM_PROJECTION_FAILS = KnownBug(
    issue=ISSUE_QUANTIZED_LSTM_PROJECTION,
    summary=(
        "quantize_dynamic converts an nn.LSTM with proj_size > 0 into a module whose forward "
        "raises RuntimeError 'The number of rows in the packB should be equal to K: 24'"
    ),
    affects=">=2.0",
    measured=(
        "nn.LSTM(12, 24, proj_size=8) quantized with qint8, input (10, 2, 12): the RuntimeError "
        "on every release from 2.0.1 to 2.15.0"
    ),
    upstream="open (reported on 1.11)",
)

QUANTIZABLE_LSTM_BIDIRECTIONAL_LAYERS = KnownBug(
    issue=ISSUE_QUANTIZABLE_LSTM_BIDIRECTIONAL,
    summary=(
        "torch.ao.nn.quantizable.LSTM with num_layers > 1 and bidirectional=True builds its "
        "later layers to read hidden_size features instead of 2 * hidden_size, and its "
        "forward raises 'mat1 and mat2 shapes cannot be multiplied (2x6 and 3x12)'"
    ),
    affects=">=2.0",
    measured=(
        "torch.ao.nn.quantizable.LSTM(4, 3, num_layers=2, bidirectional=True) on (5, 2, 4): "
        "the RuntimeError on every release from 2.0.1 to 2.15.0 (built by from_float from an "
        "nn.LSTM it runs, within 4e-3 of float)"
    ),
    upstream="open (reported on 1.11)",
)

EXPORT_LSTM_DYNAMIC_TIME = KnownBug(
    issue=ISSUE_EXPORT_DYNAMIC_LSTM,
    summary=(
        "torch.export.export of nn.LSTM with a dynamic time axis (dynamic_shapes with a "
        "torch.export.Dim) specialises the axis to the traced length and raises UserError "
        "'Constraints violated (time)!'"
    ),
    affects=">=2.3",
    measured=(
        "nn.LSTM(8, 16, batch_first=True) held as a child, traced on (2, 11, 8) with the time "
        "axis a Dim(min=2, max=3000): 2.2.2 exports, and the program runs 7 steps as eager "
        "does; every release from 2.3.1 to 2.15.0 raises the UserError (2.0 and 2.1 have no "
        "torch.export.Dim)"
    ),
    upstream=(
        "open, as is pytorch/pytorch#126339 (RNN/GRU/LSTM with a dynamic batch or time axis)"
    ),
)

EXPORT_GRU_DYNAMIC_TIME = KnownBug(
    issue=ISSUE_EXPORT_DYNAMIC_RNN,
    summary=(
        "torch.export.export of nn.GRU with a dynamic time axis (dynamic_shapes with a "
        "torch.export.Dim) specialises the axis to the traced length and raises UserError "
        "'Constraints violated (time)!'"
    ),
    affects=">=2.2",
    measured=(
        "nn.GRU(8, 16, batch_first=True), and nn.GRU(39, 16, 2, batch_first=True), held as a "
        "child, traced on 11 steps with the time axis a Dim(min=2, max=3000): the UserError "
        "on every release from 2.2.2 to 2.15.0 (2.0 and 2.1 have no torch.export.Dim)"
    ),
    upstream="open; it points to pytorch/pytorch#115092 (the same for nn.LSTM), also open",
)

LEDGER: tuple[KnownBug, ...] = (
    UNPAD_SEQUENCE_TRANSPOSES_INPUT,
    LSTM_CELL_UNBATCHED_INPUT_SEGFAULT,
    EXPORT_RNN_ATTRIBUTE_ASSIGNMENT,
    EXPORT_LSTM_PROJECTION_STATE_SHAPE,
    EXPORT_LSTM_STATE_SHAPE,
    ONNXSCRIPT_GRU_LINEAR_BEFORE_RESET,
    DYNAMO_RNN_GRAPH_BREAK_NOT_RESUMED,
    LSTM_WITHOUT_STATE_SKIPS_INPUT_CHECKS,
    ONEDNN_LSTM_ACCEPTS_A_ZERO_LENGTH_SEQUENCE,
    RNN_FOURTH_POSITIONAL_ARGUMENT_IS_BIAS,
    LSTM_PACKED_INPUT_SKIPS_INPUT_CHECKS,
    ONNX_DYNAMO_LSTM_STATE_SQUEEZE,
    ONEDNN_LSTM_DOUBLE_BACKWARD,
    CELL_STATE_RANK_UNCHECKED,
    LSTM_CELL_BARE_TENSOR_STATE_SEGFAULT,
    PACKED_LSTM_CELL_STATE_LAYERS_UNCHECKED,
    VMAP_RNN_NO_BATCHING_RULE,
    QUANTIZED_LSTM_PROJECTION_FAILS,
    QUANTIZABLE_LSTM_BIDIRECTIONAL_LAYERS,
    EXPORT_LSTM_DYNAMIC_TIME,
    EXPORT_GRU_DYNAMIC_TIME,
)
