"""Reproduce the sweep's candidates on the installed torch: one child interpreter each.

    uv run --isolated --no-project --python 3.11 --with torch==VER --with torchvision \\
        [--with "numpy<2"] python docs/sweep/reproduce.py [NAME ...]

Prints one JSON line per candidate: its name, the torch release, and what it did: the
value it returned, the exception it raised (type and first line), the signal that killed
the child, or a timeout. The candidates are the sweep's (docs/sweep/2026-12-upstream-sweep.md),
each reduced to the thread's reproducer on CPU. Nothing here is a verdict: the facts in
specs/ are; this is how the releases each fact's ledger entry names were found.
`python docs/sweep/reproduce.py --table results/*.jsonl` lays releases side by side; the
December 2026 sweep's lines are in docs/sweep/results/, their table in results.txt.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys


def c01_double_backward_float32_lstm() -> str:
    import torch

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 6)
    x = torch.randn(5, 3, 4, requires_grad=True)
    out, _ = lstm(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    (g2,) = torch.autograd.grad((g**2).sum(), x)
    return f"ok, second gradient norm {g2.norm():.4g}"


def c02_vmap_over_gru() -> str:
    import torch
    from torch.func import vmap

    rnn = torch.nn.GRU(10, 2, 1)
    x = torch.randn(4, 5, 10)
    h0 = torch.zeros(4, 1, 2)
    out = vmap(lambda x, h: rnn(x, h)[0])(x, h0)
    ref = torch.stack([rnn(x[i], h0[i])[0] for i in range(4)])
    return f"ok, max diff {(out - ref).abs().max():.3g}"


def c02b_vmap_over_lstm() -> str:
    import torch
    from torch.func import vmap

    rnn = torch.nn.LSTM(10, 2, 1)
    x = torch.randn(4, 5, 10)
    out = vmap(lambda x: rnn(x)[0])(x)
    ref = torch.stack([rnn(x[i])[0] for i in range(4)])
    return f"ok, max diff {(out - ref).abs().max():.3g}"


def c03_export_dynamic_gru() -> str:
    import torch
    from torch.export import Dim, export

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(39, 16, 2, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0]

    m = M().eval()
    x = torch.randn(2, 11, 39)
    ep = export(
        m, (x,), dynamic_shapes=({0: Dim("batch", max=1024), 1: Dim("time", min=2, max=3000)},)
    )
    y = torch.randn(3, 7, 39)
    got = ep.module()(y)
    return f"ok, shape {tuple(got.shape)} max diff {(got - m(y)).abs().max():.3g}"


def c03b_export_dynamic_lstm() -> str:
    import torch
    from torch.export import Dim, export

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(8, 16, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0]

    m = M().eval()
    x = torch.randn(2, 11, 8)
    ep = export(m, (x,), dynamic_shapes=({1: Dim("time", min=2, max=3000)},))
    y = torch.randn(2, 7, 8)
    got = ep.module()(y)
    return f"ok, shape {tuple(got.shape)} max diff {(got - m(y)).abs().max():.3g}"


def c03c_export_dynamic_gru_one_layer() -> str:
    import torch
    from torch.export import Dim, export

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(8, 16, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0]

    m = M().eval()
    ep = export(m, (torch.randn(2, 11, 8),), dynamic_shapes=({1: Dim("time", min=2, max=3000)},))
    y = torch.randn(2, 7, 8)
    got = ep.module()(y)
    return f"ok, shape {tuple(got.shape)} max diff {(got - m(y)).abs().max():.3g}"


def c04_export_packed_lstm() -> str:
    import torch
    import torch.nn as nn

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(10, 20, batch_first=True)

        def forward(self, x, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(
                x, lengths, batch_first=True, enforce_sorted=False
            )
            output, _ = self.rnn(packed)
            output, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True)
            return output

    torch.export.export(RNNModel().eval(), (torch.randn(3, 5, 10), torch.tensor([5, 3, 2])))
    return "ok, exported"


def c05_pad_packed_increasing_batch_sizes() -> str:
    import torch
    from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

    bad = PackedSequence(torch.randn(6, 3), torch.tensor([1, 2, 3]))
    out, lengths = pad_packed_sequence(bad)
    return f"returned {tuple(out.shape)} lengths {lengths.tolist()}"


def c05b_unpack_sequence_increasing_batch_sizes() -> str:
    import torch
    from torch.nn.utils.rnn import PackedSequence, unpack_sequence

    bad = PackedSequence(torch.randn(6, 3), torch.tensor([1, 2, 3]))
    seqs = unpack_sequence(bad)
    return f"returned {[tuple(s.shape) for s in seqs]}"


def c06_pack_lengths_longer_than_time() -> str:
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    x = torch.randn(3, 5, 3)
    packed = pack_padded_sequence(x, [4, 2, 3], batch_first=False, enforce_sorted=False)
    out, lengths = pad_packed_sequence(packed)
    return f"returned {tuple(out.shape)} lengths {lengths.tolist()}"


def c07_gru_cell_rank5_state() -> str:
    import torch

    m = torch.nn.GRUCell(1, 1)
    out = m(torch.randn(1, 1), torch.randn(1, 1, 5, 127, 1))
    return f"returned {tuple(out.shape)}"


def c07b_rnn_cell_rank5_state() -> str:
    import torch

    m = torch.nn.RNNCell(1, 1)
    out = m(torch.randn(1, 1), torch.randn(1, 1, 5, 127, 1))
    return f"returned {tuple(out.shape)}"


def c07c_lstm_cell_rank5_state() -> str:
    import torch

    c = torch.nn.LSTMCell(1, 1)
    h, _ = c(torch.randn(1, 1), (torch.randn(1, 1, 5, 127, 1), torch.randn(1, 1)))
    return f"returned {tuple(h.shape)}"


def c08_lstm_cell_bare_3d_state() -> str:
    import torch

    cell = torch.nn.LSTMCell(input_size=3, hidden_size=3)
    h, c = cell(torch.randn(3), torch.zeros(2, 3, 3))
    return f"returned {tuple(h.shape)} {tuple(c.shape)}"


def c09_aten_lstm_data_layer_mismatch() -> str:
    import torch

    data = torch.randn(10, 8)
    batch_sizes = torch.tensor([10])
    h_0 = torch.randn(4, 1, 1)
    c_0 = torch.randn(3, 2, 1)
    params = [torch.randn(32, 8), torch.randn(32, 8)] * 3
    out = torch.ops.aten.lstm.data(
        data, batch_sizes, [h_0, c_0], params, False, 3, 0.0, False, False
    )
    return f"returned {[tuple(t.shape) for t in out]}"


def c09b_packed_lstm_cell_state_fewer_layers() -> str:
    import torch

    lstm = torch.nn.LSTM(8, 8, num_layers=3)
    p = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(5, 2, 8), [5, 3])
    out, (h, c) = lstm(p, (torch.zeros(3, 2, 8), torch.zeros(2, 2, 8)))
    return f"returned h {tuple(h.shape)} c {tuple(c.shape)}"


def c09c_packed_lstm_cell_state_more_layers() -> str:
    import torch

    lstm = torch.nn.LSTM(8, 8, num_layers=2)
    p = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(5, 2, 8), [5, 3])
    out, (h, c) = lstm(p, (torch.zeros(2, 2, 8), torch.zeros(3, 2, 8)))
    return f"returned h {tuple(h.shape)} c {tuple(c.shape)}"


def c10_compile_allow_rnn_state_rank() -> str:
    import torch

    torch._dynamo.config.allow_rnn = True
    lstm = torch.nn.LSTM(8, 8, num_layers=2).double()
    x = torch.zeros(1, 3, 8, dtype=torch.float64)
    h = (torch.zeros(2, 3, 8, dtype=torch.float64), torch.zeros(2, 3, 8, dtype=torch.float64))

    def f(x, h):
        out, (hn, cn) = lstm(x, h)
        return hn, cn

    hn, cn = torch.compile(f, backend="eager")(x, h)
    return f"compiled h_n {tuple(hn.shape)} c_n {tuple(cn.shape)}"


def c10b_compile_allow_rnn_float32() -> str:
    import torch

    torch._dynamo.config.allow_rnn = True
    lstm = torch.nn.LSTM(8, 8, num_layers=2)
    x = torch.randn(4, 3, 8)

    def f(x):
        out, (hn, cn) = lstm(x)
        return out, hn, cn

    out, hn, cn = torch.compile(f, backend="eager")(x)
    ref = f(x)
    return f"compiled out {tuple(out.shape)} h_n {tuple(hn.shape)} diff {(out - ref[0]).abs().max():.3g}"


def c11_parametrized_lstm_weight() -> str:
    import torch
    from torch.nn.utils import parametrize

    class Scale(torch.nn.Module):
        def forward(self, w):
            return 2 * w

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    ref = torch.nn.LSTM(3, 4)
    ref.load_state_dict(lstm.state_dict())
    with torch.no_grad():
        ref.weight_hh_l0.mul_(2)
    parametrize.register_parametrization(lstm, "weight_hh_l0", Scale())
    out, _ = lstm(x)
    diff = (out - ref(x)[0]).abs().max().item()
    out.sum().backward()
    grad = lstm.parametrizations.weight_hh_l0.original.grad
    # after an update of the original, the forward must follow
    with torch.no_grad():
        lstm.parametrizations.weight_hh_l0.original.add_(0.5)
        ref.weight_hh_l0.add_(1.0)
    diff2 = (lstm(x)[0] - ref(x)[0]).abs().max().item()
    return f"forward diff {diff:.3g}, original grad {'None' if grad is None else 'set'}, after update {diff2:.3g}"


def c12_bfloat16_lstm() -> str:
    import torch

    lstm = torch.nn.LSTM(8, 16, batch_first=True).to(torch.bfloat16)
    out, _ = lstm(torch.randn(2, 5, 8, dtype=torch.bfloat16))
    cpu = getattr(torch.backends, "cpu", None)
    capability = cpu.get_cpu_capability() if cpu is not None else "unknown"
    return f"ok {out.dtype}, capability {capability}"


def c12b_bfloat16_autocast_lstm() -> str:
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = torch.nn.LSTM(8, 16)(torch.randn(5, 2, 8))
    return f"ok {out.dtype}"


def c13_quantize_dynamic_lstm_proj() -> str:
    import torch
    import torch.nn as nn
    from torch.ao.quantization import quantize_dynamic

    torch.manual_seed(0)
    m = nn.Sequential(nn.LSTM(12, 24, proj_size=8))
    q = quantize_dynamic(m, {nn.LSTM}, dtype=torch.qint8)
    x = torch.randn(10, 2, 12)
    out, (h, c) = q[0](x)
    ref, _ = m[0](x)
    return f"returned {tuple(out.shape)} h {tuple(h.shape)}; type {type(q[0]).__name__}; diff {(out - ref).abs().max():.3g}"


def c15_quantizable_lstm_bidirectional_2_layers() -> str:
    import torch
    from torch.ao.nn.quantizable import LSTM as QLSTM

    torch.manual_seed(0)
    q = QLSTM(4, 3, num_layers=2, bidirectional=True)
    out, (h, c) = q(torch.randn(5, 2, 4))
    return f"returned {tuple(out.shape)} h {tuple(h.shape)}"


def c15b_quantizable_lstm_from_float_matches() -> str:
    import torch
    from torch.ao.nn.quantizable import LSTM as QLSTM

    torch.manual_seed(0)
    ref = torch.nn.LSTM(4, 3, num_layers=2, bidirectional=True)
    ref.qconfig = torch.ao.quantization.default_qconfig
    q = QLSTM.from_float(ref)
    x = torch.randn(5, 2, 4)
    out, _ = q(x)
    want, _ = ref(x)
    return f"returned {tuple(out.shape)}, max diff {(out - want).abs().max():.3g}"


def c16_compile_pad_sequence_left() -> str:
    import torch
    from torch.nn.utils.rnn import pad_sequence

    a, b = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([4.0, 5.0])

    def f(a, b):
        return pad_sequence([a, b], batch_first=True, padding_side="left")

    eager = f(a, b)
    compiled = torch.compile(f, backend="aot_eager")(a, b)
    return f"eager {eager.tolist()} compiled {compiled.tolist()}"


def c17_rnn_relu_onnx_dynamo() -> str:
    import torch

    m = torch.nn.RNN(4, 5, nonlinearity="relu")
    prog = torch.onnx.export(m, (torch.randn(3, 2, 4),), dynamo=True)
    return f"ok {type(prog).__name__}"


CANDIDATES = {
    name: fn
    for name, fn in sorted(globals().items())
    if name.startswith("c") and callable(fn) and name[1:3].isdigit()
}


def run_one(name: str) -> None:
    try:
        result = {"returned": CANDIDATES[name]()}
    except BaseException as error:
        first = (str(error).strip().splitlines() or [""])[0][:300]
        result = {"raised": f"{type(error).__name__}: {first}"}
    print("RESULT " + json.dumps(result), flush=True)


def main(names: list[str]) -> None:
    import torch

    for name in names or list(CANDIDATES):
        try:
            child = subprocess.run(
                [sys.executable, __file__, "--one", name],
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            row = {"timed out": 300}
        else:
            lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
            if lines:
                row = json.loads(lines[-1][len("RESULT ") :])
            elif child.returncode < 0:
                row = {
                    "killed": signal.Signals(-child.returncode).name,
                    "stderr": child.stderr.strip()[-200:],
                }
            else:
                row = {"exit": child.returncode, "stderr": child.stderr.strip()[-300:]}
        print(json.dumps({"torch": torch.__version__, "candidate": name, **row}), flush=True)


def table(paths: list[str]) -> None:
    """Print the JSON lines of several releases' runs as one block per candidate."""
    rows: dict[str, dict[str, str]] = {}
    for path in paths:
        with open(path) as lines:
            for line in lines:
                row = json.loads(line)
                what = {k: v for k, v in row.items() if k not in ("torch", "candidate")}
                rows.setdefault(row["candidate"], {})[row["torch"]] = " ".join(
                    map(str, what.values())
                )

    def release_order(release: str) -> tuple[int, ...]:
        return tuple(int(part) for part in release.split("+")[0].split("."))

    for name, seen in rows.items():
        print(name)
        for release, what in sorted(seen.items(), key=lambda item: release_order(item[0])):
            print(f"    {release:<14} {what[:110]}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        run_one(sys.argv[2])
    elif sys.argv[1:2] == ["--table"]:
        table(sys.argv[2:])
    else:
        main(sys.argv[1:])
