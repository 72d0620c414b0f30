"""`rnnspec bench`: time the tutorial models and the training loop, then summarise the timings.

    rnnspec bench [--quick] [--compare [NUM]] [--compare-fail EXPR] [--rounds N] [pytest args...]
    rnnspec bench --summary-only [--from JSON] [--report-json REPORT]

The timings are pytest-benchmark tests under benchmarks/, never part of the
default test run (pytest.ini's testpaths are specs and tests). They always run
in one process: `-p no:xdist`, and pytest.ini's `--dist` is dropped from
addopts, because pytest-benchmark switches itself off whenever xdist is active.

Each run is saved as benchmarks/results/<machine id>/NNNN_torch-<version>[-quick].json
(pytest-benchmark's storage; the machine id, torch's version, the CPU capability
and the thread count are in its machine_info) and copied to
benchmarks/results/latest.json; the summary, with the ratios the training
loop is held to, goes to benchmarks/results/latest.md.

`--compare` fails the run when any median is more than 15% above the last
saved run of this machine (or run NUM): wide enough for the ordinary spread
of single-round timings on a quiet machine, narrow enough to catch what is
worth catching (a per-image data pipeline back in the loop, a host sync per
step, a lost oneDNN kernel each cost more than that).

FLOPs are counted analytically, matrix products only (see `recurrent_forward_flop`).
"""

from __future__ import annotations

import argparse
import configparser
import itertools
import json
import shlex
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnspec.tool.markdown import table

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO_ROOT / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
LATEST_JSON = RESULTS_DIR / "latest.json"
LATEST_MD = RESULTS_DIR / "latest.md"
COMPARE_FAIL = "median:15%"  # see the module docstring

# Targets of "Fast: training at the speed of the kernels".
FACT_OVER_TUTORIAL_TARGET = 0.9  # the spec's training loop at most 90% of the tutorial's time
FACT_OVER_BARE_TARGET = 1.05  # at most 5% above the bare forward/backward/Adam steps

# ----------------------------------------------------------------------------------------------
# FLOP counts

# Gate blocks per layer: the stacked weight_ih / weight_hh have GATES * hidden_size rows.
GATES = {"rnn": 1, "lstm": 4, "gru": 3}

# Backward costs about twice the forward: for every forward product X @ W it computes
# dX = dY @ W^T and dW = X^T @ dY, each as large as the forward one.
BACKWARD_OVER_FORWARD = 2
TRAINING_STEP_FACTOR = 1 + BACKWARD_OVER_FORWARD  # forward + backward = 3 x forward


def recurrent_forward_flop(
    kind: str, batch: int, steps: int, input_size: int, hidden_size: int, num_layers: int = 1
) -> int:
    """Matrix-product FLOPs of one forward pass of a unidirectional nn.RNN / nn.LSTM / nn.GRU.

    Per time step, per layer l, per sequence, the gates are [x_t, h_(t-1)] @ [W_ih; W_hh]^T:
    G*H*(I_l + H) multiply-adds, G the gate count (RNN 1, LSTM 4, GRU 3), I_l the layer's
    input size (input_size for layer 0, hidden_size above), one multiply-add = 2 FLOPs:

        FLOP = sum over layers l of  2 * batch * steps * G * H * (I_l + H)

    Equivalently 2 * batch * steps * (number of elements of all weight_ih / weight_hh).
    Not counted: bias additions, gate nonlinearities and the elementwise cell update,
    O(G * H) per step against O(G * H * (I_l + H)); for the 2 x 128 LSTM under 2%.
    """
    gates = GATES[kind]
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else hidden_size
        total += 2 * batch * steps * gates * hidden_size * (layer_input + hidden_size)
    return total


def lstm_classifier_forward_flop(batch: int, length: int, hidden: int) -> int:
    """One forward pass of the seed models' 2-layer LSTMClassifier (28 features, 10 classes)."""
    return recurrent_forward_flop("lstm", batch, length, 28, hidden, 2) + linear_forward_flop(
        batch, hidden, 10
    )


def linear_forward_flop(batch: int, in_features: int, out_features: int) -> int:
    """FLOPs of nn.Linear on [batch, in_features]: 2 * batch * in * out (bias not counted)."""
    return 2 * batch * in_features * out_features


def matmul_flop(m: int, k: int, n: int) -> int:
    """FLOPs of (m x k) @ (k x n): m * n * k multiply-adds, 2 FLOPs each."""
    return 2 * m * k * n


# ----------------------------------------------------------------------------------------------
# The pytest command


def save_name(quick: bool = False) -> str:
    """`torch-<version>`, `-quick` appended for runs without the trainings."""
    import torch

    return f"torch-{torch.__version__}" + ("-quick" if quick else "")


def benchmark_options(out_json: Path) -> list[str]:
    """pytest options of every benchmark run: one process (timings undisturbed by xdist
    workers), benchmarks only, results as JSON in `out_json`."""
    return [
        "-p",
        "no:xdist",
        "-o",
        f"addopts={addopts_without_xdist()}",
        "--benchmark-only",
        f"--benchmark-json={out_json}",
    ]


def addopts_without_xdist(ini: Path = REPO_ROOT / "pytest.ini") -> str:
    """pytest.ini's addopts without xdist's options (--dist, -n), which `-p no:xdist` rejects."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini)
    tokens = shlex.split(parser.get("pytest", "addopts", fallback=""))
    kept: list[str] = []
    skip_value = False
    for token in tokens:
        if skip_value:
            skip_value = False
            continue
        if token in ("--dist", "-n", "--numprocesses", "--maxprocesses"):
            skip_value = True
            continue
        if token.startswith(("--dist=", "--numprocesses=", "--maxprocesses=")) or (
            token.startswith("-n") and token[2:].isdigit()
        ):
            continue
        kept.append(token)
    return shlex.join(kept)


def pytest_args(
    *,
    quick: bool = False,
    compare: bool | str = False,
    compare_fail: str = COMPARE_FAIL,
    rounds: int | None = None,
    save: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The pytest command line of `rnnspec bench`."""
    args = [
        str(BENCH_DIR),
        *benchmark_options(LATEST_JSON),
        f"--benchmark-storage=file://{RESULTS_DIR}",
        f"--benchmark-save={save or save_name(quick)}",
    ]
    if quick:
        args += ["-m", "not slow"]
    if compare:
        args.append("--benchmark-compare" if compare is True else f"--benchmark-compare={compare}")
        args.append(f"--benchmark-compare-fail={compare_fail}")
    if rounds is not None:
        args.append(f"--bench-rounds={rounds}")
    return [*args, *extra]


# ----------------------------------------------------------------------------------------------
# Reading a pytest-benchmark JSON


def load_results(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def benchmark_medians(path: str | Path) -> list[dict[str, Any]]:
    """[{name, median_s}] of every benchmark in a pytest-benchmark JSON, in the file's order.

    The name is pytest-benchmark's short name (`test_forward[cpu-lstm-2x128]`) unless two
    benchmarks share it, then the full node id. Ready for report.json's "benchmarks" key.
    """
    benchmarks = load_results(path)["benchmarks"]
    names = [b["name"] for b in benchmarks]
    return [
        {
            "name": b["name"] if names.count(b["name"]) == 1 else b["fullname"],
            "median_s": median_s(b),
        }
        for b in benchmarks
    ]


def summarise_rounds(rounds: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One release's benchmark entries from its rounds (each a `benchmark_medians` list).

    Each entry: "median_s", the median of the per-round medians; "rounds_s", those medians
    in round order; "noise_band", their relative spread, (max - min) / median_s, or None
    with fewer than two rounds. On a shared machine the spread of one release's rounds is
    the noise a difference between two releases has to exceed (`beyond_noise`).
    """
    per_name: dict[str, list[float]] = {}
    for one_round in rounds:
        for entry in one_round:
            per_name.setdefault(entry["name"], []).append(float(entry["median_s"]))
    entries = []
    for name, seconds in per_name.items():
        median = statistics.median(seconds)
        band = (max(seconds) - min(seconds)) / median if len(seconds) > 1 and median else None
        entries.append({"name": name, "median_s": median, "noise_band": band, "rounds_s": seconds})
    return entries


def beyond_noise(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """after's median over before's when it differs by more than the wider of their noise
    bands; None when it does not, or when either entry has no band (one round cannot tell
    a change from noise)."""
    bands = [before.get("noise_band"), after.get("noise_band")]
    if None in bands or not before["median_s"]:
        return None
    ratio = after["median_s"] / before["median_s"]
    return ratio if abs(ratio - 1) > max(bands) else None


def cross_release_lines(timed: Sequence[tuple[str, Sequence[dict[str, Any]]]]) -> list[str]:
    """Markdown: each benchmark's median per release (with its noise band), then the changes
    between adjacent releases that lie outside the noise (`beyond_noise`)."""
    labels = [label for label, _ in timed]
    by_name: dict[str, dict[str, dict[str, Any]]] = {}
    for label, entries in timed:
        for entry in entries:
            by_name.setdefault(entry["name"], {})[label] = entry

    def shown(entry: dict[str, Any] | None) -> str:
        if entry is None:
            return "—"
        band = entry.get("noise_band")
        return _seconds(entry["median_s"]) + ("" if band is None else f" (spread {band:.0%})")

    rows = [
        [f"`{name}`", *(shown(row.get(label)) for label in labels)] for name, row in by_name.items()
    ]
    changes = []
    for name, row in by_name.items():
        present = [label for label in labels if label in row]
        for old, new in itertools.pairwise(present):
            ratio = beyond_noise(row[old], row[new])
            if ratio is not None:
                how = "slower" if ratio > 1 else "faster"
                changes.append(f"- `{name}`: {old} → {new}: {ratio:.2f}x ({how})")
    rounds = max((len(e.get("rounds_s") or []) for _, es in timed for e in es), default=0)
    return [
        f"Median of {rounds} interleaved rounds per release (each round times every release "
        "once, in turn); the spread is (max - min) / median of a release's per-round medians, "
        "its noise band. A change counts when it exceeds the wider band of the two releases.",
        "",
        *table(["benchmark", *labels], rows, align="l" + "r" * len(labels)),
        "",
        "Changes between adjacent releases beyond both releases' noise bands:",
        "",
        *(changes or ["- none" + ("" if rounds > 1 else ": one round gives no noise band")]),
    ]


def merge_into_report(report_json: str | Path, medians: list[dict[str, Any]]) -> None:
    """Set the benchmarks of an existing report.json to `medians`."""
    from rnnspec.schema import Report

    path = Path(report_json)
    report = Report.read(path)
    report.benchmarks = list(medians)
    path.write_bytes(report.to_json())


def _find(
    benchmarks: list[dict[str, Any]], role: str, device: str, **info: Any
) -> dict[str, Any] | None:
    for bench in benchmarks:
        extra = bench.get("extra_info", {})
        if extra.get("role") != role or extra.get("device") != device:
            continue
        if all(extra.get(key) == value for key, value in info.items()):
            return bench
    return None


def median_s(bench: dict[str, Any]) -> float:
    return float(bench["stats"]["median"])


def gflops(bench: dict[str, Any]) -> float | None:
    """FLOP count in extra_info over the median time, in GFLOP/s; None without a count."""
    flop = bench.get("extra_info", {}).get("flop")
    return None if flop is None else flop / median_s(bench) / 1e9


@dataclass(frozen=True)
class Ratio:
    """One ratio the summary reports, with the benchmarks it divides and its target."""

    name: str
    device: str
    value: float | None  # None: one side was not measured in this run
    numerator: str
    denominator: str
    target: float | None = None  # the ratio must be <= target

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not measured"
        if self.target is None:
            return ""
        return "met" if self.value <= self.target else "MISSED"


def _time_ratio(
    name: str, device: str, top: dict | None, bottom: dict | None, target: float | None = None
) -> Ratio:
    value = median_s(top) / median_s(bottom) if top and bottom else None
    return Ratio(
        name,
        device,
        value,
        top["name"] if top else "(not in this run)",
        bottom["name"] if bottom else "(not in this run)",
        target,
    )


def _rate_ratio(name: str, device: str, rate: dict | None, matmuls: list[dict[str, Any]]) -> Ratio:
    """GFLOP/s of `rate` over the best GFLOP/s among `matmuls`."""
    best = max(matmuls, key=lambda b: gflops(b) or 0.0, default=None)
    value = None
    if rate is not None and best is not None:
        top, bottom = gflops(rate), gflops(best)
        value = top / bottom if top is not None and bottom else None
    return Ratio(
        name,
        device,
        value,
        rate["name"] if rate else "(not in this run)",
        best["name"] if best else "(not in this run)",
    )


def ratios(data: dict[str, Any]) -> list[Ratio]:
    """The ratios of the "Fast" goal, per device seen in the results.

    - training fact / tutorial loop (float32 wall time; target <= 0.9)
    - training fact / bare compute (float32 wall time; target <= 1.05)
    - LSTM training GFLOP/s / matmul peak: the 2 x 128 LSTM's forward+backward rate against
      the best large square float32 matmul, and against the best LSTM-shaped one
    - bfloat16 / float32 training fact time
    """
    benchmarks = data["benchmarks"]
    devices = sorted({b.get("extra_info", {}).get("device") for b in benchmarks} - {None})
    out: list[Ratio] = []
    for device in devices:
        fact = _find(benchmarks, "training_fact", device, dtype="float32")
        fact_bf16 = _find(benchmarks, "training_fact", device, dtype="bfloat16")
        tutorial = _find(benchmarks, "tutorial_loop", device)
        bare = _find(benchmarks, "bare_compute", device)
        out.append(
            _time_ratio(
                "training fact / tutorial loop", device, fact, tutorial, FACT_OVER_TUTORIAL_TARGET
            )
        )
        out.append(
            _time_ratio("training fact / bare compute", device, fact, bare, FACT_OVER_BARE_TARGET)
        )
        rate = _find(benchmarks, "lstm_training_rate", device)
        matmuls = [b for b in benchmarks if _find([b], "matmul", device)]
        square = [b for b in matmuls if not b["extra_info"].get("lstm_shaped")]
        shaped = [b for b in matmuls if b["extra_info"].get("lstm_shaped")]
        out.append(
            _rate_ratio("LSTM training GFLOP/s / matmul peak (large square)", device, rate, square)
        )
        out.append(
            _rate_ratio("LSTM training GFLOP/s / matmul at LSTM shapes", device, rate, shaped)
        )
        out.append(_time_ratio("bfloat16 / float32 training fact", device, fact_bf16, fact))
    return out


# ----------------------------------------------------------------------------------------------
# The Markdown summary


def _seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.1f} µs"


def _rate(gflop_per_s: float | None) -> str:
    if gflop_per_s is None:
        return ""
    return f"{gflop_per_s:.1f}" if gflop_per_s >= 1 else f"{gflop_per_s:.3g}"


def _notes(extra: dict[str, Any]) -> str:
    notes = []
    if "accuracy" in extra:
        notes.append(f"accuracy {extra['accuracy']:.2f}%")
    return ", ".join(notes)


def summary_markdown(data: dict[str, Any], source: str = "") -> str:
    """A Markdown page: the machine, every benchmark's median, and the ratios."""
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {})
    torch_info = machine.get("torch", {})
    lines = [
        "# rnnspec benchmarks",
        "",
        f"- torch {torch_info.get('version', '?')}, CPU capability "
        f"{torch_info.get('cpu_capability', '?')}, {torch_info.get('num_threads', '?')} threads, "
        f"CUDA {torch_info.get('cuda_device') or 'not available'}",
        f"- machine {machine.get('machine_id', '?')}: {cpu.get('brand_raw', '?')} "
        f"({cpu.get('count', '?')} logical CPUs), node {machine.get('node', '?')}",
        f"- run {data.get('datetime', '?')}" + (f", from `{source}`" if source else ""),
        "",
        "| benchmark | median | rounds | GFLOP/s | notes |",
        "|---|---:|---:|---:|---|",
    ]
    for bench in data["benchmarks"]:
        rate = gflops(bench)
        lines.append(
            f"| `{bench['name']}` | {_seconds(median_s(bench))} | {bench['stats']['rounds']} | "
            f"{_rate(rate)} | {_notes(bench.get('extra_info', {}))} |"
        )
    lines += [
        "",
        "## Ratios",
        "",
        "| device | ratio | value | target | verdict | numerator / denominator |",
        "|---|---|---:|---:|---|---|",
    ]
    for ratio in ratios(data):
        value = "—" if ratio.value is None else f"{ratio.value:.3f}"
        target = "" if ratio.target is None else f"<= {ratio.target}"
        lines.append(
            f"| {ratio.device} | {ratio.name} | {value} | {target} | {ratio.verdict} | "
            f"`{ratio.numerator}` / `{ratio.denominator}` |"
        )
    lines += [
        "",
        "FLOPs count matrix products only: an LSTM layer does 2·N·L·4H·(I+H) per forward pass "
        "(see `rnnspec.tool.bench.recurrent_forward_flop`); forward+backward counts 3x forward.",
        "",
    ]
    return "\n".join(lines)


def write_summary(
    results: str | Path = LATEST_JSON,
    out: str | Path = LATEST_MD,
    report_json: str | Path | None = None,
) -> Path:
    """Write the Markdown summary of `results`; merge its medians into `report_json` if given."""
    data = load_results(results)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(summary_markdown(data, source=str(results)))
    if report_json is not None:
        merge_into_report(report_json, benchmark_medians(results))
    return out


# ----------------------------------------------------------------------------------------------
# The subcommand


def cmd_bench(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """Run the benchmarks (unless --summary-only), then write the summary."""
    if args.summary_only:
        results = Path(args.results)
        if not results.is_file():
            print(f"rnnspec bench: no results at {results}; run `rnnspec bench` first")
            return 2
        written = write_summary(results, LATEST_MD, args.report_json)
        print(f"rnnspec bench: summary in {written}")
        return 0
    if not BENCH_DIR.is_dir():
        print(f"rnnspec bench needs a source checkout: {BENCH_DIR} does not exist")
        return 2
    import pytest

    LATEST_JSON.unlink(missing_ok=True)
    code = int(
        pytest.main(
            pytest_args(
                quick=args.quick,
                compare=args.compare,
                compare_fail=args.compare_fail,
                rounds=args.rounds,
                extra=extra,
            )
        )
    )
    if LATEST_JSON.is_file():
        written = write_summary(LATEST_JSON, LATEST_MD, args.report_json)
        print(f"rnnspec bench: results in {RESULTS_DIR}/, summary in {written}")
    return code


def register(sub: argparse._SubParsersAction) -> None:
    """Register `rnnspec bench` on the CLI's subparsers."""
    bench = sub.add_parser(
        "bench",
        help="time the models and the training loop (pytest-benchmark), write a summary",
        description=(
            "Runs benchmarks/ in one process and saves the results under benchmarks/results/. "
            "Extra arguments go to pytest, e.g. --mnist-root DIR, -k forward."
        ),
    )
    bench.add_argument(
        "--quick", action="store_true", help="skip the 2-epoch trainings (-m 'not slow')"
    )
    bench.add_argument(
        "--compare",
        nargs="?",
        const=True,
        default=False,
        metavar="NUM",
        help="compare with the last saved run of this machine (or run NUM) and fail on a "
        "regression beyond --compare-fail",
    )
    bench.add_argument(
        "--compare-fail",
        default=COMPARE_FAIL,
        help="pytest-benchmark --benchmark-compare-fail expression (default "
        + COMPARE_FAIL.replace("%", "%%")
        + ")",
    )
    bench.add_argument(
        "--rounds", type=int, default=None, help="rounds of each training run (default 1)"
    )
    bench.add_argument(
        "--summary-only", action="store_true", help="only write the summary of saved results"
    )
    bench.add_argument(
        "--from",
        dest="results",
        default=str(LATEST_JSON),
        help="results JSON the summary reads (default benchmarks/results/latest.json)",
    )
    bench.add_argument(
        "--report-json", default=None, help="also set the 'benchmarks' key of this report.json"
    )
    bench.set_defaults(func=cmd_bench)
