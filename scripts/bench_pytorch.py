"""Times torch.nn.RNN/LSTM/GRU forward+backward on the same shapes as `rnnlab bench`, printing the same JSON
fields, so the two can be compared side by side on one machine:
    python3 scripts/bench_pytorch.py --cell lstm --hidden 128 --input 32 --batch 64 --seq 100 --threads 1
(needs torch; x does not require grad unless --input-gradient, as in rnnlab bench). With --gemm it times
torch.matmul on the products `rnnlab bench --gemm` times for the same shape instead. The training-step figure
times what `rnnlab bench` times through its Trainer: the network, nn.Linear(hidden, 10) on the last step,
cross-entropy, clip_grad_norm_(1.0) and Adam(lr 1e-3), over one epoch of `iterations` batches after a warm-up."""
import argparse, json, time
import torch

p = argparse.ArgumentParser()
p.add_argument("--cell", default="lstm"); p.add_argument("--hidden", type=int, default=128); p.add_argument("--input", type=int, default=32)
p.add_argument("--batch", type=int, default=64); p.add_argument("--seq", type=int, default=100); p.add_argument("--layers", type=int, default=1)
p.add_argument("--threads", type=int, default=1); p.add_argument("--iterations", type=int, default=20); p.add_argument("--input-gradient", action="store_true")
p.add_argument("--gemm", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(42)

if a.gemm:
    # The same products as rnnlab's Benchmark.gemmShapes; transA products use a transposed view, as a
    # framework does for dW = dG^T H (BLAS reads it with its transpose flag, no copy).
    G = {"rnn": 1, "lstm": 4, "gru": 3}[a.cell] * a.hidden
    rows = a.batch * a.seq
    shapes = [("step forward h W_hh^T", a.batch, G, a.hidden, False), ("step backward dG W_hh", a.batch, a.hidden, G, False),
              ("input projection X W_ih^T", rows, G, a.input, False), ("weight gradient dW_hh = dG^T H", G, a.hidden, rows, True),
              ("weight gradient dW_ih = dG^T X", G, a.input, rows, True)]
    out = []
    for name, m, n, k, ta in shapes:
        A = torch.rand(k, m) if ta else torch.rand(m, k)
        B = torch.rand(k, n)
        Am = A.t() if ta else A
        torch.matmul(Am, B)
        best = float("inf")
        for _ in range(5):
            reps, t0 = 0, time.perf_counter()
            while True:
                torch.matmul(Am, B); reps += 1
                if time.perf_counter() - t0 >= 0.05: break
            best = min(best, (time.perf_counter() - t0) / reps)
        out.append({"name": name, "m": m, "n": n, "k": k, "transA": ta, "milliseconds": best * 1e3, "gflops": 2 * m * n * k / best / 1e9})
    print(json.dumps({"framework": f"torch {torch.__version__}", "threads": a.threads, "shapes": out}, indent=1))
    raise SystemExit
mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[a.cell](a.input, a.hidden, a.layers, batch_first=True)
x = torch.rand(a.batch, a.seq, a.input) * 2 - 1
x.requires_grad_(a.input_gradient)
g = torch.rand(a.batch, a.seq, a.hidden) * 2 - 1
fwd, bwd = [], []
for i in range(a.iterations + 2):
    t0 = time.perf_counter(); out, _ = mod(x); t1 = time.perf_counter()
    mod.zero_grad(); out.backward(g); t2 = time.perf_counter()
    if i >= 2: fwd.append((t1 - t0) * 1e3); bwd.append((t2 - t1) * 1e3)
med = lambda v: sorted(v)[len(v) // 2]
f, b = med(fwd), med(bwd)

head = torch.nn.Linear(a.hidden, 10)
params = list(mod.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=1e-3)
xs = torch.rand(a.iterations, a.batch, a.seq, a.input) * 2 - 1
ys = torch.randint(0, 10, (a.iterations, a.batch))
for epoch in range(2):   # the first epoch warms up
    t0 = time.perf_counter()
    for i in range(a.iterations):
        out, _ = mod(xs[i])
        loss = torch.nn.functional.cross_entropy(head(out[:, -1]), ys[i])
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0); opt.step()
    step = (time.perf_counter() - t0) / a.iterations
print(json.dumps({"framework": f"torch {torch.__version__}", "threads": a.threads, "cell": a.cell, "forwardMilliseconds": f,
                  "backwardMilliseconds": b, "totalMilliseconds": f + b,
                  "timestepsPerSecond": a.batch * a.seq / ((f + b) / 1e3),
                  "trainingStepMilliseconds": step * 1e3, "trainingTimestepsPerSecond": a.batch * a.seq / step}, indent=1))
