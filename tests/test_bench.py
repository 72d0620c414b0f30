"""`rnnspec bench`'s machinery: the pytest command, the FLOP formulas, the summary and ratios.

The benchmarks themselves (benchmarks/) are not run here; the summary is
checked on a small pytest-benchmark JSON built by hand.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from torch import nn

from rnnspec.tool import bench
from rnnspec.tool.cli import build_parser


def fake_bench(name: str, median: float, rounds: int = 1, **extra_info: object) -> dict:
    """One entry as pytest-benchmark 5 writes it (stats per iteration, in seconds)."""
    return {
        "group": None,
        "name": name,
        "fullname": f"benchmarks/test_bench_fake.py::{name}",
        "params": None,
        "param": None,
        "extra_info": extra_info,
        "options": {"disable_gc": False, "timer": "perf_counter", "min_rounds": 5},
        "stats": {
            "min": median * 0.9,
            "max": median * 1.1,
            "mean": median,
            "stddev": 0.0,
            "rounds": rounds,
            "median": median,
            "iqr": 0.0,
            "q1": median,
            "q3": median,
            "iqr_outliers": 0,
            "stddev_outliers": 0,
            "outliers": "0;0",
            "ld15iqr": median,
            "hd15iqr": median,
            "ops": 1 / median,
            "total": median * rounds,
            "iterations": 1,
        },
    }


LSTM_TRAIN_FLOP = 3 * 1_181_286_400  # forward+backward of nn.LSTM(28, 128, 2) on [100, 28, 28]
SQUARE_FLOP = 2 * 2048**3
STEP_FLOP = 2 * 100 * 256 * 512


def fake_results(*benchmarks: dict) -> dict:
    return {
        "machine_info": {
            "node": "vm",
            "machine_id": "Linux-CPython-3.11-64bit",
            "cpu": {"brand_raw": "Fake CPU", "count": 2},
            "torch": {"version": "2.15.0", "cpu_capability": "AVX2", "num_threads": 2},
        },
        "commit_info": {},
        "benchmarks": list(benchmarks),
        "datetime": "2026-01-01T00:00:00+00:00",
        "version": "5.3.1",
    }


FULL_RUN = fake_results(
    fake_bench("test_training_fact[cpu-float32]", 60.0, role="training_fact", device="cpu",
               dtype="float32", accuracy=97.5),
    fake_bench("test_training_fact[cpu-bfloat16]", 45.0, role="training_fact", device="cpu",
               dtype="bfloat16", accuracy=97.0),
    fake_bench("test_tutorial_loop[cpu]", 100.0, role="tutorial_loop", device="cpu"),
    fake_bench("test_bare_compute[cpu]", 58.0, role="bare_compute", device="cpu"),
    fake_bench("test_lstm_training_rate_vs_matmul_peak[cpu]", 0.05, rounds=20,
               role="lstm_training_rate", device="cpu", flop=LSTM_TRAIN_FLOP),
    fake_bench("test_matmul_peak[cpu-square-2048]", 0.1, rounds=9, role="matmul", device="cpu",
               flop=SQUARE_FLOP, lstm_shaped=False),
    fake_bench("test_matmul_peak[cpu-lstm-layer1]", 2e-4, rounds=500, role="matmul",
               device="cpu", flop=STEP_FLOP, lstm_shaped=True),
)  # fmt: skip


def by_name(ratios: list[bench.Ratio]) -> dict[str, bench.Ratio]:
    return {r.name: r for r in ratios}


def test_ratios_of_a_full_run() -> None:
    ratios = by_name(bench.ratios(FULL_RUN))
    rate = LSTM_TRAIN_FLOP / 0.05
    expected = {
        "training fact / tutorial loop": 60 / 100,
        "training fact / bare compute": 60 / 58,
        "LSTM training GFLOP/s / matmul peak (large square)": rate / (SQUARE_FLOP / 0.1),
        "LSTM training GFLOP/s / matmul at LSTM shapes": rate / (STEP_FLOP / 2e-4),
        "bfloat16 / float32 training fact": 45 / 60,
    }
    assert {name: r.value for name, r in ratios.items()} == pytest.approx(expected)
    assert ratios["training fact / tutorial loop"].verdict == "met"  # 0.6 <= 0.9
    assert ratios["training fact / bare compute"].verdict == "met"  # 1.034 <= 1.05
    assert ratios["training fact / bare compute"].denominator == "test_bare_compute[cpu]"


def test_a_ratio_over_its_target_is_missed() -> None:
    slow = fake_results(
        fake_bench("fact", 70.0, role="training_fact", device="cpu", dtype="float32"),
        fake_bench("bare", 60.0, role="bare_compute", device="cpu"),
    )
    ratio = by_name(bench.ratios(slow))["training fact / bare compute"]
    assert ratio.value == pytest.approx(70 / 60)
    assert ratio.verdict == "MISSED"


def test_a_quick_run_leaves_the_training_ratios_unmeasured() -> None:
    quick = fake_results(*[b for b in FULL_RUN["benchmarks"] if b["extra_info"]["role"] in
                           ("matmul", "lstm_training_rate")])  # fmt: skip
    ratios = by_name(bench.ratios(quick))
    assert ratios["training fact / tutorial loop"].value is None
    assert ratios["training fact / tutorial loop"].verdict == "not measured"
    assert ratios["bfloat16 / float32 training fact"].value is None
    assert ratios["LSTM training GFLOP/s / matmul peak (large square)"].value is not None


def test_ratios_are_per_device() -> None:
    both = fake_results(
        fake_bench("fact-cpu", 60.0, role="training_fact", device="cpu", dtype="float32"),
        fake_bench("bare-cpu", 60.0, role="bare_compute", device="cpu"),
        fake_bench("fact-cuda", 10.0, role="training_fact", device="cuda", dtype="float32"),
        fake_bench("bare-cuda", 5.0, role="bare_compute", device="cuda"),
    )
    values = {
        (r.device, r.name): r.value
        for r in bench.ratios(both)
        if r.name == "training fact / bare compute"
    }
    assert values == {("cpu", "training fact / bare compute"): 1.0,
                      ("cuda", "training fact / bare compute"): 2.0}  # fmt: skip


def test_benchmark_medians_lists_name_and_median(tmp_path: Path) -> None:
    data = fake_results(
        fake_bench("test_a[cpu]", 0.5),
        fake_bench("test_b[cpu]", 2.0),
        {**fake_bench("test_b[cpu]", 3.0), "fullname": "benchmarks/other.py::test_b[cpu]"},
    )
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    assert bench.benchmark_medians(path) == [
        {"name": "test_a[cpu]", "median_s": 0.5},
        {"name": "benchmarks/test_bench_fake.py::test_b[cpu]", "median_s": 2.0},
        {"name": "benchmarks/other.py::test_b[cpu]", "median_s": 3.0},
    ]


def test_write_summary_writes_markdown_and_merges_medians(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    results.write_text(json.dumps(FULL_RUN))
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"facts": [], "torch": "2.15.0"}))
    out = bench.write_summary(results, tmp_path / "latest.md", report_json=report)
    text = out.read_text()
    assert "| `test_training_fact[cpu-float32]` | 60.00 s | 1 |  | accuracy 97.50% |" in text
    assert "| `test_matmul_peak[cpu-lstm-layer1]` | 200.0 µs | 500 | 131.1 |  |" in text
    assert "| cpu | training fact / tutorial loop | 0.600 | <= 0.9 | met |" in text
    assert "| cpu | bfloat16 / float32 training fact | 0.750 |" in text
    merged = json.loads(report.read_text())
    assert merged["torch"] == "2.15.0"  # the rest of the report is kept
    assert merged["benchmarks"][0] == {"name": "test_training_fact[cpu-float32]", "median_s": 60.0}
    assert len(merged["benchmarks"]) == len(FULL_RUN["benchmarks"])


def test_summary_only_cli_reads_saved_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "run.json"
    results.write_text(json.dumps(FULL_RUN))
    monkeypatch.setattr(bench, "LATEST_MD", tmp_path / "summary.md")
    args, extra = build_parser().parse_known_args(
        ["bench", "--summary-only", "--from", str(results)]
    )
    assert args.func(args, extra) == 0
    assert "## Ratios" in (tmp_path / "summary.md").read_text()
    args, extra = build_parser().parse_known_args(
        ["bench", "--summary-only", "--from", str(tmp_path / "missing.json")]
    )
    assert args.func(args, extra) == 2


def test_bench_runs_in_one_process_and_saves_under_benchmarks_results() -> None:
    args = bench.pytest_args(save="torch-x", extra=["--mnist-root", "/data"])
    assert args[0] == str(bench.BENCH_DIR)
    assert args[1:3] == ["-p", "no:xdist"]
    assert "--dist" not in args[4]  # pytest.ini's addopts, without xdist's options
    assert "--benchmark-only" in args
    assert f"--benchmark-storage=file://{bench.RESULTS_DIR}" in args
    assert "--benchmark-save=torch-x" in args
    assert f"--benchmark-json={bench.LATEST_JSON}" in args
    assert "-m" not in args
    assert not any(a.startswith("--benchmark-compare") for a in args)
    assert args[-2:] == ["--mnist-root", "/data"]


def test_quick_and_compare_options_become_pytest_options() -> None:
    args = bench.pytest_args(quick=True, compare=True, rounds=3)
    assert args[args.index("-m") + 1] == "not slow"
    assert "--benchmark-compare" in args
    assert "--benchmark-compare-fail=median:15%" in args
    assert "--bench-rounds=3" in args
    assert bench.save_name(quick=True).endswith("-quick")
    against_run_2 = bench.pytest_args(compare="0002", compare_fail="mean:5%")
    assert "--benchmark-compare=0002" in against_run_2
    assert "--benchmark-compare-fail=mean:5%" in against_run_2


def test_cli_bench_options_reach_the_pytest_command() -> None:
    args, extra = build_parser().parse_known_args(["bench", "--quick", "--compare", "-k", "mm"])
    assert args.func is bench.cmd_bench
    assert args.quick
    assert args.compare is True
    assert extra == ["-k", "mm"]


def test_addopts_without_xdist_drops_only_xdist_options(tmp_path: Path) -> None:
    ini = tmp_path / "pytest.ini"
    ini.write_text(
        "[pytest]\naddopts = -ra --dist loadgroup --strict-markers -n 4 -p no:randomly"
        " --dist=load -n2 --numprocesses=auto\n"
    )
    assert shlex.split(bench.addopts_without_xdist(ini)) == [
        "-ra", "--strict-markers", "-p", "no:randomly",
    ]  # fmt: skip


MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@pytest.mark.parametrize(
    ("kind", "input_size", "hidden_size", "num_layers"),
    [
        pytest.param("lstm", 28, 128, 2, id="lstm-28-128-2"),
        pytest.param("rnn", 28, 100, 1, id="rnn-28-100-1"),
        pytest.param("gru", 10, 16, 3, id="gru-10-16-3"),
    ],
)
def test_recurrent_flop_is_two_flop_per_weight_per_step_and_sequence(
    kind: str, input_size: int, hidden_size: int, num_layers: int
) -> None:
    """Each element of every weight_ih / weight_hh is one multiply-add per step per sequence."""
    module = MODULES[kind](input_size, hidden_size, num_layers)
    weights = sum(p.numel() for name, p in module.named_parameters() if name.startswith("weight"))
    flop = bench.recurrent_forward_flop(kind, 7, 5, input_size, hidden_size, num_layers)
    assert flop == 2 * 7 * 5 * weights


def test_seed_004_lstm_training_step_flop() -> None:
    # Layer 0: 2*100*28*512*(28+128); layer 1: 2*100*28*512*(128+128).
    forward = bench.recurrent_forward_flop("lstm", 100, 28, 28, 128, 2)
    assert forward == 447_283_200 + 734_003_200
    assert bench.TRAINING_STEP_FACTOR * forward == LSTM_TRAIN_FLOP
    assert bench.linear_forward_flop(100, 128, 10) == 256_000
    assert bench.matmul_flop(2048, 2048, 2048) == SQUARE_FLOP


def test_interleaved_runs_alternate_and_ratios_pair_by_pair(tmp_path: Path) -> None:
    """benchmarks.interleaved runs A, B, A, B and divides each A by the B run beside it."""
    import sys

    from benchmarks import interleaved

    log = tmp_path / "order.txt"
    a = [sys.executable, "-c", f"open({str(log)!r}, 'a').write('a')"]
    b = [sys.executable, "-c", f"open({str(log)!r}, 'a').write('b')"]
    comparison = interleaved.interleave("baseline", a, b, pairs=2)
    assert log.read_text() == "abab"
    assert len(comparison.ratios) == 2
    assert interleaved.Comparison("x", [8.0, 9.0], [10.0, 12.0]).ratios == [0.8, 0.75]
    fixed = interleaved.Comparison("tutorial loop", [8.0, 9.0, 10.0], [10.0, 10.0, 10.0])
    assert "median ratio 0.900 (target <= 0.9: met)" in interleaved.describe(fixed, 0.9)
    assert "MISSED" in interleaved.describe(fixed, 0.85)


@pytest.mark.parametrize("name", ["FACT", "TUTORIAL", "BARE"])
def test_interleaved_programs_are_valid_python(name: str) -> None:
    """The three programs the interleaved timing runs compile once their folder is filled in."""
    from benchmarks import interleaved

    compile(getattr(interleaved, name).format(root="/data"), name, "exec")


def test_suite_time_ratios_are_taken_round_by_round_against_the_lstm_fact() -> None:
    """benchmarks.suite_time divides each round's time by that round's LSTM fact, takes the
    median of those ratios, and says "MISSED" past a goal: red if it compared medians of
    different rounds or judged a goal backwards."""
    from benchmarks import suite_time

    plan = suite_time.commands("/data", test_command=False)
    assert [c.name for c in plan] == ["the fp32 LSTM fact alone", "the main job", "the fast part"]
    assert "test_lstm_passes_95_percent_after_two_epochs" in plan[0].argv
    found = {
        "the fp32 LSTM fact alone": suite_time.Timings([20.0, 30.0, 25.0], [40.0, 60.0, 50.0]),
        "the main job": suite_time.Timings([29.0, 46.0, 40.0], [58.0, 92.0, 80.0]),
        "the fast part": suite_time.Timings([19.0, 21.0, 19.5], [30.0, 31.0, 30.0]),
    }
    lines = suite_time.report(found, plan)
    # ratios 1.45, 1.533, 1.6: their median, not 40 / 25
    assert "1.53x the LSTM fact (goal <= 1.5x: MISSED)" in lines[1]
    assert "median 19.5 s wall" in lines[2]
    assert "(goal < 20 s: met)" in lines[2]
