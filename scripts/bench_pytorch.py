"""Times torch.nn.RNN/LSTM/GRU forward+backward on the same shapes as `rnnlab bench`, printing the same JSON
fields, so the two can be compared side by side on one machine:
    python3 scripts/bench_pytorch.py --cell lstm --hidden 128 --input 32 --batch 64 --seq 100 --threads 1
(needs torch; x does not require grad unless --input-gradient, as in rnnlab bench). The training-step figure
times what `rnnlab bench` times through its Trainer: the network, nn.Linear(hidden, 10) on the last step,
cross-entropy, clip_grad_norm_(1.0) and Adam(lr 1e-3), over one epoch of `iterations` batches after a warm-up."""
import argparse, json, time
import torch

p = argparse.ArgumentParser()
p.add_argument("--cell", default="lstm"); p.add_argument("--hidden", type=int, default=128); p.add_argument("--input", type=int, default=32)
p.add_argument("--batch", type=int, default=64); p.add_argument("--seq", type=int, default=100); p.add_argument("--layers", type=int, default=1)
p.add_argument("--threads", type=int, default=1); p.add_argument("--iterations", type=int, default=20); p.add_argument("--input-gradient", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(42)
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
