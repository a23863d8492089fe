"""Times rnnlab and PyTorch on the same shapes, alternating in one run, and prints a Markdown table with the ratio.

    python3 scripts/side_by_side.py --rnnlab avx512=.build/release/rnnlab --rnnlab avx2=.build-haswell/release/rnnlab \
        --python venv/bin/python --rounds 3

Each round runs every shape once in every build and once in PyTorch (scripts/bench_pytorch.py), so slow and fast
moments of a shared machine fall on both; the table gives the median over rounds of forward + backward timesteps/s
(batch x steps per second, 1 thread unless the shape says otherwise), and for the Q1 sine workload the median seconds
of the 60-epoch loop (shared/baselines/q1_sine.py --impl nn against `rnnlab bench --q1`). Each ratio is the ratio of
the medians, followed by the lowest and highest of the rounds' own ratios (each round's rnnlab against the same round's
PyTorch), so a ratio carries its run-to-run spread. `--json FILE` also writes every round's value.

PyTorch runs twice per shape: with its default kernels, and limited to AVX2 (ATEN_CPU_CAPABILITY=avx2,
MKL_ENABLE_INSTRUCTIONS=AVX2, ONEDNN_MAX_CPU_ISA=AVX2), so that on an AVX-512 machine an rnnlab build labelled
avx2... is compared with PyTorch on the same instruction set, as on a CPU without AVX-512. Other builds are
compared with the default PyTorch.
"""
import argparse, json, os, statistics, subprocess, sys

SHAPES = [  # label, cell, hidden, input, batch, seq, threads
    ("LSTM H128 I32 B64 T100", "lstm", 128, 32, 64, 100, 1),
    ("LSTM H128 I32 B64 T100, 2 threads", "lstm", 128, 32, 64, 100, 2),
    ("GRU H128 I32 B64 T100", "gru", 128, 32, 64, 100, 1),
    ("LSTM H128 I28 B32 T28 (MNIST rows)", "lstm", 128, 28, 32, 28, 1),
    ("LSTM H512 I32 B64 T100", "lstm", 512, 32, 64, 100, 1),
    ("RNN H32 I32 B64 T100", "rnn", 32, 32, 64, 100, 1),
    ("LSTM H64 I1 B64 T784 (pixel MNIST), 2 threads", "lstm", 64, 1, 64, 784, 2),
]

p = argparse.ArgumentParser()
p.add_argument("--rnnlab", action="append", required=True, help="LABEL=PATH of an rnnlab binary (repeatable)")
p.add_argument("--python", default=sys.executable, help="a python with torch")
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--iterations", type=int, default=20)
p.add_argument("--baselines", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "baselines"))
p.add_argument("--json", help="also write every round's value here")
a = p.parse_args()
builds = [b.split("=", 1) for b in a.rnnlab]
here = os.path.dirname(os.path.abspath(__file__))


AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
TORCH = [("torch", {}), ("torch-avx2", AVX2_ENV)]


def run(cmd, cwd=None, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=cwd, env={**os.environ, **(env or {})}).stdout
    return out


def torch_for(label):
    return "torch-avx2" if label.startswith("avx2") else "torch"


def shape_args(s):
    _, cell, h, i, b, t, th = s
    return ["--cell", cell, "--hidden", str(h), "--input", str(i), "--batch", str(b), "--seq", str(t), "--threads", str(th),
            "--iterations", str(a.iterations)]


results = {}  # (row, column) -> [values]
for _ in range(a.rounds):
    for s in SHAPES:
        for label, path in builds:
            r = json.loads(run([path, "bench"] + shape_args(s)))
            results.setdefault((s[0], label), []).append(r["timestepsPerSecond"])
        for name, env in TORCH:
            r = json.loads(run([a.python, os.path.join(here, "bench_pytorch.py")] + shape_args(s), env=env))
            results.setdefault((s[0], name), []).append(r["timestepsPerSecond"])
            torch_version = r["framework"]
    for label, path in builds:
        for r in json.loads(run([path, "bench", "--q1", "--reps", "1"])):
            results.setdefault(("Q1 " + r["model"], label), []).append(r["timeSeconds"][1])
    for name, env in TORCH:
        for line in run([a.python, "q1_sine.py", "--impl", "nn", "--threads", "1", "--reps", "1"], cwd=a.baselines, env=env).splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                results.setdefault(("Q1 " + r["model"], name), []).append(r["time_s"]["median"])

med = {k: statistics.median(v) for k, v in results.items()}
labels = [l for l, _ in builds]


def ratio(row, label, seconds=False):
    """Ratio of the medians (rnnlab's speed over PyTorch's), then the range of the rounds' own ratios."""
    mine, theirs = results[(row, label)], results[(row, torch_for(label))]
    rounds = [(t / m if seconds else m / t) for m, t in zip(mine, theirs)]
    headline = med[(row, torch_for(label))] / med[(row, label)] if seconds else med[(row, label)] / med[(row, torch_for(label))]
    return f"{headline:.2f} ({min(rounds):.2f}-{max(rounds):.2f})"


if a.json:
    with open(a.json, "w") as f:
        json.dump({"torch": torch_version, "rounds": a.rounds,
                   "values": [{"row": row, "column": col, "values": v} for (row, col), v in results.items()]}, f, indent=1)
print(f"{torch_version}; median of {a.rounds} alternating rounds; ratios: of the medians (lowest-highest round)")
print("| shape | " + " | ".join(f"rnnlab {l}" for l in labels) + " | PyTorch | PyTorch AVX2 | "
      + " | ".join(f"ratio {l}" for l in labels) + " |")
print("|---|" + "---|" * (2 * len(labels) + 2))
for s in SHAPES:
    row = s[0]
    print(f"| {row} (timesteps/s) | " + " | ".join(f"{med[(row, l)]:,.0f}" for l in labels)
          + f" | {med[(row, 'torch')]:,.0f} | {med[(row, 'torch-avx2')]:,.0f} | "
          + " | ".join(ratio(row, l) for l in labels) + " |")
for m in ["rnn", "lstm", "gru"]:
    row = "Q1 " + m
    print(f"| {row} sine, 60 epochs (s) | " + " | ".join(f"{med[(row, l)]:.3f}" for l in labels)
          + f" | {med[(row, 'torch')]:.3f} | {med[(row, 'torch-avx2')]:.3f} | "
          + " | ".join(ratio(row, l, seconds=True) for l in labels) + " |")
